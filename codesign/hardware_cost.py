"""Hardware-in-the-loop regularizer coefficients: :class:`HardwareCost`.

Each feedback period the provider turns the current ternary network
(``list[LayerTensor]``) into a workload, simulates it on its
``HardwareConfig`` and returns per-layer coefficients: what one nonzero weight
of that layer costs in the chosen objective.

The coefficient rule (finite differences, column overheads, normalisation
with a floor, ``per_row`` and ``per_column``) is :mod:`codesign.cost_rule`.
The provider adds:

- Budgets: with ``target_latency_us`` and/or ``target_energy_uj`` the overall
  strength follows the measured cost: every period ``scale *= clip(r, 0.5, 2)``
  with ``r = max(measured / budget)`` over the budgets given, starting at 1.
  ``figures["strength_scale"]`` is that running multiplier of the configured
  ``reg_strength`` (above budget: prune harder; below: relax).

Figures each period: ``cycles``, ``latency_us``, ``energy_uj``, ``area_mm2``
of the network as it is (and ``strength_scale`` when a budget is set), plus
``sim_wall_s`` (all simulations of the period) and ``d_<objective>.<layer>``
(the raw finite differences, cycles or uJ per nonzero), and with ``per_column``
``a_<objective>.<layer>`` (the column overheads, cycles or uJ per column).

- Smoothing: with ``smoothing = b > 0`` each period's ``d`` and ``a`` are
  exponential moving averages of the measurements, ``m_t = b m_{t-1} + (1 - b) x_t``
  (the first period takes ``x_0``). One finite difference thins a random 20 % of a
  layer's nonzeros and can read 0 when the layer's time is set by one PE or by the
  broadcast; that period's coefficient is then the floor, and the next period's the
  full price again (docs/sweep.md, "With smoothed costs": on lfc such swings left the
  strongest strengths with less sparse networks). The figures ``d_*`` and ``a_*``
  are the smoothed values the rule used.
"""

from __future__ import annotations

import time

import numpy as np

from accelerators import InputError, LayerTensor

from .cost_rule import FRACTION, _parse_objective, drop_columns, marginal_costs, thin
from .feedback import CostProvider, Feedback

__all__ = [
    "HardwareCost",
    "add_feedback_arguments",
    "drop_columns",
    "marginal_costs",
    "provider_from_args",
    "thin",
]

FIDELITIES = ("simpy", "analytical")
_METRIC = {"latency": "cycles", "energy": "energy_uj"}


class HardwareCost(CostProvider):
    """Per-layer (or per-row) marginal hardware cost of a nonzero, from the simulator.

    ``config`` is an ``accelerators.HardwareConfig``; ``fidelity`` ``simpy`` or
    ``analytical``; ``objective`` ``latency``/``energy``/``area`` or a weighted
    mix dict; ``per_row``, ``per_column``: coefficients per output row and/or per
    input column (:mod:`codesign.cost_rule`); ``smoothing`` in [0, 1) the weight of the
    previous periods' measurements (module docstring); ``period_steps`` the feedback period in
    optimizer steps (None: per epoch); ``target_latency_us`` / ``target_energy_uj`` optional budgets that
    steer the overall strength. The last report is kept in ``last_report``.
    """

    name = "hardware"

    def __init__(
        self,
        config,
        fidelity: str = "simpy",
        objective="latency",
        per_row: bool = False,
        period_steps: int | None = None,
        per_column: bool = False,
        target_latency_us: float | None = None,
        target_energy_uj: float | None = None,
        tech=None,
        smoothing: float = 0.0,
    ):
        if fidelity not in FIDELITIES:
            raise InputError("feedback fidelity", fidelity, "simpy or analytical")
        if period_steps is not None and (not isinstance(period_steps, int) or period_steps < 1):
            raise InputError(
                "feedback_period_steps", period_steps, "an integer >= 1 or None (per epoch)"
            )
        for field, v in (
            ("target_latency_us", target_latency_us),
            ("target_energy_uj", target_energy_uj),
        ):
            if v is not None and not (isinstance(v, int | float) and v > 0):
                raise InputError(field, v, "a number > 0")
        if not (isinstance(smoothing, int | float) and 0 <= smoothing < 1):
            raise InputError("feedback_smoothing", smoothing, "a number in [0, 1)")
        self.config = config
        self.smoothing = float(smoothing)
        self._averages: dict[str, dict] = {}
        self.fidelity = fidelity
        self.objective = _parse_objective(objective)
        self.per_row = bool(per_row)
        self.per_column = bool(per_column)
        self.period_steps = period_steps
        self.target_latency_us = target_latency_us
        self.target_energy_uj = target_energy_uj
        self.tech = tech
        self.scale = 1.0
        self.last_report: dict | None = None

    def _simulate(self, layers: list[LayerTensor], like=None, memo=None) -> tuple[dict, object]:
        """The report of ``layers`` and their workload. Each finite difference thins
        one layer: the others reuse ``like``'s CSC statistics and, through ``memo``,
        their tile timings (exactly what simulating them again would give)."""
        from accelerators import simulate, workload_from_tensors

        g = workload_from_tensors(layers, like=like)
        rep = simulate(g, self.config, self.fidelity, self.tech, timing_memo=memo)
        return rep.to_dict(), g

    def _savings(self, layers, base: dict, vary, like=None, memo=None) -> dict:
        """``{objective: {layer: (saved, k, removed)}}``: what the network saves with each
        layer in turn replaced by ``vary(i, layer) -> (variant, k, nonzeros removed)``
        (``saved`` in cycles or uJ; all 0 where ``k`` is 0). ``like``, ``memo``: the base
        network's workload and timing memo, which the variants share (:meth:`_simulate`)."""
        metrics = {o: _METRIC[o] for o in self.objective if o in _METRIC}
        out: dict[str, dict] = {o: {} for o in metrics}
        for i, lt in enumerate(layers if metrics else []):
            variant, k, removed = vary(i, lt)
            rep = base
            if k:
                rep, _ = self._simulate(layers[:i] + [variant] + layers[i + 1 :], like, memo)
            for o, m in metrics.items():
                out[o][lt.name] = (float(base[m]) - float(rep[m]), k, removed)
        return out

    def differences(
        self, layers: list[LayerTensor], base: dict, like=None, memo=None
    ) -> dict[str, dict[str, float]]:
        """``{objective: {layer: d_l}}``: the finite differences of the rule
        (:mod:`codesign.cost_rule`), ``layer`` thinned by :func:`thin`."""

        def vary(i, lt):
            thinner, k = thin(lt, FRACTION, seed=i)
            return thinner, k, k

        saved = self._savings(layers, base, vary, like, memo)
        return {
            o: {n: s / k if k else 0.0 for n, (s, k, _) in per.items()} for o, per in saved.items()
        }

    def column_overheads(
        self, layers: list[LayerTensor], base: dict, diffs: dict, like=None, memo=None
    ) -> dict[str, dict[str, float]]:
        """``{objective: {layer: a_l}}``: the column overheads of the rule (``per_column``),
        from one simulation per layer with columns emptied (:func:`drop_columns`)."""
        saved = self._savings(layers, base, lambda i, lt: drop_columns(lt, FRACTION), like, memo)
        return {
            o: {
                n: max(0.0, (s - max(0.0, diffs[o][n]) * removed) / k) if k else 0.0
                for n, (s, k, removed) in per.items()
            }
            for o, per in saved.items()
        }

    def feedback(self, layers: list[LayerTensor]) -> Feedback:
        t0 = time.perf_counter()
        memo: dict = {}
        rep, g = self._simulate(layers, memo=memo)
        self.last_report = rep
        diffs = self.differences(layers, rep, like=g, memo=memo)
        overheads = None
        if self.per_column:
            overheads = self._smoothed("a", self.column_overheads(layers, rep, diffs, g, memo))
        diffs = self._smoothed("d", diffs)
        coeff = marginal_costs(
            layers,
            diffs,
            int(rep["hw"]["n_pe"]),
            self.objective,
            self.per_row,
            overheads=overheads,
        )
        figures = {
            "cycles": float(rep["cycles"]),
            "latency_us": float(rep["latency_us"]),
            "energy_uj": float(rep["energy_uj"]),
            "area_mm2": float(rep["area_mm2"]),
        }
        ratios = []
        if self.target_latency_us is not None:
            ratios.append(figures["latency_us"] / self.target_latency_us)
        if self.target_energy_uj is not None:
            ratios.append(figures["energy_uj"] / self.target_energy_uj)
        if ratios:
            self.scale *= float(np.clip(max(ratios), 0.5, 2.0))
            figures["strength_scale"] = self.scale
        for o, per in diffs.items():
            for name, v in per.items():
                figures[f"d_{o}.{name}"] = v
        for o, per in (overheads or {}).items():
            for name, v in per.items():
                figures[f"a_{o}.{name}"] = v
        figures["sim_wall_s"] = time.perf_counter() - t0
        return Feedback(coeff, figures)

    def _smoothed(self, kind: str, measured: dict) -> dict:
        """``{objective: {layer: value}}`` averaged with the previous periods' (``smoothing``)."""
        b = self.smoothing
        last = self._averages.get(kind, {})
        out = {
            o: {
                name: (b * last[o][name] + (1 - b) * v) if name in last.get(o, {}) else v
                for name, v in per.items()
            }
            for o, per in measured.items()
        }
        self._averages[kind] = out
        return out


#: the defaults of the flags that configure hardware feedback (dest -> default); any other
#: value without ``--hw-feedback`` is refused: training would silently ignore it
FEEDBACK_FLAG_DEFAULTS = {
    "hw": "default",
    "hw_set": [],
    "feedback_objective": "latency",
    "feedback_per_row": False,
    "feedback_per_column": False,
    "feedback_smoothing": 0.0,
    "feedback_period_steps": None,
    "target_latency_us": None,
    "target_energy_uj": None,
}


def add_feedback_arguments(parser) -> None:
    """Add the hardware-feedback flags to a ``codesign train`` parser."""
    g = parser.add_argument_group("hardware feedback (see codesign/hardware_cost.py)")
    g.set_defaults(**FEEDBACK_FLAG_DEFAULTS)
    g.add_argument(
        "--hw-feedback",
        choices=("none",) + FIDELITIES,
        default="none",
        help="simulate the network every period and weight the regularizer by hardware cost",
    )
    g.add_argument("--hw", help="accelerator preset or TOML file for the feedback")
    g.add_argument(
        "--hw-set",
        action="append",
        metavar="FIELD=VALUE",
        help="override a hardware field",
    )
    g.add_argument(
        "--feedback-objective",
        help="latency | energy | area | mix like latency=2,energy=1",
    )
    g.add_argument(
        "--feedback-per-row",
        action="store_true",
        help="one coefficient per output row (evens out PE load)",
    )
    g.add_argument(
        "--feedback-per-column",
        action="store_true",
        help="one coefficient per input column too (pays off with skip_empty_columns)",
    )
    g.add_argument(
        "--feedback-smoothing",
        type=float,
        help="weight in [0, 1) of the previous periods' measured costs (moving average; "
        "default 0: each period's own)",
    )
    g.add_argument(
        "--feedback-period-steps",
        type=int,
        help="period in optimizer steps (default: each epoch)",
    )
    g.add_argument(
        "--target-latency-us",
        type=float,
        help="latency budget in us (steers the strength)",
    )
    g.add_argument(
        "--target-energy-uj",
        type=float,
        help="energy budget in uJ (steers the strength)",
    )


def _objective_arg(text: str):
    if "=" not in text:
        return text
    out = {}
    for part in text.split(","):
        k, _, v = part.partition("=")
        try:
            out[k.strip()] = float(v)
        except ValueError:
            raise InputError(
                "--feedback-objective", text, "latency, energy, area or e.g. latency=2,energy=1"
            ) from None
    return out


def _first(value):
    return value[0] if isinstance(value, list) else value


def provider_from_args(args) -> HardwareCost | None:
    """The provider the flags of :func:`add_feedback_arguments` ask for, or None."""
    if getattr(args, "hw_feedback", "none") == "none":
        for dest, default in FEEDBACK_FLAG_DEFAULTS.items():
            value = getattr(args, dest, default)
            if value != default:
                flag = "--" + dest.replace("_", "-")
                given = flag if isinstance(value, bool) else f"{flag} {_first(value)!r}"
                raise InputError.plain(
                    f"{given} needs --hw-feedback simpy or analytical (without it training "
                    "runs no hardware feedback and would ignore the flag)"
                )
        return None
    from accelerators import load_hw, parse_overrides

    hw = load_hw(args.hw)
    over = parse_overrides(list(getattr(args, "hw_set", []) or []))
    if over:
        hw = hw.replace(**over)
    return HardwareCost(
        hw,
        fidelity=args.hw_feedback,
        objective=_objective_arg(args.feedback_objective),
        per_row=args.feedback_per_row,
        per_column=args.feedback_per_column,
        smoothing=args.feedback_smoothing,
        period_steps=args.feedback_period_steps,
        target_latency_us=args.target_latency_us,
        target_energy_uj=args.target_energy_uj,
    )
