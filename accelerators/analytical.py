"""The analytical twin of the SimPy model: bounds and an estimate, vectorized numpy.

Same template and the same :class:`~accelerators.sim.plan.LayerPlan`, so the
counts, per-PE busy cycles, readout and DRAM placement are exactly the SimPy
model's; only the tile cycles of the broadcast/FIFO/PE recurrence
(:mod:`accelerators.sim.timing`) are replaced by closed forms and vectorized
passes over the cost matrix: its windowed maxima (:class:`~accelerators.paths.Windows`,
computed once per layer, ``n_pe``, ``lanes`` and activation seed and kept in the
workload cache) are all the path families read, a strided slice each. For a tile pushing
``m`` columns, with ``c[p, k]`` PE ``p``'s cycles on pushed column ``k``, ``W[p]``
their sum, ``cmax[k] = max_p c[p, k]``, ``D`` the FIFO depth, ``w`` the broadcast's
columns per cycle and, when streaming, ``avail`` the DRAM arrival cycles:

- **paths**: the recurrence is max-plus, so a tile's cycles are the longest path
  through it. Three kinds of step make a path: a PE works its columns in order
  (``+ c[p, k]`` per column); the broadcast pushes ``w`` columns per cycle (``+1``
  per ``w`` columns); a FIFO ``D`` deep makes column ``k + D`` wait for the last PE
  done with column ``k`` (the path leaves a PE after column ``k`` and resumes,
  on the broadcast or on any PE, at column ``k + D``, skipping ``D - 1`` columns;
  entering a PE from the broadcast costs the first-push cycle, ``+1``). Any one
  path is a lower bound on the tile's cycles; the exact time is the longest.
- **lower bound**, with every column on chip: the longest of
  ``max(ceil(m / w), floor(k / w) + 1 + sum_{j >= k} c[p, j])`` over PEs ``p`` and
  columns ``k`` (the broadcast alone, or the broadcast up to column ``k`` and then
  one PE to its last column; ``k = 0`` gives ``1 + max_p W[p]``) and the **period paths** of :func:`path_bound`: cut
  the columns into periods of ``L + D - 1``; in each period either ride the
  broadcast (``floor(period / w)``) or enter the PE with the most work in the
  period's first ``L`` columns (``1 +`` that work) and skip the other ``D - 1``;
  ``L`` runs over 1, 2, 4, 8, ... With ``D = 1`` and ``L = 1`` this is the
  depth-1 time exactly. With one tile pattern per layer the ladder runs on the
  layer's cost matrix; with a pattern per tile (activation skipping) only the
  closed form is used for the bound. Streaming: ``max(a_first + that,
  a_last + 1 + cmax[m], stream_end)``;
- **upper bound** ``a_last + sum_k (1 + cmax[k])`` (and ``>= stream_end``): the
  exact time of a depth-1 FIFO (every column waits for the slowest PE) with every
  column arriving when the last one does; deeper FIFOs and earlier arrivals
  never add cycles;
- **estimate**: exact for ``D = 1``. Otherwise: fixed periods cannot follow the
  longest path, which places its ``D - 1`` skipped columns where the work is
  light and stays on a PE that happens to hold work in columns running, so the
  period-path bound ``B`` falls short (3-4 % on average). The **aligned period
  paths** of :func:`aligned_paths` let each period's segment start at any of the
  ``D`` columns of its period (the skip split before and after it), at the ``L``
  of the longest period path; ``R``, the longest of them and ``B``, overshoots
  only where consecutive offsets go backwards. The estimate is ``R + K(D) (U -
  R)``. ``K(D)`` is the median of ``(T - R) / (U - R)`` over exact tile times
  ``T`` (0.00-0.03), measured by ``benchmarks/calibrate_estimate.py`` on lfc
  layers and random layer shapes (none of them cnv's layers, which
  ``benchmarks/fidelity.py`` holds out), linear in ``log2 D`` between the
  measured depths. With a pattern per tile, the estimate is computed on up to
  :data:`SAMPLE_TILES` evenly spaced tiles (on their own pushed columns) and
  every tile is placed between its own closed-form bounds at their mean
  fraction. Streaming shifts the estimate like the lower bound. Measured
  errors: ``benchmarks/fidelity.py`` and ``benchmarks/analytical_trends.py``.
"""

from __future__ import annotations

import functools
import math

import networkx as nx
import numpy as np

from .config import HardwareConfig
from .paths import Windows, aligned_paths, period_paths, ride_then_work
from .sim.accounting import layer_counts, onchip_stalls
from .sim.blocks import DRAM, WeightSRAM
from .sim.plan import LayerPlan, plan_layer

__all__ = [
    "AnalyticalLayer",
    "aligned_paths",
    "analytical_layers",
    "path_bound",
    "path_estimate",
    "path_paths",
    "tile_bounds",
    "uniform_columns",
]

# median (T - R) / (U - R) by FIFO depth (R, U: path_paths; T: the exact tile time);
# measured by benchmarks/calibrate_estimate.py (lfc layers and random shapes, seed 7)
_PATH_K = {2: 0.0049, 3: 0.0309, 4: 0.0204, 8: 0.0052, 16: 0.0000}
# pattern tiles on which the estimate is computed when every tile has its own pattern
SAMPLE_TILES = 4


@functools.lru_cache(maxsize=64)
def path_k(depth: int) -> float:
    """``K(D)`` of the module docstring: :data:`_PATH_K`, linear in ``log2 D`` between
    its depths and held at the end values (a pure function of ``depth``, memoized).

    >>> path_k(1)
    0.0
    >>> abs(path_k(16) - _PATH_K[16]) < 1e-12
    True
    """
    if depth <= 1:
        return 0.0
    ds = sorted(_PATH_K)
    x = math.log2(min(max(depth, ds[0]), ds[-1]))
    xs = [math.log2(d) for d in ds]
    return float(np.interp(x, xs, [_PATH_K[d] for d in ds]))


def path_bound(cost: np.ndarray, depth: int, width: int = 1) -> int:
    """A lower bound on a tile's cycles: the longest path of the module docstring's families.

    ``cost``: (n_pe, m) cycles per PE per pushed column, all resident. The longest of
    :func:`~accelerators.paths.ride_then_work` and, for each ``L`` in 1, 2, 4, ... below
    ``m``, the period path: periods of ``P = L + D - 1`` columns from column 0, each
    worth ``max(1 + max_p (p's cycles on its first L columns), floor(P / w))`` (the last
    period: its columns up to ``m``).

    >>> cost = np.array([[2, 0, 1], [0, 0, 3]])
    >>> path_bound(cost, 1)   # L = 1: (1 + 2) + (1 + 0) + (1 + 3), the depth-1 time
    8
    >>> path_bound(cost, 2)   # L = 1, periods {0, 1}, {2}: (1 + 2) + (1 + 3)
    7
    """
    if cost.shape[1] == 0:
        return 0
    win = Windows.of_costs(cost)
    return max(ride_then_work(win, width), period_paths(win, depth, width)[0])


def path_paths(
    cost: np.ndarray | None,
    depth: int,
    width: int = 1,
    cost_t: np.ndarray | None = None,
    total: int | None = None,
    windows: Windows | None = None,
) -> tuple[int, float, int]:
    """``(B, R, U)`` of one resident tile: :func:`path_bound`, the longest of it and the
    :func:`~accelerators.paths.aligned_paths` at the best period path's ``L`` (at
    most ``U``), and the depth-1 time ``U = m + sum_k cmax[k]``. ``cost_t``: the
    same costs as an (m, n_pe) array, if at hand (``cost`` is then not read);
    ``total``: the largest per-PE sum, if known; ``windows``: their
    :class:`~accelerators.paths.Windows`, if at hand (neither cost array is then read).

    >>> path_paths(np.array([[2, 0, 1], [0, 0, 3]]), 2)
    (7, 7.0, 8)
    """
    if windows is None:
        windows = Windows.of_costs(cost_t.T if cost is None else cost, total)
    m = windows.m
    if m == 0:
        return 0, 0.0, 0
    upper = m + int(windows.cmax.sum())
    periods, seg_len = period_paths(windows, depth, width)
    bound = max(ride_then_work(windows, width), periods)
    best = float(bound)
    if depth > 1:
        if seg_len < m:
            best = max(best, aligned_paths(windows, depth, width, seg_len))
    return bound, min(best, float(upper)), upper


def path_estimate(cost: np.ndarray, depth: int, width: int = 1) -> float:
    """The on-chip estimate of one tile (module docstring): ``R + K(D) (U - R)`` with
    ``R``, ``U`` of :func:`path_paths`; the depth-1 time ``U`` when ``D = 1``.

    >>> cost = np.array([[2, 0, 1], [0, 0, 3]])
    >>> path_estimate(cost, 1)
    8.0
    """
    if cost.shape[1] == 0:
        return 0.0
    if depth == 1:
        return float(cost.shape[1] + int(cost.max(axis=0).sum()))
    _, best, upper = path_paths(cost, depth, width)
    return best + path_k(depth) * (upper - best)


def uniform_columns(m: int, cmax: int) -> int:
    """Cycles of a tile whose ``m`` columns all cost PE ``p`` the same (no weight
    skipping), the slowest PE ``cmax >= 1`` cycles each, with a FIFO at least 2 deep:
    ``1 + m cmax``, exactly. The slowest PE starts in cycle 1 and never waits again:
    the broadcast pushes at least one column per cycle and a column is done
    everywhere once the slowest PE is done with it, so the FIFO always holds its
    next column (the path bound of :func:`~accelerators.paths.ride_then_work` at ``k = 0``).

    >>> uniform_columns(3, 3)   # PE0 owns 3 rows, 1 lane: 1 + 3 x 3
    10
    """
    return 1 + m * cmax


def _windows(plan: LayerPlan, tile: int | None = None) -> Windows:
    """The :class:`~accelerators.paths.Windows` of ``plan``'s costs on every column
    (``tile``: on that tile pattern's pushed columns), kept in the workload cache
    (:meth:`~accelerators.sim.plan.LayerPlan.kept`: they do not depend on the FIFO
    depth or the broadcast width)."""
    if tile is None:
        return plan.kept("windows", lambda: Windows.of_costs(plan.cost, plan.pe_cost_max))
    return plan.kept("windows", lambda: Windows.of_costs(plan.cost[:, plan.patterns[tile]]), tile)


@functools.lru_cache(maxsize=256)
def _sample_tiles(n: int) -> tuple[int, ...]:
    """Up to :data:`SAMPLE_TILES` evenly spaced tiles of ``n`` (memoized).

    >>> _sample_tiles(900), _sample_tiles(2)
    ((0, 300, 599, 899), (0, 1))
    """
    picks = np.unique(np.linspace(0, n - 1, min(n, SAMPLE_TILES)).round().astype(int))
    return tuple(int(i) for i in picks)


def _pattern_fraction(plan: LayerPlan, depth: int, width: int, lower0, upper1) -> float:
    """Mean ``(estimate - lower) / (upper - lower)`` over up to :data:`SAMPLE_TILES`
    evenly spaced tiles (their path estimates on their own pushed columns)."""
    fracs = []
    for i in _sample_tiles(plan.patterns.shape[0]):
        low, gap = int(lower0[i]), int(upper1[i] - lower0[i])
        if gap <= 0:
            continue
        _, best, upper = path_paths(None, depth, width, windows=_windows(plan, i))
        est = best + path_k(depth) * (upper - best)
        fracs.append(min(max((est - low) / gap, 0.0), 1.0))
    return float(np.mean(fracs)) if fracs else 0.0


def _one_pattern(
    plan: LayerPlan, depth: int, width: int, avail: np.ndarray | None
) -> tuple[int, int, int, int]:
    """Every column pushed: ``(lower, estimate, upper, on-chip estimate)`` (the on-chip
    estimate: the same tile with its weights resident)."""
    m = plan.cols
    if m == 0:
        return 0, 0, 0, 0
    upper1 = m + plan.col_cost_max_sum
    if depth == 1:
        lower0, est0 = max(-(-m // width), 1 + plan.pe_cost_max), float(upper1)
    elif not plan.skip_weights:  # every column costs PE p the same: exact (uniform_columns)
        lower0 = uniform_columns(m, int(plan.col_cost_max[0]))
        est0 = float(lower0)
    else:
        lower0, best, _ = path_paths(None, depth, width, windows=_windows(plan))
        est0 = best + path_k(depth) * (upper1 - best)
    onchip = min(max(int(round(est0)), lower0), upper1)
    if avail is None:
        return lower0, onchip, upper1, onchip
    a_first, a_last = int(avail[0]), int(avail[-1])
    tail = a_last + 1 + -(-int(plan.stats.col_max[-1]) // plan.lanes)
    if not plan.skip_weights:
        tail = a_last + 1 + int(plan.col_cost_max[-1])
    lo = max(a_first + lower0, tail)
    up = a_last + upper1
    est = min(max(int(round(max(a_first + est0, tail))), lo), up)
    # a streamed tile ends no earlier than its stream
    return max(lo, a_last), max(est, a_last), max(up, a_last), onchip


def _pattern_extent(plan: LayerPlan) -> tuple[np.ndarray, ...]:
    """Per tile pattern, (P,) each: pushed columns ``m``, whether none is pushed, first
    and last pushed column, the depth-1 time ``m + sum of cmax`` over them (cycles),
    ``1 +`` the busiest PE's cycles on them and the slowest PE's on the last one."""
    pushed, cols = plan.patterns, plan.cols
    m = pushed.sum(axis=1)
    first = np.argmax(pushed, axis=1)
    last = cols - 1 - np.argmax(pushed[:, ::-1], axis=1)
    upper1 = m + plan.pushed(plan.col_cost_max)
    start = 1 + plan.pe_cost_pushed.max(axis=1)
    out = (m, m == 0, first, last, upper1, start, plan.col_cost_max[last])
    for a in out:
        a.flags.writeable = False
    return out


def tile_bounds(
    plan: LayerPlan, fifo_depth: int, avail: np.ndarray | None, width: int = 1
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``(lower, estimate, upper, on-chip estimate)`` cycles of each of ``plan``'s tile
    patterns, int64 (P,); the on-chip estimate is the same tile with resident weights.

    ``width``: columns the broadcast pushes per cycle at most.
    """
    cols, pushed, depth = plan.cols, plan.patterns, int(fifo_depth)
    if pushed is None:
        bounds = _one_pattern(plan, depth, width, avail)
        return tuple(np.array([x], dtype=np.int64) for x in bounds)
    m, none, first, last, upper1, start, last_cost = plan.kept(
        "pattern_extent", lambda: _pattern_extent(plan)
    )
    lower0 = np.maximum(-(-m // width), start)
    if depth == 1:
        est0 = upper1
    else:
        est0 = lower0 + _pattern_fraction(plan, depth, width, lower0, upper1) * (upper1 - lower0)
    onchip = np.where(none, 0, np.clip(np.round(est0).astype(np.int64), lower0, upper1))
    if avail is None:  # the estimate is the on-chip one
        return np.where(none, 0, lower0), onchip, np.where(none, 0, upper1), onchip
    a_first, a_last = avail[first], avail[last]
    tail = a_last + 1 + last_cost
    lower = np.maximum(a_first + lower0, tail)
    upper = a_last + upper1
    est = np.clip(np.round(np.maximum(a_first + est0, tail)).astype(np.int64), lower, upper)
    lower, est, upper = (np.where(none, 0, x) for x in (lower, est, upper))
    if cols:  # a streamed tile ends no earlier than its stream
        lower, est, upper = (np.maximum(x, avail[-1]) for x in (lower, est, upper))
    return lower, est, upper, onchip


def _arrivals(plan: LayerPlan, cfg: HardwareConfig) -> np.ndarray:
    """The cycle each column of a streamed layer is on chip (:meth:`DRAM.arrivals`), kept
    in the workload cache with the DRAM and bit-width settings it depends on."""
    dram = DRAM(None, cfg.dram_latency_cycles, cfg.dram_bytes_per_cycle)
    key = (cfg.weight_format, cfg.bits_per_entry, cfg.pointer_bits, dram.latency)
    key += (dram.bytes_per_cycle,)
    return plan.kept("arrivals", lambda: dram.arrivals(plan.stream_col_bits), *key)


class AnalyticalLayer:
    """One layer's analytical numbers (shaped like the SimPy collector's record)."""

    def __init__(self, plan: LayerPlan, resident: bool, cfg: HardwareConfig):
        self.name, self.plan, self.resident = plan.tensor.name, plan, resident
        tiles, depth, width = plan.tiles, cfg.fifo_depth, cfg.broadcast_acts_per_cycle
        readout = plan.readout_cycles * tiles
        avail = None if resident else _arrivals(plan, cfg)
        self.counts, busy = layer_counts(plan, cfg, resident)
        self.pe_busy_cycles = busy.tolist()
        reps = plan.pattern_repeats
        if plan.patterns is None:  # python ints all the way
            bounds = _one_pattern(plan, depth, width, avail)
            lo, est, up, est_chip = (x * tiles for x in bounds)
            chip = (bounds[3],)
        else:
            bounds = tile_bounds(plan, depth, avail, width)
            lo, est, up, est_chip = (int(x @ reps) for x in bounds)
            chip = bounds[3]
        self.cycles_lower, self.cycles_upper = lo + readout, up + readout
        self.cycles = est + readout
        self.stall_cycles = onchip_stalls(plan, chip, width)
        self.stall_cycles["dram"] = max(0, est - est_chip)
        self.stall_cycles["readout"] = readout


def analytical_layers(g: nx.DiGraph, cfg: HardwareConfig, seed: int = 0) -> list[AnalyticalLayer]:
    """The analytical numbers of every layer, in execution order."""
    wsram = WeightSRAM(None, cfg.n_pe, cfg.weight_sram_bits_per_pe, cfg.pointer_sram_bits_per_pe)
    out = []
    for name in g.graph["order"]:
        plan = plan_layer(g, name, cfg, seed)
        resident = wsram.place(plan)
        out.append(AnalyticalLayer(plan, resident, cfg))
    return out
