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

``weight_format = "eie"`` is EIE's encoding instead (Han et al., ISCA 2016, Sec. III:
"For each column W_j ... we store a vector v that contains the non-zero weights, and
a second, equal-length vector z that encodes the number of zeros before the
corresponding entry in v ... If more than 15 zeros appear before a non-zero entry
we add a zero in vector v"; 4-bit z). Each PE stores, per column, its entries
(``index_bits`` of zero count z and ``weight_bits`` of value) and a column pointer
(``pointer_bits``; ``cols + 1`` pointers per PE that owns rows):

- zero runs restart at each column: z counts the zeros since the previous nonzero
  *of the same column* (or the column's first row);
- a run of z zeros before a nonzero needs ``z // 2**index_bits`` padding entries
  (a zero value after ``2**index_bits - 1`` zeros covers ``2**index_bits``
  positions: EIE's 4-bit z makes one every 16 positions);
- zeros after a column's last nonzero need no entry: the next pointer ends it.

>>> pe_column_entries(np.array([[1, 0, 0, 0, 0, -1]]).T, 1, 2, "eie")  # z = 4: one pad
(array([[2]]), array([[1]]))

>>> import numpy as np
>>> m = np.array([[1, 0, 0, 0, 0, -1]]).T      # one PE, rows 0..5, one column
>>> encoded_entries(m, n_pe=1, index_bits=2)   # gap 4 > 2 = max regular gap
(3, 1)
>>> encoded_bits(m, n_pe=1, index_bits=2)      # 3 entries x (2 + 1) bits
9
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "pe_column_entries",
    "encoded_entries",
    "encoded_bits",
    "dense_bits",
    "stored_bits",
    "stored_weight_bits",
    "pointer_bits",
]


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


def _eie_padding_cols(sub: np.ndarray, index_bits: int) -> np.ndarray:
    """Column of every padding entry of one PE's ``eie`` stream (runs restart per column)."""
    cols_of, rows_of = np.nonzero(sub.T)  # column-major order: by column, then row
    if cols_of.size == 0:
        return np.empty(0, dtype=np.int64)
    first = np.ones(cols_of.size, dtype=bool)
    first[1:] = cols_of[1:] != cols_of[:-1]
    prev = np.where(first, -1, np.concatenate(([-1], rows_of[:-1])))
    n_pad = (rows_of - prev - 1) >> index_bits
    return np.repeat(cols_of, n_pad)


def pe_column_entries(
    matrix: np.ndarray, n_pe: int, index_bits: int, scheme: str = "csc"
) -> tuple[np.ndarray, np.ndarray]:
    """Stored entries per PE per column: ``(real, padding)``, each int64 (n_pe, cols).

    ``matrix`` is the (rows, cols) ternary matrix of one layer; ``scheme`` is ``csc``
    (runs across columns, the module docstring) or ``eie`` (runs restart per column).

    >>> m = np.array([[1, 0], [0, 0], [0, 0], [0, 0], [0, -1], [0, 1]])
    >>> real, pad = pe_column_entries(m, n_pe=2, index_bits=1)
    >>> real.tolist(), pad.tolist()   # PE0: rows 0,2,4; PE1: rows 1,3,5
    ([[1, 1], [0, 1]], [[2, 2], [3, 2]])

    With ``index_bits=1`` each padding entry skips one zero. PE0 holds positions
    0..5 = (col 0: rows 0,2,4; col 1: rows 0,2,4); its nonzeros sit at 0 and 5, so
    positions 1..4 need four paddings, two in each column. PE1's only nonzero is
    at position 5: five paddings at 0..4, three in column 0 and two in column 1.

    >>> pe_column_entries(m, n_pe=2, index_bits=1, scheme="eie")[1].tolist()
    [[0, 1], [0, 1]]

    With ``eie`` the runs restart per column and a padding covers ``2**1 = 2``
    positions: PE0's column 1 has two zeros (rows 0, 2) before its nonzero at row 4,
    ``2 >> 1 = 1`` padding; so has PE1's column 1 (rows 1, 3 zero, row 5 nonzero);
    column 0 needs none (PE0's nonzero is its first row, PE1's column is empty).
    """
    matrix = np.asarray(matrix)
    cols = matrix.shape[1]
    real = np.zeros((n_pe, cols), dtype=np.int64)
    pad = np.zeros((n_pe, cols), dtype=np.int64)
    for p in range(min(n_pe, matrix.shape[0])):
        pos, rows_p = _pe_positions(matrix, n_pe, p)
        real[p] = np.bincount(pos // rows_p, minlength=cols)
        if scheme == "eie":
            pad_cols = _eie_padding_cols(matrix[p::n_pe], index_bits)
        else:
            pad_cols = _padding_positions(pos, index_bits) // rows_p
        pad[p] = np.bincount(pad_cols, minlength=cols)
    return real, pad


def encoded_entries(
    matrix: np.ndarray, n_pe: int, index_bits: int, scheme: str = "csc"
) -> tuple[int, int]:
    """``(entries, padding_entries)`` over all PEs; entries include the padding."""
    real, pad = pe_column_entries(matrix, n_pe, index_bits, scheme)
    n_pad = int(pad.sum())
    return int(real.sum()) + n_pad, n_pad


def encoded_bits(matrix: np.ndarray, n_pe: int, index_bits: int) -> int:
    """Bits of the ``csc`` encoding of one layer's weights (no scale).

    Kept for its callers; :func:`stored_weight_bits` is the definition for every
    ``weight_format``.
    """
    return encoded_entries(matrix, n_pe, index_bits)[0] * (index_bits + 1)


def dense_bits(matrix: np.ndarray, bits_per_weight: int) -> int:
    """Bits of a dense encoding: 1 (binary), 2 (ternary) or 32 (fp32) per weight."""
    return int(np.asarray(matrix).size) * bits_per_weight


def stored_bits(entries: int, rows: int, cols: int, config) -> int:
    """Stored weight bits of one layer on ``config``: the one definition.

    ``entries`` are the layer's stored entries over all PEs, padding included
    (:func:`encoded_entries` with the config's scheme; ignored by dense formats).

    - ``csc``: ``entries x (index_bits + 1)``;
    - ``eie``: ``entries x (index_bits + weight_bits)`` plus the column pointers,
      ``min(n_pe, rows) x (cols + 1) x pointer_bits`` (they live in the pointer SRAM);
    - ``dense-ternary`` / ``dense-binary``: ``rows x cols x 2`` / ``x 1``.

    Weights only: the layer's scale (and training's accounting of it) is not included.

    >>> from accelerators import HardwareConfig
    >>> stored_bits(10, 4, 3, HardwareConfig(index_bits=4))                 # 10 x 5
    50
    >>> stored_bits(10, 4, 3, HardwareConfig(weight_format="eie", n_pe=2,
    ...             index_bits=4, weight_bits=4, pointer_bits=16))          # 80 + 2 x 4 x 16
    208
    """
    fmt = config.weight_format
    if fmt == "csc":
        return entries * (config.index_bits + 1)
    if fmt == "eie":
        return entries * config.bits_per_entry + pointer_bits(rows, cols, config)
    return rows * cols * config.bits_per_entry


def pointer_bits(rows: int, cols: int, config) -> int:
    """Column-pointer bits of one ``eie`` layer over all PEs (0 for other formats)."""
    if config.weight_format != "eie":
        return 0
    return min(config.n_pe, rows) * (cols + 1) * config.pointer_bits


def stored_weight_bits(matrix: np.ndarray, config) -> int:
    """Stored weight bits of one layer's (rows, cols) ternary ``matrix`` on ``config``
    (see :func:`stored_bits`).

    >>> from accelerators import HardwareConfig
    >>> m = np.array([[1, 0, 0, 0, 0, -1]]).T
    >>> stored_weight_bits(m, HardwareConfig(n_pe=1, index_bits=2))   # 3 entries x 3
    9
    """
    matrix = np.asarray(matrix)
    matrix = matrix.reshape(matrix.shape[0], -1)
    rows, cols = matrix.shape
    if not config.sparse_format:
        return stored_bits(0, rows, cols, config)
    scheme = "eie" if config.weight_format == "eie" else "csc"
    entries, _ = encoded_entries(matrix, config.n_pe, config.index_bits, scheme)
    return stored_bits(entries, rows, cols, config)
