"""The sparse ternary weight encoding the PEs store: one place, used by the
hardware models and by training's size accounting alike.

PE ``p`` of ``n_pe`` owns the rows ``r`` with ``r % n_pe == p``. Its rows form a
sub-matrix of ``rows_p`` rows, walked column by column (CSC order): position
``k = col * rows_p + local_row``. Each stored entry is ``index_bits + 1`` bits:
a relative index ``g`` and a sign bit.

- ``g`` in ``0 .. 2**index_bits - 2``: skip ``g`` zero positions, then a weight
  of the given sign (+1 or -1).
- ``g = 2**index_bits - 1`` (the largest code) is a *padding* entry: skip
  ``2**index_bits - 1`` zero positions and place nothing. A run of ``z`` zeros
  before a nonzero needs ``z // (2**index_bits - 1)`` padding entries; each is
  charged to the column that holds the last zero it covers.
- Zeros after a PE's last nonzero need no entry: the PE knows where the layer
  ends.

So a gap never needs a column pointer, and the stream is exact: the PE recovers
every position from the running sum of ``g + 1``.

>>> import numpy as np
>>> m = np.array([[1, 0, 0, 0, 0, -1]]).T      # one PE, rows 0..5, one column
>>> encoded_entries(m, n_pe=1, index_bits=2)   # gap 4 > 2 = max regular gap
(3, 1)
>>> encoded_bits(m, n_pe=1, index_bits=2)      # 3 entries x (2 + 1) bits
9
"""

from __future__ import annotations

import numpy as np

__all__ = ["pe_column_entries", "encoded_entries", "encoded_bits", "dense_bits"]


def _pe_positions(matrix: np.ndarray, n_pe: int, p: int) -> tuple[np.ndarray, int]:
    """Sorted CSC positions of PE ``p``'s nonzeros, and its row count."""
    sub = matrix[p::n_pe]
    return np.flatnonzero(sub.T), sub.shape[0]


def _padding_positions(pos: np.ndarray, index_bits: int) -> np.ndarray:
    """Positions of the padding entries a PE's stream needs (see module docstring)."""
    span = (1 << index_bits) - 1
    prev = np.concatenate(([-1], pos[:-1]))
    n_pad = (pos - prev - 1) // span
    if not n_pad.any():
        return np.empty(0, dtype=np.int64)
    starts = np.repeat(prev, n_pad)
    k = np.arange(n_pad.sum()) - np.repeat(np.cumsum(n_pad) - n_pad, n_pad) + 1
    return starts + k * span


def pe_column_entries(
    matrix: np.ndarray, n_pe: int, index_bits: int
) -> tuple[np.ndarray, np.ndarray]:
    """Stored entries per PE per column: ``(real, padding)``, each int64 (n_pe, cols).

    ``matrix`` is the (rows, cols) ternary matrix of one layer.

    >>> m = np.array([[1, 0], [0, 0], [0, 0], [0, 0], [0, -1], [0, 1]])
    >>> real, pad = pe_column_entries(m, n_pe=2, index_bits=1)
    >>> real.tolist(), pad.tolist()   # PE0: rows 0,2,4; PE1: rows 1,3,5
    ([[1, 1], [0, 1]], [[2, 2], [3, 2]])

    With ``index_bits=1`` each padding entry skips one zero. PE0 holds positions
    0..5 = (col 0: rows 0,2,4; col 1: rows 0,2,4); its nonzeros sit at 0 and 5, so
    positions 1..4 need four paddings, two in each column. PE1's only nonzero is
    at position 5: five paddings at 0..4, three in column 0 and two in column 1.
    """
    matrix = np.asarray(matrix)
    cols = matrix.shape[1]
    real = np.zeros((n_pe, cols), dtype=np.int64)
    pad = np.zeros((n_pe, cols), dtype=np.int64)
    for p in range(min(n_pe, matrix.shape[0])):
        pos, rows_p = _pe_positions(matrix, n_pe, p)
        real[p] = np.bincount(pos // rows_p, minlength=cols)
        pad[p] = np.bincount(_padding_positions(pos, index_bits) // rows_p, minlength=cols)
    return real, pad


def encoded_entries(matrix: np.ndarray, n_pe: int, index_bits: int) -> tuple[int, int]:
    """``(entries, padding_entries)`` over all PEs; entries include the padding."""
    matrix = np.asarray(matrix)
    nnz = int(np.count_nonzero(matrix))
    pad = 0
    for p in range(min(n_pe, matrix.shape[0])):
        pos, _ = _pe_positions(matrix, n_pe, p)
        span = (1 << index_bits) - 1
        pad += int(((np.diff(pos, prepend=-1) - 1) // span).sum())
    return nnz + pad, pad


def encoded_bits(matrix: np.ndarray, n_pe: int, index_bits: int) -> int:
    """Bits of the sparse encoding of one layer's weights (no scale)."""
    return encoded_entries(matrix, n_pe, index_bits)[0] * (index_bits + 1)


def dense_bits(matrix: np.ndarray, bits_per_weight: int) -> int:
    """Bits of a dense encoding: 1 (binary), 2 (ternary) or 32 (fp32) per weight."""
    return int(np.asarray(matrix).size) * bits_per_weight
