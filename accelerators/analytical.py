"""The analytical twin of the SimPy model: bounds and an estimate, vectorized numpy.

Same template and the same :class:`~accelerators.sim.plan.LayerPlan`, so the
counts, per-PE busy cycles, readout and DRAM placement are exactly the SimPy
model's; only the tile cycles of the broadcast/FIFO/PE recurrence
(:mod:`accelerators.sim.timing`) are replaced by closed forms over per-PE and
per-column totals (no pass over columns). For a tile pushing ``m`` columns, with
``W[p]`` PE ``p``'s cycles summed over them, ``cmax[k]`` the slowest PE's cycles
on pushed column ``k`` and, when streaming, ``avail`` the DRAM arrival cycles:

- **lower bound** ``max(a_first + max(m, 1 + max_p W[p]), a_last + 1 + cmax[m],
  stream_end)``: the broadcast pushes one column per cycle from the first arrival,
  each PE works serially after its first column is visible, and the last column
  is pushed after it arrives;
- **upper bound** ``a_last + sum_k (1 + cmax[k])`` (and ``>= stream_end``): the
  exact time of a depth-1 FIFO (every column waits for the slowest PE) with every
  column arriving when the last one does; deeper FIFOs and earlier arrivals
  never add cycles;
- **estimate**: exact for ``fifo_depth = 1``. For depth 2 and 3 the PEs
  re-synchronize about every ``D + 1`` columns, so the on-chip estimate is the
  lower bound raised to ``1 + sum over blocks of D + 1 pushed columns of max(D + 1,
  max_p (block cycles of p))`` (tiles with their own activation patterns use
  ``lower + K[D] * (upper - lower)`` instead, ``K = {2: 0.1, 3: 0.05}``, the mean
  measured fraction); from depth 4 on, the lower bound itself (measured mean error
  under 3%, see ``benchmarks/fidelity.py``). Streaming shifts it like the lower bound.
"""

from __future__ import annotations

import networkx as nx
import numpy as np

from .config import HardwareConfig
from .sim.blocks import DRAM, ActivationSRAM, WeightSRAM
from .sim.plan import LayerPlan, layer_counts, plan_layer

__all__ = ["AnalyticalLayer", "analytical_layers", "tile_bounds"]

_PATTERN_K = {2: 0.1, 3: 0.05}


def _block_estimate(cost: np.ndarray, block: int) -> int:
    """``1 + sum over column blocks of max(block, max_p sum of p's cycles in the block)``."""
    n_pe, cols = cost.shape
    nb = -(-cols // block)
    padded = np.zeros((n_pe, nb * block), dtype=np.int64)
    padded[:, :cols] = cost
    per_block = padded.reshape(n_pe, nb, block).sum(axis=2).max(axis=0)
    return 1 + int(np.maximum(per_block, block).sum())


def tile_bounds(
    plan: LayerPlan, fifo_depth: int, avail: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(lower, estimate, upper)`` cycles of each of ``plan``'s tile patterns, int64 (P,)."""
    cols = plan.cols
    pushed = plan.patterns
    w = plan.pe_cost_pushed  # (P, n_pe)
    if pushed is None:
        m = np.array([cols], dtype=np.int64)
        first, last = np.zeros(1, np.int64), np.full(1, cols - 1, np.int64)
    else:
        m = pushed.sum(axis=1)
        first = np.argmax(pushed, axis=1)
        last = cols - 1 - np.argmax(pushed[:, ::-1], axis=1)
    cmax = plan.col_cost_max
    upper1 = m + plan.pushed(cmax)
    lower0 = np.maximum(m, 1 + w.max(axis=1))
    depth = int(fifo_depth)
    if depth == 1:
        est0 = upper1.astype(np.float64)
    elif depth in _PATTERN_K:
        if pushed is None or pushed.shape[0] == 1:
            cost = plan.cost if pushed is None else plan.cost[:, pushed[0]]
            est0 = np.maximum(lower0, _block_estimate(cost, depth + 1)).astype(np.float64)
        else:
            est0 = lower0 + _PATTERN_K[depth] * (upper1 - lower0)
    else:
        est0 = lower0.astype(np.float64)
    if avail is None:
        lower, upper, est = lower0, upper1, est0
    else:
        a_first, a_last = avail[first], avail[last]
        tail = a_last + 1 + cmax[last]
        lower = np.maximum(a_first + lower0, tail)
        upper = a_last + upper1
        est = np.maximum(a_first + est0, tail)
    est = np.clip(np.round(est).astype(np.int64), lower, upper)
    none = m == 0
    lower, est, upper = (np.where(none, 0, x) for x in (lower, est, upper))
    if avail is not None and cols:  # a streamed tile ends no earlier than its stream
        lower, est, upper = (np.maximum(x, avail[-1]) for x in (lower, est, upper))
    return lower, est, upper


class AnalyticalLayer:
    """One layer's analytical numbers (shaped like the SimPy collector's record)."""

    def __init__(self, plan: LayerPlan, resident: bool, act_fits: bool, cfg: HardwareConfig):
        self.name, self.plan, self.resident = plan.tensor.name, plan, resident
        self.act_sram_fits = act_fits
        reps = plan.pattern_repeats
        readout = plan.readout_cycles * plan.tiles
        if resident:
            avail = None
        else:
            dram = DRAM(None, cfg.dram_latency_cycles, cfg.dram_bytes_per_cycle)
            avail = dram.arrivals(plan.col_bits)
        lo, est, up = tile_bounds(plan, cfg.fifo_depth, avail)
        self.cycles_lower = int(lo @ reps) + readout
        self.cycles_upper = int(up @ reps) + readout
        self.cycles = int(est @ reps) + readout
        work = plan.pushed(plan.work_col)
        ideal = int(-(-work // (cfg.n_pe * cfg.lanes_per_pe)) @ reps)
        dram_stall = 0
        if not resident:
            _, est0, _ = tile_bounds(plan, cfg.fifo_depth, None)
            dram_stall = max(0, self.cycles - readout - int(est0 @ reps))
        self.stall_cycles = {
            "imbalance": max(0, self.cycles - readout - dram_stall - ideal),
            "dram": dram_stall,
            "readout": readout,
        }
        self.counts, busy = layer_counts(plan, cfg, resident)
        self.pe_busy_cycles = busy.tolist()


def analytical_layers(g: nx.DiGraph, cfg: HardwareConfig, seed: int = 0) -> list[AnalyticalLayer]:
    """The analytical numbers of every layer, in execution order."""
    wsram = WeightSRAM(None, cfg.n_pe, cfg.weight_sram_bits_per_pe)
    asram = ActivationSRAM(None, cfg.act_sram_kib, cfg.act_bits)
    out = []
    for name in g.graph["order"]:
        plan = plan_layer(g, name, cfg, seed)
        resident = wsram.place(plan)
        out.append(AnalyticalLayer(plan, resident, asram.fits(plan), cfg))
    return out
