"""Hardware-in-the-loop regularizer coefficients: :class:`HardwareCost`.

Each feedback period the provider turns the current ternary network
(``list[LayerTensor]``) into a workload, simulates it on its
``HardwareConfig`` and returns per-layer coefficients: what one more nonzero
weight of that layer costs in the chosen objective.

The rule (exact, pinned by ``tests/codesign/test_hardware_cost.py``), with
``nnz_l`` the layer's nonzero weights and ``N_l = rows_l * cols_l`` its weights:

- ``latency``: ``cost_l = cycles_l / max(nnz_l, 1)``, the layer's simulated
  cycles (stalls and conv repeats included) per nonzero weight. The layer's
  time is set by its busiest PE, so load imbalance and idle PEs (a layer with
  fewer rows than PEs) make its nonzeros dearer.
- ``energy``: ``cost_l = energy_uj_l / max(nnz_l, 1)``.
- ``area``: ``cost_l = 1`` (every nonzero occupies one stored entry of the same
  width); only ``per_row`` differs from the uniform regularizer.
- ``per_row=True`` splits ``cost_l`` over the output rows: row ``r`` lives on
  PE ``p = r % n_pe`` and gets ``cost_l * load_p / mean(load)``, the mean over
  the PEs that own rows of the layer; ``load_p`` is the PE's busy cycles in
  the layer (``pe_busy_cycles``) for latency and energy, and its stored
  nonzeros over all layers for area (the fullest PE sizes the SRAM). Rows on
  the busiest PEs are pulled hardest, which evens out PE load.
- Normalisation: the coefficients are scaled so their mean over all weights
  is 1: ``sum_l c_l N_l / sum_l N_l = 1`` (per row: ``sum_{l,r} c_lr cols_l /
  sum_l N_l = 1``). A mix ``{"latency": 2, "energy": 1}`` normalises each
  objective's coefficients, then takes their weighted mean.
- Budgets: with ``target_latency_us`` and/or ``target_energy_uj`` the overall
  strength follows the measured cost: every period ``scale *= clip(r, 0.5, 2)``
  with ``r = max(measured / budget)`` over the budgets given, starting at 1.
  ``figures["strength_scale"]`` is that running multiplier of the configured
  ``reg_strength`` (above budget: prune harder; below: relax).

Figures each period: ``cycles``, ``latency_us``, ``energy_uj``, ``area_mm2``
(and ``strength_scale`` when a budget is set), plus ``sim_wall_s``.
"""

from __future__ import annotations

import time

import numpy as np

from accelerators import InputError, LayerTensor

from .feedback import CostProvider, Feedback

__all__ = ["HardwareCost", "add_feedback_arguments", "marginal_costs", "provider_from_args"]

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


def _row_loads(loads: np.ndarray, rows: int, n_pe: int) -> np.ndarray:
    """Per-row factor ``load_{r % n_pe} / mean(load over the PEs owning rows)``."""
    owners = min(rows, n_pe)
    load = np.asarray(loads[:owners], dtype=float)
    mean = load.mean() if owners else 0.0
    if mean <= 0:
        return np.ones(rows)
    return load[np.arange(rows) % n_pe] / mean


def marginal_costs(
    layers: list[LayerTensor], report: dict, objective="latency", per_row: bool = False
) -> dict[str, float | np.ndarray]:
    """Normalised coefficients from a simulation ``report`` (contract 2); see the module rule."""
    weights = _parse_objective(objective)
    by_name = {lay["name"]: lay for lay in report["layers"]}
    n_pe = int(report["hw"]["n_pe"])
    sizes = {lt.name: lt.rows * lt.cols for lt in layers}
    total = float(sum(sizes.values()))
    # stored nonzeros per PE over all layers (area's per-row load)
    pe_nnz = np.zeros(n_pe)
    for lt in layers:
        row_nnz = np.count_nonzero(lt.matrix, axis=1)
        np.add.at(pe_nnz, np.arange(lt.rows) % n_pe, row_nnz)
    mixed: dict[str, float | np.ndarray] = {lt.name: 0.0 for lt in layers}
    wsum = sum(weights.values())
    for obj, w in weights.items():
        if w == 0:
            continue
        coeff: dict[str, float | np.ndarray] = {}
        for lt in layers:
            lay = by_name[lt.name]
            nnz = max(int(lay.get("nnz", lt.nnz)), 1)
            if obj == "latency":
                c = float(lay["cycles"]) / nnz
            elif obj == "energy":
                c = float(lay["energy_uj"]) / nnz
            else:
                c = 1.0
            if per_row:
                load = pe_nnz if obj == "area" else np.asarray(lay["pe_busy_cycles"], dtype=float)
                coeff[lt.name] = c * _row_loads(load, lt.rows, n_pe)
            else:
                coeff[lt.name] = c
        mean = sum(float(np.mean(coeff[lt.name])) * sizes[lt.name] for lt in layers) / total
        for lt in layers:
            norm = coeff[lt.name] / mean if mean > 0 else np.ones_like(coeff[lt.name])
            mixed[lt.name] = mixed[lt.name] + (w / wsum) * norm
    return {
        k: (float(v) if np.ndim(v) == 0 else np.asarray(v, dtype=float)) for k, v in mixed.items()
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

    def feedback(self, layers: list[LayerTensor]) -> Feedback:
        from accelerators import simulate, workload_from_tensors

        t0 = time.perf_counter()
        report = simulate(
            workload_from_tensors(layers), self.config, fidelity=self.fidelity, tech=self.tech
        )
        rep = report.to_dict()
        self.last_report = rep
        coeff = marginal_costs(layers, rep, self.objective, self.per_row)
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
