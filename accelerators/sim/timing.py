"""Exact timing of one tile (one matrix-vector product) through broadcast, FIFOs and PEs.

A tile is one output pixel of a layer: the broadcast scans the input vector and
pushes the columns it does not skip, in order, ``k = 1 .. m``, into every PE's
activation FIFO; each PE retires its entries of each column in order. Cycles
are integers and counted from the tile's start (cycle 0).

Timing rules (what :mod:`tests.accelerators.stepper` steps cycle by cycle):

1. **Broadcast**: at most ``w = broadcast_acts_per_cycle`` columns pushed per
   cycle, in order, each into all ``n_pe`` FIFOs at once. Zero activations are
   skipped at no cost by the leading-nonzero detector
   (only with ``zero_skip = weights+activations``; otherwise every column is
   pushed). A column can only be pushed when every FIFO has a free slot
   (back-pressure; the pushes of one cycle fill slots one after another) and, if
   the layer streams from DRAM, once its weights have arrived (``avail[j]``, see
   :mod:`accelerators.sim.blocks`).
2. **First-push latency**: a column pushed in cycle ``b`` is visible to the PEs
   from cycle ``b + 1``.
3. **PE**: PE ``p`` works on its FIFO's head column for ``cost[p, j] =
   ceil(work[p, j] / lanes_per_pe)`` cycles, retiring up to ``lanes_per_pe``
   entries per cycle (padding entries count like real ones). It starts a column in
   the first cycle the column is visible and the previous column is done.
4. **Empty column**: a column with no entries at a PE costs that PE 0 cycles: it
   is popped in the cycle it becomes the visible head, and the PE may start the
   next visible column in the same cycle (any number of empty columns per cycle).
5. **FIFO slot**: a column stays in its FIFO until the PE is done with it; its
   slot is free for a push in the cycle right after its last entries retire (for
   an empty column: the cycle it is popped). A push and a free in the same cycle
   are fine (the PEs act before the broadcast within a cycle).
6. **Tile end**: the cycle after the last entry of the last column retires at any
   PE, but no earlier than one cycle after the last push; 0 if nothing is pushed.

As a max-plus recurrence over pushed columns ``k`` (``D = fifo_depth``,
``e[p, 0] = 0``, ``E[k] = max_p e[p, k]``, ``E[k <= 0] = 0``, ``b[k <= 0] = -1``)::

    b[k]    = max(b[k-1], b[k-w] + 1, E[k-D], avail[j_k])   # push cycle
    s[p, k] = max(b[k] + 1, e[p, k-1])                 # start at PE p
    e[p, k] = s[p, k] + cost[p, j_k]                   # done (slot free from e)
    end     = E[m]

which :func:`tile_cycles` evaluates vectorized over PEs and over tiles with
different activation patterns (one Python step per column, never per MAC).
Hence with ``D = 1`` a tile takes exactly ``sum_k (1 + max_p cost[p, j_k])``
cycles whatever ``w``, and deeper FIFOs or a wider broadcast never add cycles
(every term is monotone).
"""

from __future__ import annotations

import numpy as np

__all__ = ["tile_cycles"]


def tile_cycles(
    cost: np.ndarray,
    fifo_depth: int,
    patterns: np.ndarray | None = None,
    avail: np.ndarray | None = None,
    width: int = 1,
) -> np.ndarray:
    """Cycles of each tile pattern, int64 (P,), by the recurrence in the module docstring.

    ``cost``: (n_pe, cols) cycles per PE per column. ``patterns``: (P, cols) bool,
    the columns pushed by each tile (``None``: one tile pushing every column).
    ``avail``: (cols,) the first cycle each column's weights are on chip (``None``:
    all resident). ``width``: columns the broadcast pushes per cycle at most.

    >>> cost = np.array([[2, 0, 1], [0, 0, 3]])
    >>> int(tile_cycles(cost, fifo_depth=1)[0])   # (1+2) + (1+0) + (1+3)
    8
    >>> int(tile_cycles(cost, fifo_depth=4)[0])   # PE1: pushes 0,1,2; works 3..5
    6
    >>> int(tile_cycles(np.zeros((2, 8), int), fifo_depth=8, width=4)[0])  # pushes in 0, 1
    2
    """
    cost_t = np.ascontiguousarray(cost.T, dtype=np.int64)
    n_cols, n_pe = cost_t.shape
    depth, width = int(fifo_depth), int(width)
    if patterns is None:
        return np.array([_one_tile(cost_t, depth, width, avail)], dtype=np.int64)
    return _many_tiles(cost_t, depth, width, np.asarray(patterns, dtype=bool), avail)


def _one_tile(cost_t: np.ndarray, depth: int, width: int, avail: np.ndarray | None) -> int:
    """Every column pushed: scalars for the broadcast, a (n_pe,) vector for the PEs."""
    n_cols, n_pe = cost_t.shape
    if n_cols == 0:
        return 0
    e = np.zeros(n_pe, dtype=np.int64)
    ring = [0] * depth  # E of the last `depth` pushed columns
    pushes = [-1] * width  # b of the last `width` pushed columns
    b = -1
    av = avail.tolist() if avail is not None else None
    maximum = np.maximum
    for j in range(n_cols):
        slot, lane = j % depth, j % width
        b = max(b, pushes[lane] + 1, ring[slot], av[j] if av is not None else 0)
        pushes[lane] = b
        e = maximum(e, b + 1)
        e += cost_t[j]
        ring[slot] = int(e.max())
    return ring[(n_cols - 1) % depth]


def _many_tiles(
    cost_t: np.ndarray, depth: int, width: int, patterns: np.ndarray, avail: np.ndarray | None
) -> np.ndarray:
    """Each tile its own pushed columns: state per tile, updated where the tile pushes."""
    n_tiles = patterns.shape[0]
    n_cols, n_pe = cost_t.shape
    e = np.zeros((n_tiles, n_pe), dtype=np.int64)
    ring = np.zeros((n_tiles, depth), dtype=np.int64)
    pushes = np.full((n_tiles, width), -1, dtype=np.int64)
    b = np.full(n_tiles, -1, dtype=np.int64)
    count = np.zeros(n_tiles, dtype=np.int64)
    last = np.zeros(n_tiles, dtype=np.int64)
    for j in range(n_cols):
        sel = np.flatnonzero(patterns[:, j])
        if sel.size == 0:
            continue
        slot, lane = count[sel] % depth, count[sel] % width
        bj = np.maximum(np.maximum(b[sel], pushes[sel, lane] + 1), ring[sel, slot])
        if avail is not None:
            bj = np.maximum(bj, avail[j])
        ej = np.maximum(e[sel], (bj + 1)[:, None]) + cost_t[j]
        e[sel] = ej
        emax = ej.max(axis=1)
        ring[sel, slot] = emax
        pushes[sel, lane] = bj
        last[sel] = emax
        b[sel] = bj
        count[sel] += 1
    return last
