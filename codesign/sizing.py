"""Find the cheapest accelerator for a network under latency / area / energy budgets.

:func:`size_accelerator` searches a grid of hardware configs around a base
config (:class:`SizingGrid`; the default grid below), in two stages:

1. **screen** every grid point with the analytical model (fast);
2. **verify** with SimPy: for each goal (smallest area, lowest energy) walk the
   screened points that meet every budget within ``margin`` (10 %: the
   analytical estimate may err either way), cheapest first, simulating each
   with SimPy until one meets all budgets exactly (at most ``max_verify`` per
   goal; 0 = no cap).

The answer is the smallest-area and the lowest-energy verified configs. When no
config meets the budgets, the result says, for each budget, the best value any
grid point reaches (SimPy-checked) against the budget, and whether the budgets
are met one at a time but not together. ``fidelity="analytical"`` skips stage 2.

Default grid (every other field from the base config):

================================  ==========================================
``n_pe``                          1, 2, 4, 8, 16, 32, 64, 128
``lanes_per_pe``                  1, 2, 4, 8
``weight_sram_kib_per_pe``        1, 4, 16, 64
``fifo_depth``                    2, 8, 32
``broadcast_acts_per_cycle``      1, 4
``zero_skip``                     weights, weights+activations
================================  ==========================================
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field

from accelerators import InputError

__all__ = ["BUDGETS", "SizingGrid", "SizingResult", "size_accelerator"]

#: budget name -> the report figure it bounds
BUDGETS = {"max_latency_us": "latency_us", "max_area_mm2": "area_mm2", "max_energy_uj": "energy_uj"}
UNITS = {"latency_us": "us", "area_mm2": "mm^2", "energy_uj": "uJ"}


@dataclass(frozen=True)
class SizingGrid:
    """The hardware axes searched (each a tuple of values of that HardwareConfig field)."""

    n_pe: tuple[int, ...] = (1, 2, 4, 8, 16, 32, 64, 128)
    lanes_per_pe: tuple[int, ...] = (1, 2, 4, 8)
    weight_sram_kib_per_pe: tuple[float, ...] = (1.0, 4.0, 16.0, 64.0)
    fifo_depth: tuple[int, ...] = (2, 8, 32)
    broadcast_acts_per_cycle: tuple[int, ...] = (1, 4)
    zero_skip: tuple[str, ...] = ("weights", "weights+activations")

    def __post_init__(self) -> None:
        for name, values in self.axes().items():
            if not values:
                raise InputError(f"grid.{name}", values, "at least one value")

    def axes(self) -> dict[str, tuple]:
        return {k: tuple(getattr(self, k)) for k in self.__dataclass_fields__}

    def configs(self, base) -> list:
        """Every grid point as a HardwareConfig (validated), in a fixed order."""
        names = list(self.axes())
        return [
            base.replace(**dict(zip(names, pt, strict=True)))
            for pt in itertools.product(*self.axes().values())
        ]

    def __len__(self) -> int:
        n = 1
        for v in self.axes().values():
            n *= len(v)
        return n


@dataclass
class Candidate:
    hw: dict
    area_mm2: float
    latency_us: float
    energy_uj: float
    cycles: int
    fidelity: str

    def value(self, metric: str) -> float:
        return getattr(self, metric)

    def to_dict(self) -> dict:
        return dict(self.__dict__)


@dataclass
class SizingResult:
    """``feasible``: some config meets every budget. ``shortfalls`` (when not):
    ``{metric: {"budget", "best", "over_pct"}}`` for each budget no config meets,
    ``best`` being the lowest value any grid point reaches."""

    feasible: bool
    budgets: dict
    smallest_area: Candidate | None = None
    lowest_energy: Candidate | None = None
    shortfalls: dict = field(default_factory=dict)
    jointly_infeasible: bool = False
    screened: int = 0
    verified: int = 0

    def to_dict(self) -> dict:
        out = dict(self.__dict__)
        for k in ("smallest_area", "lowest_energy"):
            out[k] = out[k].to_dict() if out[k] else None
        return out


def _cand(cfg, fidelity: str, workload, tech) -> Candidate:
    from accelerators import simulate

    r = simulate(workload, cfg, fidelity=fidelity, tech=tech)
    d = r.to_dict()
    return Candidate(
        cfg.to_dict(), d["area_mm2"], d["latency_us"], d["energy_uj"], int(d["cycles"]), fidelity
    )


def _meets(c: Candidate, budgets: dict, slack: float = 0.0) -> bool:
    return all(c.value(BUDGETS[b]) <= v * (1 + slack) for b, v in budgets.items())


def size_accelerator(
    workload,
    budgets: dict,
    base=None,
    grid: SizingGrid | None = None,
    fidelity: str = "simpy",
    margin: float = 0.1,
    max_verify: int = 8,
    tech=None,
    progress: bool = False,
) -> SizingResult:
    """Search ``grid`` around ``base`` for configs meeting ``budgets``.

    ``budgets`` maps ``max_latency_us`` / ``max_area_mm2`` / ``max_energy_uj``
    to limits (any subset, at least one). See the module docstring.
    """
    from accelerators import load_hw

    for b, v in budgets.items():
        if b not in BUDGETS:
            raise InputError("budget", b, ", ".join(BUDGETS))
        if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v) or v <= 0:
            raise InputError(f"--{b.replace('_', '-')}", v, "a finite number > 0")
    if (
        isinstance(max_verify, bool)
        or not isinstance(max_verify, int)
        or not 0 <= max_verify <= 100_000
    ):
        raise InputError(
            "--max-verify", max_verify, "an integer in 0..100000 (0: verify every candidate)"
        )
    if not budgets:
        raise InputError.plain(
            "give at least one budget: --max-latency-us, --max-area-mm2 or --max-energy-uj"
        )
    if fidelity not in ("simpy", "analytical"):
        raise InputError("--fidelity", fidelity, "simpy or analytical")
    base = load_hw(base)
    grid = grid or SizingGrid()
    configs = grid.configs(base)

    from tqdm import tqdm

    screened = [
        (cfg, _cand(cfg, "analytical", workload, tech))
        for cfg in tqdm(configs, desc="screen (analytical)", unit="config", disable=not progress)
    ]
    verified: dict[int, Candidate] = {}

    def check(i: int) -> Candidate:
        if fidelity == "analytical":
            return screened[i][1]
        if i not in verified:
            verified[i] = _cand(screened[i][0], "simpy", workload, tech)
        return verified[i]

    result = SizingResult(feasible=False, budgets=dict(budgets), screened=len(screened))
    near = [i for i, (_, c) in enumerate(screened) if _meets(c, budgets, margin)]
    for goal, attr in (("area_mm2", "smallest_area"), ("energy_uj", "lowest_energy")):
        order = sorted(near, key=lambda i: (screened[i][1].value(goal), i))
        cap = max_verify if fidelity == "simpy" and max_verify > 0 else len(order)
        for i in order[:cap]:
            c = check(i)
            if _meets(c, budgets):
                setattr(result, attr, c)
                break
    result.feasible = result.smallest_area is not None or result.lowest_energy is not None
    if result.feasible:
        # the two walks can disagree only through the verify cap: keep both consistent
        result.smallest_area = result.smallest_area or result.lowest_energy
        result.lowest_energy = result.lowest_energy or result.smallest_area
    else:
        alone_ok = True
        for b, limit in budgets.items():
            metric = BUDGETS[b]
            order = sorted(range(len(screened)), key=lambda i: (screened[i][1].value(metric), i))
            best = min(check(i).value(metric) for i in order[: max(1, min(3, len(order)))])
            if best > limit:
                result.shortfalls[metric] = {
                    "budget": limit,
                    "best": best,
                    "over_pct": 100.0 * (best / limit - 1.0),
                }
                alone_ok = False
        result.jointly_infeasible = alone_ok
    result.verified = len(verified)
    return result


def describe(result: SizingResult) -> str:
    """The human-readable answer (what ``codesign size`` prints)."""
    from codesign.cli._table import table

    lines = []
    if result.feasible:
        fields = tuple(SizingGrid.__dataclass_fields__)
        head = [
            "goal",
            "area (mm^2)",
            "latency, steady (us)",
            "energy, steady (uJ)",
            *fields,
            "checked by",
        ]
        rows = []
        for goal, c in (
            ("smallest area", result.smallest_area),
            ("lowest energy", result.lowest_energy),
        ):
            rows.append(
                [goal, f"{c.area_mm2:.4g}", f"{c.latency_us:.4g}", f"{c.energy_uj:.4g}"]
                + [str(c.hw[f]) for f in fields]
                + [c.fidelity]
            )
        lines.append(table(head, rows, indent=""))
        lines.append(
            f"({result.screened} configs screened analytically, {result.verified} checked with SimPy)"
        )
        return "\n".join(lines)
    if result.jointly_infeasible:
        lines.append(
            "no config in the grid meets all budgets together (each budget alone can be met)"
        )
    for metric, s in result.shortfalls.items():
        u = UNITS[metric]
        lines.append(
            f"budget {metric} <= {s['budget']:.4g} {u} cannot be met: best achievable {s['best']:.4g} {u} "
            f"({s['over_pct']:.1f}% over)"
        )
    return "\n".join(lines)
