"""What one layer asks of the hardware: per-PE, per-column work, storage and patterns.

Shared by the SimPy model and the analytical model, so both see the same numbers.

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
  nonzero activations (:func:`accelerators.workload.act_mask`).
- ``readout_cycles``: ``ceil(ceil(rows / n_pe) / lanes_per_pe)`` per tile: each PE
  reads out, scales, activates and writes back ``lanes_per_pe`` accumulators per
  cycle, all PEs in parallel.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import networkx as nx
import numpy as np

from ..config import HardwareConfig
from ..tensors import LayerTensor
from ..workload import LayerStats, act_mask, layer_stats

__all__ = ["LayerPlan", "plan_layer", "rows_per_pe", "layer_counts"]


def rows_per_pe(rows: int, n_pe: int) -> np.ndarray:
    """Rows owned by each PE (``r % n_pe == p``), int64 (n_pe,)."""
    p = np.arange(n_pe)
    return np.where(p < rows, (rows - 1 - p) // n_pe + 1, 0).astype(np.int64)


@dataclass
class LayerPlan:
    tensor: LayerTensor
    cols: int  # matrix columns (input activations per tile)
    stats: LayerStats  # per-PE CSC statistics for (n_pe, index_bits)
    owned: np.ndarray  # (n_pe,) rows per PE
    lanes: int
    skip_weights: bool
    work_col: np.ndarray  # (cols,) entries retired per column, all PEs
    pad_col: np.ndarray  # (cols,) padding entries among them
    decodes_col: np.ndarray  # (cols,) CSC entries decoded per column (0 for dense formats)
    col_bits: np.ndarray  # (cols,) stored bits per column, all PEs
    pe_bits: np.ndarray  # (n_pe,) stored bits per PE
    patterns: np.ndarray | None  # (P, cols) bool pushed columns per tile; None = all
    readout_cycles: int

    @property
    def nnz_col(self) -> np.ndarray:
        return self.stats.nnz_col

    @property
    def tiles(self) -> int:
        return self.tensor.out_pixels

    @cached_property
    def work(self) -> np.ndarray:
        """(n_pe, cols) entries retired per PE per column."""
        if self.skip_weights:
            return self.stats.entries
        return np.repeat(self.owned[:, None], self.cols, axis=1)

    @cached_property
    def cost(self) -> np.ndarray:
        """(n_pe, cols) cycles per PE per column."""
        return -(-self.work // self.lanes)

    @cached_property
    def col_cost_max(self) -> np.ndarray:
        """(cols,) the slowest PE's cycles per column."""
        if self.skip_weights:
            return -(-self.stats.col_max // self.lanes)
        return np.full(self.cols, -(-int(self.owned.max()) // self.lanes), np.int64)

    @cached_property
    def pe_cost_all(self) -> np.ndarray:
        """(n_pe,) each PE's cycles over all columns (from the per-PE histogram)."""
        if self.skip_weights:
            width = self.stats.pe_hist.shape[1]
            return self.stats.pe_hist @ -(-np.arange(width, dtype=np.int64) // self.lanes)
        return -(-self.owned // self.lanes) * self.cols

    @property
    def pattern_repeats(self) -> np.ndarray:
        """How many tiles run each pattern."""
        if self.patterns is None:
            return np.array([self.tiles], dtype=np.int64)
        return np.ones(self.patterns.shape[0], dtype=np.int64)

    def pushed(self, per_col: np.ndarray) -> np.ndarray:
        """Sum of a per-column quantity over each pattern's pushed columns, (P,) or (P, k)."""
        if self.patterns is None:
            return per_col.sum(axis=0, keepdims=True)
        return _int_matmul(self.patterns_f64, per_col)

    @cached_property
    def patterns_f64(self) -> np.ndarray:
        return self.patterns.astype(np.float64)

    @cached_property
    def pe_cost_pushed(self) -> np.ndarray:
        """(P, n_pe) each PE's cycles over each pattern's pushed columns."""
        if self.patterns is None:
            return self.pe_cost_all[None, :]
        return _int_matmul(self.patterns_f64, self.cost.T)


def _int_matmul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Exact integer product through float64 BLAS (exact below 2**53)."""
    return np.rint(a.astype(np.float64) @ b.astype(np.float64)).astype(np.int64)


def plan_layer(g: nx.DiGraph, name: str, cfg: HardwareConfig, seed: int = 0) -> LayerPlan:
    lt = g.nodes[name]["tensor"]
    cols = lt.cols
    st = layer_stats(g, name, cfg.n_pe, cfg.index_bits)
    owned = rows_per_pe(lt.rows, cfg.n_pe)
    if cfg.skip_weights:
        work_col, pad_col = st.col_entries, st.col_padding
    else:
        work_col, pad_col = np.full(cols, lt.rows, np.int64), np.zeros(cols, np.int64)
    if cfg.weight_format == "csc":
        col_bits = st.col_entries * cfg.bits_per_entry
        pe_bits = st.pe_hist @ np.arange(st.pe_hist.shape[1]) * cfg.bits_per_entry
        decodes = st.col_entries
    else:
        col_bits = np.full(cols, lt.rows * cfg.bits_per_entry, dtype=np.int64)
        pe_bits = owned * cols * cfg.bits_per_entry
        decodes = np.zeros(cols, dtype=np.int64)
    return LayerPlan(
        tensor=lt,
        cols=cols,
        stats=st,
        owned=owned,
        lanes=cfg.lanes_per_pe,
        skip_weights=cfg.skip_weights,
        work_col=work_col,
        pad_col=pad_col,
        decodes_col=decodes,
        col_bits=col_bits,
        pe_bits=pe_bits.astype(np.int64),
        patterns=act_mask(g, name, seed) if cfg.skip_activations else None,
        readout_cycles=int(-(-int(owned.max()) // cfg.lanes_per_pe)),
    )


def layer_counts(plan: LayerPlan, cfg: HardwareConfig, resident: bool) -> tuple[dict, np.ndarray]:
    """Counted actions of one layer (all tiles) and per-PE busy cycles (n_pe,).

    - ``adds``: entries retired (padding included; every walked pair without weight
      skipping); ``useful_adds``: nonzero weights among them;
    - ``padding_entries``, ``index_decodes`` (CSC entries decoded, 0 for dense formats);
    - ``weight_sram_read_bits``: stored bits of every pushed column, per tile (resident
      layers); ``dram_read_bits``: all the layer's stored bits, per tile (streamed layers),
      in ``dram_transactions`` (one per tile);
    - ``act_sram_read_bits``: ``cols x act_bits`` per tile (the broadcast scans every
      activation); ``act_sram_write_bits``: ``rows x act_bits`` per tile;
    - ``broadcast_pushes``, ``fifo_pushes`` (= pushes x ``n_pe``), ``skipped_activations``;
    - ``readout_ops``: ``rows`` per tile.
    - busy cycles: cycles in which a PE retires at least one entry.
    """
    lt, reps, cols = plan.tensor, plan.pattern_repeats, plan.cols
    if plan.patterns is None:
        per_tile = plan.tiles
        mask_total = None
    else:
        mask_total = plan.patterns.sum(axis=0)  # tiles pushing each column

    def total(per_col: np.ndarray) -> int:
        if mask_total is None:
            return int(per_col.sum()) * per_tile
        return int(_int_matmul(mask_total, per_col))

    pushed = cols * plan.tiles if mask_total is None else int(mask_total.sum())
    counts = {
        "adds": total(plan.work_col),
        "useful_adds": total(plan.nnz_col),
        "padding_entries": total(plan.pad_col),
        "index_decodes": total(plan.decodes_col),
        "weight_sram_read_bits": total(plan.col_bits) if resident else 0,
        "dram_read_bits": 0 if resident else int(plan.col_bits.sum()) * plan.tiles,
        "dram_transactions": 0 if resident else plan.tiles,
        "act_sram_read_bits": cols * lt.out_pixels * cfg.act_bits,
        "act_sram_write_bits": lt.rows * lt.out_pixels * cfg.act_bits,
        "broadcast_pushes": pushed,
        "fifo_pushes": pushed * cfg.n_pe,
        "skipped_activations": cols * lt.out_pixels - pushed,
        "readout_ops": lt.rows * lt.out_pixels,
    }
    busy = reps @ plan.pe_cost_pushed
    return counts, busy
