"""What one layer asks of the hardware: per-PE, per-column work, storage and patterns.

Shared by the SimPy model and the analytical model, so both see the same numbers.
A :class:`LayerPlan` computes its arrays on first use from the workload's cached
per-PE statistics (:func:`accelerators.stats.layer_stats`): the analytical model
mostly needs per-PE and per-column totals, the SimPy model the full ``cost`` matrix.

- ``work[p, j]``: entries PE ``p`` retires for input column ``j``. With weight
  skipping (``zero_skip`` = ``weights`` or ``weights+activations``) these are its
  stored CSC entries of column ``j``, real ones plus padding
  (:func:`accelerators.encoding.pe_column_entries`); without it (``zero_skip =
  none``, any ``weight_format``) the PE walks every owned (row, column) pair, so
  ``work[p, j]`` is the number of rows PE ``p`` owns (``r % n_pe == p``).
- ``cost[p, j] = ceil(work[p, j] / lanes_per_pe)`` cycles; a column with no work
  costs 0 cycles at that PE (see :mod:`accelerators.sim.timing`).
- ``col_bits[j]``: stored bits of column ``j`` over all PEs: entries x
  ``index_bits + 1`` for ``csc``; rows x 2 (``dense-ternary``) or x 1
  (``dense-binary``).
- ``patterns``: which columns the broadcast pushes for each output pixel. Without
  activation skipping (or with ``act_density`` 1) every column is pushed and all
  ``out_pixels`` tiles share one pattern; with it, each pixel has its own mask of
  nonzero activations (:func:`accelerators.stats.act_mask`).
- ``skip_empty_columns``: the plan covers the layer's live columns only (``cols``
  counts them; ``patterns`` and ``acts`` are restricted to them). The live-column
  mask (:mod:`accelerators.stats`; one bit per input column) is loaded with the
  network (it is in the stored bits) and kept beside the layer's input activations
  in the activation SRAM, where the broadcast reads it once per tile; it takes no
  weight SRAM and is not re-streamed with the weights of a streamed layer.
- ``readout_cycles``: ``ceil(ceil(rows / n_pe) / lanes_per_pe)`` per tile: each PE
  reads out, scales, activates and writes back ``lanes_per_pe`` accumulators per
  cycle, all PEs in parallel.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from functools import cached_property

import networkx as nx
import numpy as np

from ..config import HardwareConfig
from ..layer_cache import LayerCache
from ..stats import (
    LayerStats,
    act_mask,
    config_stats,
    layer_stored_bits,
    stats_group,
)
from ..tensors import LayerTensor

__all__ = ["LayerPlan", "plan_layer"]


def _ceil_div(a, b: int):
    return -(-a // b)


@functools.lru_cache(maxsize=256)
def _cycles_table(n: int, lanes: int) -> np.ndarray:
    """``ceil(v / lanes)`` for ``v = 0 .. n - 1`` (read-only; a pure function, memoized)."""
    table = _ceil_div(np.arange(n, dtype=np.int64), lanes)
    table.flags.writeable = False
    return table


def _int_matmul(a, b: np.ndarray, bound: float = math.inf) -> np.ndarray:
    """Exact product of non-negative integer arrays through float BLAS.

    ``bound``: an upper bound on every entry of the product. Below ``2**24`` the
    product runs in float32 (exact there, and 3-4x faster), else in float64
    (exact below ``2**53``). ``a`` may be a dict of ``a`` already converted, by dtype.

    >>> _int_matmul(np.array([[1, 0, 1]]), np.array([[2, 3], [5, 7], [11, 13]]), bound=100)
    array([[13, 16]])
    """
    dtype = np.float32 if bound < 2**24 else np.float64
    a = a[dtype] if isinstance(a, dict) else a.astype(dtype)
    return np.rint(a @ b.astype(dtype)).astype(np.int64)


@dataclass
class LayerPlan:
    """One layer on one config. Arrays are computed on first use and kept."""

    tensor: LayerTensor
    rows: int
    cols: int
    stats: LayerStats  # per-PE CSC statistics for (n_pe, index_bits)
    owned: np.ndarray  # (n_pe,) rows per PE
    cfg: HardwareConfig
    patterns: np.ndarray | None  # (P, cols) bool pushed columns per tile; None = all
    readout_cycles: int
    acts: np.ndarray | None = None  # (tiles, cols) bool nonzero activations; None = all
    cache: LayerCache | None = None  # the layer's workload cache (arrays kept across configs)
    seed: int = 0  # the seed of ``acts``

    @property
    def tiles(self) -> int:
        return self.tensor.out_pixels

    @property
    def lanes(self) -> int:
        return self.cfg.lanes_per_pe

    @property
    def skip_weights(self) -> bool:
        return self.cfg.skip_weights

    @property
    def nnz_col(self) -> np.ndarray:
        return self.stats.nnz_col

    # -- per column (cols,) ------------------------------------------------------
    @cached_property
    def slot_col(self) -> np.ndarray:
        """Entry slots per column, all PEs (:attr:`work` summed; the ideal bound's work)."""
        if self.skip_weights:
            return self.stats.col_slots
        return np.full(self.cols, self.rows, np.int64)

    @property
    def slot_total(self) -> int:
        """Entry slots over all columns and PEs (:attr:`slot_col` summed)."""
        return self.stats.total_slots if self.skip_weights else self.rows * self.cols

    @cached_property
    def col_bits(self) -> np.ndarray:
        """Stored weight bits per column, all PEs (entries or dense weights; no pointers)."""
        if self.cfg.sparse_format:
            return self.stats.col_entries * self.cfg.bits_per_entry
        return np.full(self.cols, self.rows * self.cfg.bits_per_entry, np.int64)

    @cached_property
    def stream_col_bits(self) -> np.ndarray:
        """Bits streamed per column from DRAM: :attr:`col_bits` plus, for ``eie``, one
        column pointer per PE that owns rows."""
        return self.col_bits + self.pointer_owners * self.cfg.pointer_bits

    @property
    def pointer_owners(self) -> int:
        """PEs that store column pointers (``eie``: those owning rows; else 0)."""
        return min(self.cfg.n_pe, self.rows) if self.cfg.weight_format == "eie" else 0

    @cached_property
    def stored_bits(self) -> int:
        """The layer's stored weight bits (:func:`accelerators.encoding.stored_bits`), and
        the live-column mask when empty columns are skipped."""
        return layer_stored_bits(self.stats, self.rows, self.cfg)

    @cached_property
    def col_cost_max(self) -> np.ndarray:
        """The slowest PE's cycles per column."""
        if self.skip_weights:
            return _ceil_div(self.stats.col_max, self.lanes)
        return np.full(self.cols, _ceil_div(int(self.owned.max()), self.lanes), np.int64)

    @property
    def cycles_of_entries(self) -> np.ndarray:
        """``ceil(v / lanes)`` for ``v = 0 .. max entries``: a PE's cycles on a column of ``v``."""
        return _cycles_table(self.stats.col_max_hist.shape[0], self.lanes)

    @cached_property
    def col_cost_max_sum(self) -> int:
        """``sum(col_cost_max)``, from the histogram of per-column maxima."""
        if self.skip_weights:
            return int(self.stats.col_max_hist @ self.cycles_of_entries)
        return self.cols * _ceil_div(int(self.owned[0]), self.lanes)

    # -- per PE ------------------------------------------------------------------
    @cached_property
    def pe_bits(self) -> np.ndarray:
        """(n_pe,) stored weight bits per PE (entries or dense weights; no pointers)."""
        if self.cfg.sparse_format:
            return self.stats.pe_entries * self.cfg.bits_per_entry
        return self.owned * self.cols * self.cfg.bits_per_entry

    @cached_property
    def pe_pointer_bits(self) -> np.ndarray:
        """(n_pe,) column-pointer bits per PE: ``cols + 1`` pointers for ``eie``."""
        if self.cfg.weight_format != "eie":
            return np.zeros_like(self.owned)
        return (self.owned > 0) * (self.cols + 1) * self.cfg.pointer_bits

    @cached_property
    def pe_cost_all(self) -> np.ndarray:
        """(n_pe,) each PE's cycles over all columns (from the per-PE histogram)."""
        if self.skip_weights and self.lanes == 1:
            return self.stats.pe_slots
        if self.skip_weights:  # pe_hist has a column per v = 0 .. max entries, as col_max_hist
            return self.stats.pe_hist @ self.cycles_of_entries
        return _ceil_div(self.owned, self.lanes) * self.cols

    @cached_property
    def pe_cost_max(self) -> int:
        """The busiest PE's cycles over all columns."""
        return int(self.pe_cost_all.max())

    @cached_property
    def pe_cost_mean(self) -> float:
        """Mean over PEs of :attr:`pe_cost_all` (cycles over all columns)."""
        return int(self.pe_cost_all.sum()) / self.owned.shape[0]

    # -- per PE per column (n_pe, cols) ----------------------------------------------
    @cached_property
    def work(self) -> np.ndarray:
        """Entry slots PE ``p`` spends on column ``j`` (``eie``: at least one for the
        pointer read; see :class:`accelerators.stats.LayerStats`)."""
        if self.skip_weights:
            return self.stats.slots
        return np.repeat(self.owned[:, None], self.cols, axis=1)

    @cached_property
    def cost(self) -> np.ndarray:
        """Cycles of PE ``p`` on column ``j``: ``(work - 1) // lanes + 1`` (0 for no work).

        Kept in ``work``'s dtype (int16 for the CSC statistics); a shift when
        ``lanes`` is a power of two.
        """
        lanes, work = self.lanes, self.work
        if lanes == 1:
            return work
        if lanes & (lanes - 1) == 0:
            return ((work - 1) >> (lanes.bit_length() - 1)) + 1
        return (work - 1) // lanes + 1

    # -- per pattern -------------------------------------------------------------------
    @property
    def pattern_repeats(self) -> np.ndarray:
        """How many tiles run each pattern."""
        if self.patterns is None:
            return np.array([self.tiles], dtype=np.int64)
        return np.ones(self.patterns.shape[0], dtype=np.int64)

    @cached_property
    def patterns_float(self) -> dict:
        """The patterns as float64 and float32 (for :func:`_int_matmul`), converted once
        (:meth:`kept`)."""
        return self.kept(
            "patterns_float",
            lambda: {dt: self.patterns.astype(dt) for dt in (np.float64, np.float32)},
        )

    def pushed(self, per_col: np.ndarray) -> np.ndarray:
        """Sum of a per-column quantity over each pattern's pushed columns, (P,) or (P, k)."""
        if self.patterns is None:
            return per_col.sum(axis=0, keepdims=True)
        return _int_matmul(self.patterns_float, per_col)

    @cached_property
    def pe_slots_max(self) -> int:
        """The busiest PE's entry slots over all columns."""
        if self.skip_weights:
            return int(self.stats.pe_slots.max(initial=0))
        return int(self.owned.max(initial=0)) * self.cols

    @cached_property
    def pe_slots_pushed(self) -> np.ndarray:
        """(P, n_pe) each PE's entry slots over each pattern's pushed columns (kept)."""
        if self.lanes == 1:
            return self.pe_cost_pushed  # one slot per cycle
        if self.patterns is None:
            per_pe = self.stats.pe_slots if self.skip_weights else self.owned * self.cols
            return np.asarray(per_pe, dtype=np.int64)[None, :]
        bound = self.cols * max(1, int(self.stats.col_max.max(initial=0)), int(self.owned.max()))
        return self.kept(
            "pe_slots_pushed", lambda: _int_matmul(self.patterns_float, self.work.T, bound=bound)
        )

    @cached_property
    def pe_cost_pushed(self) -> np.ndarray:
        """(P, n_pe) each PE's cycles over each pattern's pushed columns (kept in the
        workload cache: :meth:`kept`)."""
        if self.patterns is None:
            return self.pe_cost_all[None, :]
        per_column = -(-int(self.stats.col_max.max(initial=0)) // self.lanes)
        bound = self.cols * per_column
        return self.kept(
            "pe_cost_pushed", lambda: _int_matmul(self.patterns_float, self.cost.T, bound=bound)
        )

    def kept(self, name: str, make, *key):
        """``make()``, kept in the layer's workload cache (when the plan has one) under
        ``name``, ``key`` and all a plan's per-PE costs and patterns depend on: the
        statistics' group (:func:`accelerators.stats.stats_group`), ``lanes``, weight skipping and the
        seed of the activation patterns. Only for what depends on nothing else (not
        the FIFO depth, the broadcast width, the memories or the bits per entry).
        Arrays come back read-only: they are shared by every plan that asks."""
        if self.cache is None:
            return make()
        cfg = self.cfg

        def read_only():
            value = make()
            if isinstance(value, np.ndarray):
                value.flags.writeable = False
            return value

        key = (name, self.lanes, self.skip_weights, self.seed, *key)
        return self.cache.get(stats_group(cfg), key, read_only)


def plan_layer(g: nx.DiGraph, name: str, cfg: HardwareConfig, seed: int = 0) -> LayerPlan:
    """The :class:`LayerPlan` of layer ``name`` on ``cfg``."""
    lt = g.nodes[name]["tensor"]
    st = config_stats(g, name, cfg)
    owned = st.owned
    acts = act_mask(g, name, seed)
    if acts is not None and cfg.skip_empty_columns:
        key = ("live_acts", seed)
        acts = g.nodes[name]["cache"].get(stats_group(cfg), key, lambda: acts[:, st.live_cols])
    return LayerPlan(
        tensor=lt,
        rows=int(lt.rows),
        cols=st.cols,
        stats=st,
        owned=owned,
        cfg=cfg,
        patterns=acts if cfg.skip_activations else None,
        readout_cycles=_ceil_div(int(owned[0]), cfg.lanes_per_pe),
        acts=acts,
        cache=g.nodes[name]["cache"],
        seed=seed,
    )
