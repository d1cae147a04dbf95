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

import networkx as nx
import numpy as np

from ..config import HardwareConfig
from ..tensors import LayerTensor
from ..workload import act_mask, pe_entries

__all__ = ["LayerPlan", "plan_layer", "rows_per_pe", "layer_counts"]


def rows_per_pe(rows: int, n_pe: int) -> np.ndarray:
    """Rows owned by each PE (``r % n_pe == p``), int64 (n_pe,)."""
    p = np.arange(n_pe)
    return np.where(p < rows, (rows - 1 - p) // n_pe + 1, 0).astype(np.int64)


@dataclass
class LayerPlan:
    tensor: LayerTensor
    work: np.ndarray  # (n_pe, cols) entries retired per PE per column
    pad: np.ndarray  # (n_pe, cols) padding entries among them
    cost: np.ndarray  # (n_pe, cols) cycles per PE per column
    nnz_col: np.ndarray  # (cols,) nonzero weights per column
    decodes_col: np.ndarray  # (cols,) CSC entries decoded per column (0 for dense formats)
    col_bits: np.ndarray  # (cols,) stored bits per column, all PEs
    pe_bits: np.ndarray  # (n_pe,) stored bits per PE
    patterns: np.ndarray | None  # (P, cols) bool pushed columns per tile; None = all
    readout_cycles: int

    @property
    def tiles(self) -> int:
        return self.tensor.out_pixels

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
        return self.patterns.astype(per_col.dtype) @ per_col


def plan_layer(g: nx.DiGraph, name: str, cfg: HardwareConfig, seed: int = 0) -> LayerPlan:
    lt = g.nodes[name]["tensor"]
    real, pad = pe_entries(g, name, cfg.n_pe, cfg.index_bits)
    owned = rows_per_pe(lt.rows, cfg.n_pe)
    stored = real + pad
    if cfg.skip_weights:
        work = stored
    else:
        work = np.repeat(owned[:, None], lt.cols, axis=1)
        pad = np.zeros_like(work)
    lanes = cfg.lanes_per_pe
    cost = -(-work // lanes)
    if cfg.weight_format == "csc":
        col_bits = stored.sum(axis=0) * cfg.bits_per_entry
        pe_bits = stored.sum(axis=1) * cfg.bits_per_entry
        decodes = stored.sum(axis=0)
    else:
        col_bits = np.full(lt.cols, lt.rows * cfg.bits_per_entry, dtype=np.int64)
        pe_bits = owned * lt.cols * cfg.bits_per_entry
        decodes = np.zeros(lt.cols, dtype=np.int64)
    patterns = act_mask(g, name, seed) if cfg.skip_activations else None
    return LayerPlan(
        tensor=lt,
        work=work,
        pad=pad,
        cost=cost,
        nnz_col=np.count_nonzero(lt.matrix, axis=0).astype(np.int64),
        decodes_col=decodes.astype(np.int64),
        col_bits=col_bits.astype(np.int64),
        pe_bits=pe_bits.astype(np.int64),
        patterns=patterns,
        readout_cycles=int(-(-int(owned.max()) // lanes)),
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
    lt, reps = plan.tensor, plan.pattern_repeats

    def total(per_col: np.ndarray) -> int:
        return int(plan.pushed(per_col) @ reps)

    pushed = total(np.ones(lt.cols, dtype=np.int64))
    counts = {
        "adds": total(plan.work.sum(axis=0)),
        "useful_adds": total(plan.nnz_col),
        "padding_entries": total(plan.pad.sum(axis=0)),
        "index_decodes": total(plan.decodes_col),
        "weight_sram_read_bits": total(plan.col_bits) if resident else 0,
        "dram_read_bits": 0 if resident else int(plan.col_bits.sum()) * plan.tiles,
        "dram_transactions": 0 if resident else plan.tiles,
        "act_sram_read_bits": lt.cols * lt.out_pixels * cfg.act_bits,
        "act_sram_write_bits": lt.rows * lt.out_pixels * cfg.act_bits,
        "broadcast_pushes": pushed,
        "fifo_pushes": pushed * cfg.n_pe,
        "skipped_activations": lt.cols * lt.out_pixels - pushed,
        "readout_ops": lt.rows * lt.out_pixels,
    }
    busy = reps @ plan.pushed(plan.cost.T)
    return counts, busy
