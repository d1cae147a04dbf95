"""The analytical twin of the SimPy model: bounds and an estimate, vectorized numpy.

Same template and the same :class:`~accelerators.sim.plan.LayerPlan`, so the
counts, per-PE busy cycles, readout and DRAM placement are exactly the SimPy
model's; only the tile cycles of the broadcast/FIFO/PE recurrence
(:mod:`accelerators.sim.timing`) are replaced by closed forms over per-PE and
per-column totals (no pass over columns). For a tile pushing ``m`` columns, with
``W[p]`` PE ``p``'s cycles summed over them, ``cmax[k]`` the slowest PE's cycles
on pushed column ``k``, ``w`` the broadcast's columns per cycle and, when
streaming, ``avail`` the DRAM arrival cycles:

- **lower bound** ``max(a_first + max(ceil(m / w), 1 + max_p W[p]), a_last + 1 +
  cmax[m], stream_end)``: the broadcast pushes ``w`` columns per cycle from the first arrival,
  each PE works serially after its first column is visible, and the last column
  is pushed after it arrives;
- **upper bound** ``a_last + sum_k (1 + cmax[k])`` (and ``>= stream_end``): the
  exact time of a depth-1 FIFO (every column waits for the slowest PE) with every
  column arriving when the last one does; deeper FIFOs and earlier arrivals
  never add cycles;
- **estimate**: exact for ``fifo_depth = 1``. With a one-wide broadcast
  (``w = 1``) and depth 2 or 3 the PEs re-synchronize about every ``D + 1``
  columns: the on-chip estimate is the mean of the lower bound and the block time
  ``1 + sum over blocks of D + 1 pushed columns of max(block length, max_p (block
  cycles of p))`` (itself at least the lower bound; the mean fitted
  best on a calibration set of lfc configs; tiles with their own activation
  patterns use ``lower + K[D] * (upper - lower)`` instead, ``K = {2: 0.05, 3:
  0.04}``, the mean fraction measured by ``benchmarks/calibrate_estimate.py``); from depth 4 on, the lower bound itself.
  With ``w > 1`` the PEs rather than the broadcast usually set the pace and FIFO
  back-pressure couples them, so the estimate is ``lower + frac * (upper -
  lower)`` with ``log(frac + 0.01)`` linear in the logs of ``D``, ``n_pe``, the
  mean PE cycles per column, the broadcast slack ``(m / w) / max_p W[p]`` and
  ``w`` (:func:`wide_features`; constants fitted by
  ``benchmarks/calibrate_estimate.py`` on configs none of which are the
  benchmark grids). Measured errors: ``benchmarks/fidelity.py``. Streaming
  shifts the estimate like the lower bound.
"""

from __future__ import annotations

import math

import networkx as nx
import numpy as np

from .config import HardwareConfig
from .sim.blocks import DRAM, WeightSRAM
from .sim.plan import LayerPlan, layer_counts, plan_layer

__all__ = ["AnalyticalLayer", "analytical_layers", "tile_bounds", "wide_features"]

# mean (T - L) / (U - L) of pattern tiles, one-wide broadcast; measured by
# benchmarks/calibrate_estimate.py (pattern_k, 40 random lfc/cnv layers, seed 11)
_PATTERN_K = {2: 0.05, 3: 0.04}
# log(frac + 0.01) = _WIDE_COEF . wide_features(...); least-squares fit printed by
# `python benchmarks/calibrate_estimate.py` (even half of 400 random lfc/cnv layer cases, seed 7)
_WIDE_COEF_T = (-1.712, -1.287, 0.191, 0.064, 0.276, 0.537)
_WIDE_COEF = np.array(_WIDE_COEF_T)


def wide_features(depth, n_pe, mean_cost, slack, width) -> np.ndarray:
    """Regressors of the wide-broadcast estimate: ``[1, log D, log n_pe, log mean_cost,
    log slack, log w]`` (last axis; ``mean_cost`` and ``slack`` may be arrays).

    ``mean_cost``: mean PE cycles per pushed column; ``slack``: broadcast cycles
    ``m / w`` over the busiest PE's cycles.
    """
    mean_cost, slack = np.broadcast_arrays(np.asarray(mean_cost, float), np.asarray(slack, float))
    fixed = [1.0, math.log(depth), math.log(n_pe)]
    cols = [np.full(mean_cost.shape, v) for v in fixed]
    cols += [np.log(np.maximum(mean_cost, 1e-3)), np.log(np.maximum(slack, 1e-3))]
    return np.stack([*cols, np.full(mean_cost.shape, math.log(width))], axis=-1)


def _wide_frac(depth: int, n_pe: int, mean_cost, slack, width: int):
    """Where a wide-broadcast tile falls between its bounds: ``exp(coef . x) - 0.01`` in [0, 1].

    ``x`` = :func:`wide_features`; floats for one tile pattern (no arrays: this
    runs for every layer), arrays for many.

    >>> x = wide_features(8, 64, [0.5, 0.1], [0.9, 3.0], 4)
    >>> vec = np.clip(np.exp(x @ _WIDE_COEF) - 0.01, 0, 1)
    >>> bool(np.allclose(_wide_frac(8, 64, np.array([0.5, 0.1]), np.array([0.9, 3.0]), 4), vec))
    True
    >>> bool(abs(_wide_frac(8, 64, 0.5, 0.9, 4) - vec[0]) < 1e-12)
    True
    """
    c = _WIDE_COEF_T
    z = c[0] + c[1] * math.log(depth) + c[2] * math.log(n_pe) + c[5] * math.log(width)
    if isinstance(mean_cost, np.ndarray):
        z = z + c[3] * np.log(np.maximum(mean_cost, 1e-3)) + c[4] * np.log(np.maximum(slack, 1e-3))
        return np.clip(np.exp(z) - 0.01, 0.0, 1.0)
    z += c[3] * math.log(max(mean_cost, 1e-3)) + c[4] * math.log(max(slack, 1e-3))
    return min(max(math.exp(z) - 0.01, 0.0), 1.0)


def _block_max(cost: np.ndarray, block: int) -> np.ndarray:
    """Per block of ``block`` consecutive columns: the largest per-PE sum of ``cost``.

    Same as ``np.add.reduceat(cost, starts, axis=1).max(axis=0)``, about 3x faster
    for the small blocks used here (``fifo_depth + 1`` columns).

    >>> _block_max(np.array([[1, 2, 3, 4, 5], [5, 4, 3, 2, 1]]), 2).tolist()
    [9, 7, 5]
    """
    n_pe, n = cost.shape
    nb = -(-n // block)
    if nb * block != n:
        cost = np.concatenate([cost, np.zeros((n_pe, nb * block - n), cost.dtype)], axis=1)
    parts = cost.reshape(n_pe, nb, block)
    total = parts[:, :, 0].astype(np.int32)  # int16 costs: sum without overflow
    for k in range(1, block):
        total += parts[:, :, k]
    return total.max(axis=0)


def _block_estimate(plan: LayerPlan, block: int, pushed: np.ndarray | None = None) -> int:
    """``1 + sum over blocks of pushed columns of max(len, max_p p's cycles)`` (a one-wide
    broadcast pushes a block of ``len`` columns in ``len`` cycles)."""
    n = plan.cols if pushed is None else int(pushed.sum())
    if n == 0:
        return 0
    starts = np.arange(0, n, block)
    lens = np.diff(np.append(starts, n))
    if not plan.skip_weights:  # every column costs PE p the same: ceil(rows_p / lanes)
        per_block = lens * int(plan.col_cost_max[0])
    else:
        cost = plan.cost if pushed is None else plan.cost[:, pushed]
        per_block = _block_max(cost, block)
    return 1 + int(np.maximum(per_block, lens).sum())


def _estimate0(plan: LayerPlan, depth: int, width: int, lower0, upper1, m=None, pe_cost=None):
    """On-chip estimate from the bounds (module docstring).

    ``m``, ``pe_cost``: pushed columns and per-PE cycles of each pattern (default:
    every column; only the wide-broadcast estimate needs them).
    """
    if depth == 1:
        return upper1
    if width > 1:
        if m is None:  # one pattern, every column pushed: plain floats
            m, busiest, mean = plan.cols, max(plan.pe_cost_max, 1), plan.pe_cost_mean / plan.cols
        else:
            busiest = np.maximum(pe_cost.max(axis=-1), 1)
            mean = pe_cost.sum(axis=-1) / (pe_cost.shape[-1] * np.maximum(m, 1))
        frac = _wide_frac(depth, plan.cfg.n_pe, mean, m / width / busiest, width)
        return lower0 + frac * (upper1 - lower0)
    if depth not in _PATTERN_K:
        return lower0
    pushed = plan.patterns
    if pushed is None:
        return (lower0 + max(lower0, _block_estimate(plan, depth + 1))) / 2
    if pushed.shape[0] == 1:
        block = _block_estimate(plan, depth + 1, pushed[0])
        return (lower0 + np.maximum(lower0, block)) / 2
    return lower0 + _PATTERN_K[depth] * (upper1 - lower0)


def _one_pattern(
    plan: LayerPlan, depth: int, width: int, avail: np.ndarray | None
) -> tuple[int, int, int, int]:
    """Every column pushed: ``(lower, estimate, upper, on-chip estimate)`` from per-PE /
    per-column totals (the on-chip estimate: the same tile with its weights resident)."""
    m = plan.cols
    if m == 0:
        return 0, 0, 0, 0
    lower0 = max(-(-m // width), 1 + plan.pe_cost_max)
    upper1 = m + plan.col_cost_max_sum
    est0 = _estimate0(plan, depth, width, lower0, upper1)
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
    w = plan.pe_cost_pushed  # (P, n_pe)
    m = pushed.sum(axis=1)
    first = np.argmax(pushed, axis=1)
    last = cols - 1 - np.argmax(pushed[:, ::-1], axis=1)
    cmax = plan.col_cost_max
    upper1 = m + plan.pushed(cmax)
    lower0 = np.maximum(-(-m // width), 1 + w.max(axis=1))
    est0 = _estimate0(plan, depth, width, lower0, upper1, m, w)
    none = m == 0
    onchip = np.where(none, 0, np.clip(np.round(est0).astype(np.int64), lower0, upper1))
    if avail is None:
        lower, upper, est = lower0, upper1, est0
    else:
        a_first, a_last = avail[first], avail[last]
        tail = a_last + 1 + cmax[last]
        lower = np.maximum(a_first + lower0, tail)
        upper = a_last + upper1
        est = np.maximum(a_first + est0, tail)
    est = np.clip(np.round(est).astype(np.int64), lower, upper)
    lower, est, upper = (np.where(none, 0, x) for x in (lower, est, upper))
    if avail is not None and cols:  # a streamed tile ends no earlier than its stream
        lower, est, upper = (np.maximum(x, avail[-1]) for x in (lower, est, upper))
    return lower, est, upper, onchip


class AnalyticalLayer:
    """One layer's analytical numbers (shaped like the SimPy collector's record)."""

    def __init__(self, plan: LayerPlan, resident: bool, cfg: HardwareConfig):
        self.name, self.plan, self.resident = plan.tensor.name, plan, resident
        tiles, depth, width = plan.tiles, cfg.fifo_depth, cfg.broadcast_acts_per_cycle
        readout = plan.readout_cycles * tiles
        if resident:
            avail = None
        else:
            dram = DRAM(None, cfg.dram_latency_cycles, cfg.dram_bytes_per_cycle)
            avail = dram.arrivals(plan.stream_col_bits)
        self.counts, busy = layer_counts(plan, cfg, resident)
        self.pe_busy_cycles = busy.tolist()
        slots = cfg.n_pe * cfg.lanes_per_pe
        if plan.patterns is None:  # python ints all the way
            bounds = _one_pattern(plan, depth, width, avail)
            lo, est, up, est_chip = (x * tiles for x in bounds)
            ideal = -(-int(plan.slot_col.sum()) // slots) * tiles
        else:
            reps = plan.pattern_repeats
            bounds = tile_bounds(plan, depth, avail, width)
            lo, est, up, est_chip = (int(x @ reps) for x in bounds)
            ideal = int(-(-plan.pushed(plan.slot_col) // slots) @ reps)
        self.cycles_lower, self.cycles_upper = lo + readout, up + readout
        self.cycles = est + readout
        dram_stall = max(0, est - est_chip)
        self.stall_cycles = {
            "imbalance": max(0, self.cycles - readout - dram_stall - ideal),
            "dram": dram_stall,
            "readout": readout,
        }


def analytical_layers(g: nx.DiGraph, cfg: HardwareConfig, seed: int = 0) -> list[AnalyticalLayer]:
    """The analytical numbers of every layer, in execution order."""
    wsram = WeightSRAM(None, cfg.n_pe, cfg.weight_sram_bits_per_pe, cfg.pointer_sram_bits_per_pe)
    out = []
    for name in g.graph["order"]:
        plan = plan_layer(g, name, cfg, seed)
        resident = wsram.place(plan)
        out.append(AnalyticalLayer(plan, resident, cfg))
    return out
