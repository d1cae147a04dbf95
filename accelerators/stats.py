"""Per-layer statistics the hardware models read from a workload, cached on its graph.

:func:`pe_entries` (stored entries per PE per column), :func:`layer_stats`
(their totals and histograms) and :func:`act_mask` (which input activations are
nonzero) are computed once per layer and parameters and kept in the layer
node's ``cache`` (:mod:`accelerators.workload` builds the graph).

With ``live=True`` (``HardwareConfig.skip_empty_columns``) the statistics are
those of the layer's *live* columns only (:func:`live_columns`: input columns
with at least one nonzero weight), in their order: the compiler drops the
empty ones from the stream and the broadcast, so the PEs' positions (and hence
the padding) run over live columns only. The layer then also stores its
live-column mask, one bit per input column (:attr:`LayerStats.mask_bits`; where
it lives and when it is read: :mod:`accelerators.sim.plan`).

>>> from accelerators import workload_from_tensors, LayerTensor
>>> w = np.array([[1, 0, 0, 0, 0, -1], [0, 0, 0, 0, 0, 1]])   # columns 1-4 empty
>>> g = workload_from_tensors([LayerTensor("fc", w)])
>>> layer_stats(g, "fc", 1, 2).total_padding       # 9 zeros between 1 and -1: 9 // 3
3
>>> st = layer_stats(g, "fc", 1, 2, live=True)              # positions over columns 0, 5
>>> st.live_cols.tolist(), st.total_padding, st.mask_bits
([0, 5], 0, 6)
"""

from __future__ import annotations

from dataclasses import dataclass

import networkx as nx
import numpy as np

from .encoding import pe_column_entries, stored_bits

__all__ = [
    "LayerStats",
    "act_mask",
    "config_stats",
    "layer_stats",
    "live_columns",
    "layer_stored_bits",
    "pe_entries",
    "stats_group",
    "stats_scheme",
]


def stats_scheme(cfg) -> str:
    """Which entry statistics a config needs: ``eie`` for that format, else ``csc``
    (dense formats use only their nonzero counts)."""
    return "eie" if cfg.weight_format == "eie" else "csc"


def stats_group(cfg) -> tuple[int, int, str, bool]:
    """The hardware settings a layer's statistics depend on: the cache group of
    :func:`config_stats` (and of every array derived from them)."""
    return (cfg.n_pe, cfg.index_bits, stats_scheme(cfg), bool(cfg.skip_empty_columns))


def config_stats(g: nx.DiGraph, name: str, cfg) -> LayerStats:
    """:func:`layer_stats` of layer ``name`` for the settings of ``cfg``."""
    return layer_stats(g, name, *stats_group(cfg))


def layer_stored_bits(st: LayerStats, rows: int, cfg) -> int:
    """A layer's stored weight bits on ``cfg`` from its statistics: the stream
    (:func:`accelerators.encoding.stored_bits` over the covered columns) plus the
    live-column mask when empty columns are skipped."""
    return stored_bits(st.total_entries, rows, st.cols, cfg) + st.mask_bits


def live_columns(g: nx.DiGraph, name: str) -> np.ndarray:
    """Indices of the layer's input columns with at least one nonzero weight, cached."""
    lt = g.nodes[name]["tensor"]
    return g.nodes[name]["cache"].get(
        ("live",), "cols", lambda: np.flatnonzero(np.count_nonzero(lt.matrix, axis=0))
    )


def _matrix(g: nx.DiGraph, name: str, live: bool) -> np.ndarray:
    m = g.nodes[name]["tensor"].matrix
    return m[:, live_columns(g, name)] if live else m


def pe_entries(
    g: nx.DiGraph, name: str, n_pe: int, index_bits: int, scheme: str = "csc", live: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """``(real, padding)`` stored entries per PE per column, (n_pe, cols) int64, cached.

    ``scheme``: ``csc`` or ``eie`` (:func:`accelerators.encoding.pe_column_entries`);
    ``live``: over the live columns only (module docstring).
    """
    return g.nodes[name]["cache"].get(
        (n_pe, index_bits, scheme, live),
        "entries",
        lambda: pe_column_entries(_matrix(g, name, live), n_pe, index_bits, scheme),
    )


@dataclass(frozen=True)
class LayerStats:
    """Per-PE statistics of a layer's stored stream for one ``(n_pe, index_bits, scheme)``.

    ``entries`` (n_pe, cols): stored entries (real + padding) per PE per column;
    ``slots`` (n_pe, cols): the entry slots a PE spends on each column when it skips
    zero weights, in int16 when they fit (int32 otherwise: the per-PE, per-column
    matrices are the models' biggest arrays; sums over them come out int64). For
    ``csc`` the slots are the entries (an empty column costs nothing); for ``eie``
    a PE that owns rows spends at least one slot on every column, the cycle of its
    two pointer reads (Han et al., ISCA 2016, Sec. IV, "Pointer Read Unit": both
    pointers p_j, p_j+1 are read in one cycle), so an empty column costs one.
    ``padding`` (n_pe, cols) the padding among the entries; ``col_entries``,
    ``col_padding``, ``col_slots`` (cols,): column sums of the entries, padding and
    slots (int64); ``col_max`` (cols,) the largest
    PE's slots per column; ``pe_hist`` (n_pe, v_max + 1): how many columns give PE
    ``p`` exactly ``v`` slots; ``nnz_col`` (cols,): nonzero weights per column;
    ``pe_entries`` (n_pe,) stored entries per PE, ``pe_slots`` (n_pe,) slots per
    PE, and the totals ``total_entries``, ``total_padding``, ``total_slots``, ``nnz``.
    ``live_cols`` (cols,): the input columns the statistics cover (all of them unless
    empty columns are skipped); ``mask_bits``: the live-column mask's stored bits (one
    per input column when empty columns are skipped, else 0).
    """

    entries: np.ndarray
    slots: np.ndarray
    padding: np.ndarray
    col_entries: np.ndarray
    col_padding: np.ndarray
    col_slots: np.ndarray
    col_max: np.ndarray
    pe_hist: np.ndarray
    nnz_col: np.ndarray
    pe_entries: np.ndarray  # (n_pe,) stored entries per PE
    pe_slots: np.ndarray  # (n_pe,) slots per PE over all columns
    owned: np.ndarray  # (n_pe,) rows per PE (r % n_pe == p)
    col_max_hist: np.ndarray  # (v_max + 1,) how many columns have col_max == v
    total_entries: int
    total_padding: int
    total_slots: int
    nnz: int
    live_cols: np.ndarray
    mask_bits: int

    @property
    def cols(self) -> int:
        """Columns the stream covers (the live ones when empty columns are skipped)."""
        return int(self.live_cols.shape[0])


def layer_stats(
    g: nx.DiGraph, name: str, n_pe: int, index_bits: int, scheme: str = "csc", live: bool = False
) -> LayerStats:
    """The :class:`LayerStats` of layer ``name``, computed once per ``(n_pe, index_bits,
    scheme, live)``."""
    return g.nodes[name]["cache"].get(
        (n_pe, index_bits, scheme, live),
        "stats",
        lambda: _stats(g, name, n_pe, index_bits, scheme, live),
    )


def _stats(
    g: nx.DiGraph, name: str, n_pe: int, index_bits: int, scheme: str, live: bool
) -> LayerStats:
    """:func:`layer_stats` computed (not looked up)."""
    lt = g.nodes[name]["tensor"]
    real, pad = pe_entries(g, name, n_pe, index_bits, scheme, live)
    owned = np.bincount(np.arange(lt.rows) % n_pe, minlength=n_pe)
    entries = real + pad
    slots = entries
    if scheme == "eie":
        slots = np.where(owned[:, None] > 0, np.maximum(entries, 1), 0)
    small = slots.size == 0 or int(slots.max()) < 2**15
    slots = slots.astype(np.int16 if small else np.int32)
    width = int(slots.max()) + 1 if slots.size else 1
    flat = (np.arange(n_pe)[:, None] * width + slots).ravel()
    hist = np.bincount(flat, minlength=n_pe * width).reshape(n_pe, width)
    per_pe = entries.sum(axis=1)
    pe_slots = slots.sum(axis=1, dtype=np.int64)
    return LayerStats(
        entries=entries,
        slots=slots,
        padding=pad,
        col_entries=entries.sum(axis=0),
        col_padding=pad.sum(axis=0),
        col_slots=slots.sum(axis=0, dtype=np.int64),
        col_max=slots.max(axis=0),
        pe_hist=hist,
        nnz_col=np.count_nonzero(_matrix(g, name, live), axis=0).astype(np.int64),
        pe_entries=per_pe,
        pe_slots=pe_slots,
        col_max_hist=np.bincount(slots.max(axis=0, initial=0), minlength=width),
        owned=owned,
        total_entries=int(per_pe.sum()),
        total_padding=int(pad.sum()),
        total_slots=int(pe_slots.sum()),
        nnz=lt.nnz,
        live_cols=live_columns(g, name) if live else np.arange(lt.cols),
        mask_bits=lt.cols if live else 0,
    )


def act_mask(g: nx.DiGraph, name: str, seed: int = 0) -> np.ndarray | None:
    """Nonzero input activations of each output pixel, bool (out_pixels, cols), cached.

    ``None`` when the layer's ``act_density`` is 1 (every activation nonzero).
    Otherwise each pixel has exactly ``max(1, round(act_density * cols))`` nonzero
    activations at random places (drawn from ``seed`` and the layer's index).
    """
    lt = g.nodes[name]["tensor"]
    if lt.act_density >= 1.0:
        return None

    def make() -> np.ndarray:
        rng = np.random.default_rng([seed, g.nodes[name]["index"]])
        k = max(1, int(round(lt.act_density * lt.cols)))
        order = np.argsort(rng.random((lt.out_pixels, lt.cols)), axis=1)
        mask = np.zeros((lt.out_pixels, lt.cols), dtype=bool)
        np.put_along_axis(mask, order[:, :k], True, axis=1)
        return mask

    return g.nodes[name]["cache"].get(("act_mask", seed), "mask", make)
