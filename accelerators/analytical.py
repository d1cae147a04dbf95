"""The analytical twin of the SimPy model: bounds and an estimate, vectorized numpy.

Same template, same :class:`~accelerators.sim.plan.LayerPlan` (so the counts,
per-PE busy cycles, readout and DRAM placement are exact); only the tile cycles
of the broadcast/FIFO/PE recurrence (:mod:`accelerators.sim.timing`) are
replaced by closed forms. For a tile pushing columns ``k = 1 .. m``, with
``c[p, k]`` the cycles of PE ``p`` on pushed column ``k`` and ``avail`` the DRAM
arrival cycles (0 when resident):

- **lower bound** = the same recurrence with an unbounded FIFO (deeper FIFOs
  never add cycles): the broadcast pushes at ``b[k] = max_{i<=k}(avail[i] + k - i)``
  and PE ``p`` ends at ``max_k (b[k] + 1 + sum_{i>=k} c[p, i])``; evaluated with
  cumulative sums and maxima;
- **upper bound** = a FIFO of depth 1 with every column arriving when the last
  one does: ``avail[m] + sum_k (1 + max_p c[p, k])``;
- **estimate** = ``lower + (upper_1 - lower) / fifo_depth ** ALPHA``, where
  ``upper_1`` is the exact depth-1 time without DRAM shifted like the lower bound;
  exact for depth 1, tending to the unbounded FIFO as the depth grows.
"""

from __future__ import annotations

import networkx as nx
import numpy as np

from .config import HardwareConfig
from .sim.blocks import DRAM, ActivationSRAM, WeightSRAM
from .sim.plan import LayerPlan, layer_counts, plan_layer

__all__ = ["AnalyticalLayer", "analytical_layers", "tile_bounds", "ALPHA"]

ALPHA = 1.0
_CHUNK_ELEMS = 4_000_000


def _suffix_end(c: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``max_k (b[k] + 1 + sum_{i>=k} c[..., i, p])`` over k, for c (..., m, n_pe), b (..., m)."""
    suffix = np.flip(np.cumsum(np.flip(c, axis=-2), axis=-2), axis=-2)
    return (suffix + (b + 1)[..., None]).max(axis=-2).max(axis=-1)


def tile_bounds(
    cost: np.ndarray, fifo_depth: int, pushed: np.ndarray | None, avail: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(lower, estimate, upper)`` cycles per pattern, int64 (P,) each.

    ``cost`` (n_pe, cols); ``pushed`` (P, cols) bool or ``None`` (all columns, P = 1);
    ``avail`` (cols,) DRAM arrival cycles or ``None``.
    """
    n_pe, n_cols = cost.shape
    if pushed is None:
        pushed = np.ones((1, n_cols), dtype=bool)
    av = np.zeros(n_cols, dtype=np.int64) if avail is None else np.asarray(avail, np.int64)
    m = pushed.sum(axis=1)
    colmax = cost.max(axis=0)
    upper1 = m + pushed.astype(np.int64) @ colmax
    lower = np.zeros(len(m), dtype=np.int64)
    per = max(1, _CHUNK_ELEMS // max(1, n_cols * n_pe))
    cost_t = cost.T
    all_pushed = bool(pushed.all())
    for lo in range(0, len(m), per):
        blk = pushed[lo : lo + per]
        if all_pushed:
            c = cost_t[None]
            a = av[None]
        else:
            # pushed columns first, in order; unpushed ones last with cost 0 and no arrival.
            order = np.argsort(~blk, axis=1, kind="stable")
            c = cost_t[order] * np.take_along_axis(blk, order, axis=1)[..., None]
            a = np.where(np.take_along_axis(blk, order, axis=1), av[order], -(10**12))
        k = np.arange(n_cols)
        b = k + np.maximum.accumulate(a - k, axis=-1)
        if not all_pushed:
            b = np.where(np.take_along_axis(blk, order, axis=1), b, -(10**12))
        lower[lo : lo + per] = _suffix_end(c, b)
    lower = np.where(m > 0, lower, 0)
    last = np.where(m > 0, n_cols - 1 - np.argmax(pushed[:, ::-1], axis=1), 0)
    a_last = np.where(m > 0, av[last], 0)
    upper = np.where(m > 0, a_last + upper1, 0)
    first = np.argmax(pushed, axis=1)
    shifted1 = np.where(m > 0, av[first] + upper1, 0)
    est = lower + (np.maximum(shifted1, lower) - lower) / float(fifo_depth) ** ALPHA
    est = np.minimum(np.round(est).astype(np.int64), upper)
    if avail is not None and n_cols:  # a streamed tile ends no earlier than its stream
        lower, est, upper = (np.maximum(x, av[-1]) for x in (lower, est, upper))
    return lower, est, upper


class AnalyticalLayer:
    """One layer's analytical numbers (shaped like the SimPy collector's record)."""

    def __init__(self, plan: LayerPlan, resident: bool, act_fits: bool, cfg: HardwareConfig):
        self.name, self.plan, self.resident, self.act_sram_fits = (
            plan.tensor.name,
            plan,
            resident,
            act_fits,
        )
        reps = plan.pattern_repeats
        avail = (
            None
            if resident
            else DRAM(None, cfg.dram_latency_cycles, cfg.dram_bytes_per_cycle).arrivals(
                plan.col_bits
            )
        )
        lo, est, up = tile_bounds(plan.cost, cfg.fifo_depth, plan.patterns, avail)
        readout = plan.readout_cycles * plan.tiles
        self.cycles_lower = int(lo @ reps) + readout
        self.cycles_upper = int(up @ reps) + readout
        self.cycles = int(est @ reps) + readout
        work = plan.pushed(plan.work.sum(axis=0))
        ideal = int(-(-work // (cfg.n_pe * cfg.lanes_per_pe)) @ reps)
        if resident:
            dram = 0
        else:
            lo0, est0, _ = tile_bounds(plan.cost, cfg.fifo_depth, plan.patterns, None)
            dram = max(0, self.cycles - readout - int(est0 @ reps))
        self.stall_cycles = {
            "imbalance": max(0, self.cycles - readout - dram - ideal),
            "dram": dram,
            "readout": readout,
        }
        self.counts, busy = layer_counts(plan, cfg, resident)
        self.pe_busy_cycles = [int(x) for x in busy]


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
