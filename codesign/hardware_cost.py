"""Hardware-in-the-loop regularizer coefficients: :class:`HardwareCost`.

Each feedback period the provider turns the current ternary network
(``list[LayerTensor]``) into a workload, simulates it on its
``HardwareConfig`` and returns per-layer coefficients: what one nonzero weight
of that layer costs in the chosen objective.

The rule (pinned by ``tests/codesign/test_hardware_cost.py``), with ``nnz_l``
the layer's nonzero weights and ``N_l = rows_l * cols_l`` its weights:

- **Finite differences.** For each layer ``l`` the provider also simulates the
  network with ``k_l = max(1, round(fraction * nnz_l))`` of that layer's
  nonzeros removed (:func:`thin`, seeded; ``fraction = 0.2``) and takes
  ``d_l = max(0, (M - M_l) / k_l)``: what one nonzero of layer ``l`` costs,
  ``M`` being ``cycles`` (latency) or ``energy_uj`` (energy). This is one
  simulation per layer per period on top of the base one. A layer whose time
  is set by something else (the activation broadcast, a DRAM stream of
  another layer, the readout) gets ``d_l ~ 0``; a layer on fewer PEs than
  rows, or repeated over many output pixels (conv), gets a large one.
  (Average rules such as ``cycles_l / nnz_l`` get broadcast-bound layers
  backwards: the sparser they are, the dearer each remaining nonzero looks.)
- ``area``: ``d_l = 1`` for every layer (with a fixed accelerator the area does
  not move with the weights; every nonzero takes one stored entry).
- **Normalisation with a floor.** ``c_l = floor + (1 - floor) * d_l / dbar``
  with ``dbar = sum_l d_l N_l / sum_l N_l`` and ``floor = 0.1`` (no layer is
  left without a pull towards zero); if every ``d_l`` is 0, ``c_l = 1``. So the
  mean coefficient over all weights is 1.
- ``per_row=True`` splits ``c_l`` over the output rows: row ``r`` lives on PE
  ``p = r % n_pe`` and is multiplied by ``load_p / mean(load)`` (the mean over
  the PEs that own rows of the layer), ``load_p`` being the layer's nonzeros
  on PE ``p`` (latency, energy) or the PE's stored nonzeros over all layers
  (area: the fullest PE sizes the SRAM); then all coefficients are rescaled
  to mean 1 over all weights again. Rows on the most loaded PEs are pulled
  hardest, which evens out PE load.
- A mix ``{"latency": 2, "energy": 1}`` computes each objective's normalised
  coefficients and takes their weighted mean.
- Budgets: with ``target_latency_us`` and/or ``target_energy_uj`` the overall
  strength follows the measured cost: every period ``scale *= clip(r, 0.5, 2)``
  with ``r = max(measured / budget)`` over the budgets given, starting at 1.
  ``figures["strength_scale"]`` is that running multiplier of the configured
  ``reg_strength`` (above budget: prune harder; below: relax).

Figures each period: ``cycles``, ``latency_us``, ``energy_uj``, ``area_mm2``
of the network as it is (and ``strength_scale`` when a budget is set), plus
``sim_wall_s`` (all simulations of the period) and ``d_<objective>.<layer>``
(the raw finite differences, cycles or uJ per nonzero).
"""

from __future__ import annotations

import time

import numpy as np

from accelerators import InputError, LayerTensor

from .feedback import CostProvider, Feedback

__all__ = ["HardwareCost", "add_feedback_arguments", "marginal_costs", "provider_from_args", "thin"]

OBJECTIVES = ("latency", "energy", "area")
FIDELITIES = ("simpy", "analytical")


def _parse_objective(objective) -> dict[str, float]:
    if isinstance(objective, str):
        if objective not in OBJECTIVES:
            raise InputError(
                "feedback_objective", objective, "latency, energy, area or a weighted mix"
            )
        return {objective: 1.0}
    if not isinstance(objective, dict) or not objective:
        raise InputError("feedback_objective", objective, "latency, energy, area or a weighted mix")
    for k, w in objective.items():
        if k not in OBJECTIVES:
            raise InputError("feedback_objective", k, "latency, energy or area")
        if not isinstance(w, int | float) or w < 0:
            raise InputError(f"feedback_objective.{k}", w, "a weight >= 0")
    if sum(objective.values()) <= 0:
        raise InputError("feedback_objective", objective, "at least one weight > 0")
    return {k: float(w) for k, w in objective.items()}


# chosen, not fitted (module docstring: "Normalisation with a floor", "thin")
FLOOR = 0.1
FRACTION = 0.2
_METRIC = {"latency": "cycles", "energy": "energy_uj"}


def thin(layer: LayerTensor, fraction: float = FRACTION, seed: int = 0) -> tuple[LayerTensor, int]:
    """``layer`` with ``k = max(1, round(fraction * nnz))`` nonzeros set to 0 (seeded); returns ``k``.

    >>> lt = LayerTensor("x", np.array([[1, -1, 0, 1, 1]]))
    >>> t, k = thin(lt, 0.5)
    >>> k, t.nnz
    (2, 2)
    """
    nz = np.flatnonzero(layer.weight)
    if nz.size == 0:
        return layer, 0
    k = max(1, int(round(fraction * nz.size)))
    drop = np.random.default_rng(seed).choice(nz, size=k, replace=False)
    w = layer.weight.copy()
    w.flat[drop] = 0
    return LayerTensor(
        layer.name, w, layer.scale, layer.kind, layer.out_pixels, layer.act_density
    ), k


def _row_factor(loads: np.ndarray, rows: int, n_pe: int) -> np.ndarray:
    """Per-row factor ``load_{r % n_pe} / mean(load over the PEs owning rows)``."""
    owners = min(rows, n_pe)
    load = np.asarray(loads[:owners], dtype=float)
    mean = load.mean() if owners else 0.0
    if mean <= 0:
        return np.ones(rows)
    return load[np.arange(rows) % n_pe] / mean


def _pe_nnz(lt: LayerTensor, n_pe: int) -> np.ndarray:
    out = np.zeros(n_pe)
    np.add.at(out, np.arange(lt.rows) % n_pe, np.count_nonzero(lt.matrix, axis=1))
    return out


def marginal_costs(
    layers: list[LayerTensor],
    diffs: dict[str, dict[str, float]],
    n_pe: int,
    objective="latency",
    per_row: bool = False,
    floor: float = FLOOR,
) -> dict[str, float | np.ndarray]:
    """Normalised coefficients from raw per-nonzero costs (see the module rule).

    ``diffs[objective][layer]`` is ``d_l`` (cycles or uJ per nonzero) for
    ``latency`` / ``energy``; ``area`` needs none.
    """
    weights = _parse_objective(objective)
    sizes = np.array([lt.rows * lt.cols for lt in layers], dtype=float)
    total_pe = sum(_pe_nnz(lt, n_pe) for lt in layers)
    wsum = sum(weights.values())
    mixed: list = [0.0] * len(layers)
    for obj, w in weights.items():
        if w == 0:
            continue
        if obj == "area":
            d = np.ones(len(layers))
        else:
            d = np.array([max(0.0, float(diffs[obj].get(lt.name, 0.0))) for lt in layers])
        dbar = float((d * sizes).sum() / sizes.sum())
        base = np.ones(len(layers)) if dbar <= 0 else floor + (1 - floor) * d / dbar
        coeff: list = []
        for i, lt in enumerate(layers):
            if per_row:
                load = total_pe if obj == "area" else _pe_nnz(lt, n_pe)
                coeff.append(base[i] * _row_factor(load, lt.rows, n_pe))
            else:
                coeff.append(float(base[i]))
        mean = sum(float(np.mean(c)) * n for c, n in zip(coeff, sizes, strict=True)) / sizes.sum()
        for i in range(len(layers)):
            mixed[i] = mixed[i] + (w / wsum) * coeff[i] / mean
    return {
        lt.name: (float(v) if np.ndim(v) == 0 else np.asarray(v, dtype=float))
        for lt, v in zip(layers, mixed, strict=True)
    }


class HardwareCost(CostProvider):
    """Per-layer (or per-row) marginal hardware cost of a nonzero, from the simulator.

    ``config`` is an ``accelerators.HardwareConfig``; ``fidelity`` ``simpy`` or
    ``analytical``; ``objective`` ``latency``/``energy``/``area`` or a weighted
    mix dict; ``period_steps`` the feedback period in optimizer steps (None: per
    epoch); ``target_latency_us`` / ``target_energy_uj`` optional budgets that
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
        target_latency_us: float | None = None,
        target_energy_uj: float | None = None,
        tech=None,
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
        self.config = config
        self.fidelity = fidelity
        self.objective = _parse_objective(objective)
        self.per_row = bool(per_row)
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

    def differences(
        self, layers: list[LayerTensor], base: dict, like=None, memo=None
    ) -> dict[str, dict[str, float]]:
        """``{objective: {layer: d_l}}``: the finite differences of the module rule.

        ``like``, ``memo``: the base network's workload and timing memo, which the
        variants share (see :meth:`_simulate`).
        """
        metrics = {o: _METRIC[o] for o in self.objective if o in _METRIC}
        out: dict[str, dict[str, float]] = {o: {} for o in metrics}
        if not metrics:
            return out
        for i, lt in enumerate(layers):
            thinner, k = thin(lt, FRACTION, seed=i)
            if k == 0:
                for o in metrics:
                    out[o][lt.name] = 0.0
                continue
            rep, _ = self._simulate(layers[:i] + [thinner] + layers[i + 1 :], like, memo)
            for o, m in metrics.items():
                out[o][lt.name] = (float(base[m]) - float(rep[m])) / k
        return out

    def feedback(self, layers: list[LayerTensor]) -> Feedback:
        t0 = time.perf_counter()
        memo: dict = {}
        rep, g = self._simulate(layers, memo=memo)
        self.last_report = rep
        diffs = self.differences(layers, rep, like=g, memo=memo)
        coeff = marginal_costs(layers, diffs, int(rep["hw"]["n_pe"]), self.objective, self.per_row)
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
        figures["sim_wall_s"] = time.perf_counter() - t0
        return Feedback(coeff, figures)


def add_feedback_arguments(parser) -> None:
    """Add the hardware-feedback flags to a ``codesign train`` parser."""
    g = parser.add_argument_group("hardware feedback (see codesign/hardware_cost.py)")
    g.add_argument(
        "--hw-feedback",
        choices=("none",) + FIDELITIES,
        default="none",
        help="simulate the network every period and weight the regularizer by hardware cost",
    )
    g.add_argument(
        "--hw", default="default", help="accelerator preset or TOML file for the feedback"
    )
    g.add_argument(
        "--hw-set",
        action="append",
        default=[],
        metavar="FIELD=VALUE",
        help="override a hardware field",
    )
    g.add_argument(
        "--feedback-objective",
        default="latency",
        help="latency | energy | area | mix like latency=2,energy=1",
    )
    g.add_argument(
        "--feedback-per-row",
        action="store_true",
        help="one coefficient per output row (evens out PE load)",
    )
    g.add_argument(
        "--feedback-period-steps",
        type=int,
        default=None,
        help="period in optimizer steps (default: each epoch)",
    )
    g.add_argument(
        "--target-latency-us",
        type=float,
        default=None,
        help="latency budget in us (steers the strength)",
    )
    g.add_argument(
        "--target-energy-uj",
        type=float,
        default=None,
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


def provider_from_args(args) -> HardwareCost | None:
    """The provider the flags of :func:`add_feedback_arguments` ask for, or None."""
    if getattr(args, "hw_feedback", "none") == "none":
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
        period_steps=args.feedback_period_steps,
        target_latency_us=args.target_latency_us,
        target_energy_uj=args.target_energy_uj,
    )
