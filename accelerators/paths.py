"""Windowed maxima of per-PE work, and the period paths of :mod:`accelerators.analytical`
read from them (vectorized numpy).

For a tile pushing ``m`` columns with ``c[p, k]`` PE ``p``'s cycles on pushed column
``k``, the path formulas only ever ask one thing of the costs: the most cycles any
PE spends on the ``L`` columns from column ``s`` (clipped at ``m``),

    ``W_L[s] = max_p sum_{s <= k < min(s + L, m)} c[p, k]``    (cycles, int64 (m,)),

for ``L`` in 1, 2, 4, ... below ``m`` and for ``L >= m`` (the suffix: a PE from
``s`` to its last column). None of them depends on the FIFO depth or the broadcast
width, so a layer's :class:`Windows` are computed once (by doubling: the window sums
of ``2 L`` are two of ``L``, one pass each) and kept; each config then reads strided
slices of them, ``O(m)`` per path family instead of ``O(m n_pe)``.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

__all__ = ["Windows", "aligned_paths", "period_lengths", "period_paths", "ride_then_work"]


def period_lengths(m: int) -> list[int]:
    """Segment lengths ``L`` of the period paths: 1, 2, 4, 8, ... below ``m``.

    >>> period_lengths(13)
    [1, 2, 4, 8]
    """
    out, k = [], 1
    while k < m:
        out.append(k)
        k *= 2
    return out


def _sum_dtype(total: int | None):
    """The narrowest signed integer dtype that holds per-PE sums up to ``total`` cycles."""
    if total is None or total >= 2**31:
        return np.int64
    return np.int16 if total < 2**15 else np.int32


@dataclass(frozen=True)
class Windows:
    """The windowed maxima of one tile's costs (module docstring), cycles, int64.

    ``m``: pushed columns; ``table`` (len(period_lengths(m)), m): ``W_L`` of each
    ``L`` of :func:`period_lengths`, a row each; ``cmax`` (m,): ``W_1``, the slowest
    PE's cycles per column; ``suffix`` (m,): ``W_L`` for ``L >= m``, the most cycles
    any PE spends from column ``s`` to the end.
    """

    m: int
    table: np.ndarray
    cmax: np.ndarray
    suffix: np.ndarray

    def window(self, seg_len: int) -> np.ndarray:
        """``W_L`` for ``L = seg_len``, one of :func:`period_lengths`."""
        return self.table[seg_len.bit_length() - 1]

    @classmethod
    def of_costs(cls, cost: np.ndarray, total: int | None = None) -> Windows:
        """From ``cost`` (n_pe, m: cycles per PE per pushed column); ``total``: the
        largest per-PE sum if known (the window sums are then kept narrow).

        >>> w = Windows.of_costs(np.array([[2, 0, 1], [0, 0, 3]]))
        >>> w.table.tolist(), w.suffix.tolist()
        ([[2, 0, 3], [2, 3, 3]], [3, 3, 3])
        """
        m = cost.shape[1]
        if total is None and cost.size:
            total = int(cost.sum(axis=1, dtype=np.int64).max())
        sums = np.array(cost, dtype=_sum_dtype(total), order="C")
        rows = [_pe_max(sums)]
        for length in period_lengths(m):  # window sums of 2 L, clipped at m
            sums[:, : m - length] += sums[:, length:]
            rows.append(_pe_max(sums))
        table = np.stack(rows[:-1]) if m > 1 else np.zeros((0, m), dtype=np.int64)
        return cls(m, table, rows[0], rows[-1])


def _pe_max(sums: np.ndarray) -> np.ndarray:
    """Per column, the largest PE's sum, int64 (0 for no PEs)."""
    if sums.shape[0] == 0:
        return np.zeros(sums.shape[1], dtype=np.int64)
    return sums.max(axis=0).astype(np.int64)


def _period_sum(seg: np.ndarray, m: int, period: int, width: int) -> float:
    """``sum over periods of max(1 + seg, span / w)`` (cycles, a real number); every
    period spans ``period`` columns but the last, which ends at column ``m``."""
    n = -(-m // period)
    last = m - (n - 1) * period
    value = np.maximum(seg[: n - 1] + 1, period / width).sum() + max(
        int(seg[n - 1]) + 1, last / width
    )
    return float(value)


@functools.lru_cache(maxsize=256)
def _ladder(m: int, depth: int, width: int) -> tuple[list[int], np.ndarray, ...]:
    """Where the period paths of :func:`period_paths` read ``Windows.table``, flat over
    every ``L`` and period: ``(lengths, each L's first period, flat index into the
    table (row L, column: the period's start), floor(span / w) - 1)``, ``span`` the
    period's columns (``P``, the last one's up to ``m``); a pure function of ``m``,
    ``D`` and ``w``, memoized; the arrays are read-only."""
    lengths = period_lengths(m)
    periods = np.array(lengths, dtype=np.int64) + (depth - 1)
    counts = -(-m // periods)  # periods per L
    first = np.cumsum(counts) - counts
    step = np.repeat(periods, counts)
    starts = (np.arange(int(counts.sum())) - np.repeat(first, counts)) * step
    flat = np.repeat(np.arange(len(lengths)), counts) * m + starts
    ride = np.minimum(step, m - starts) // width - 1
    for a in (first, flat, ride, counts):
        a.flags.writeable = False
    return lengths, first, flat, ride, counts


def period_paths(win: Windows, depth: int, width: int) -> tuple[int, int]:
    """``(longest period path, its L)`` over the ladder of :func:`period_lengths`
    (``(0, m)`` when ``m`` is 1 or less): periods of ``P = L + D - 1`` columns from
    column 0, each worth ``max(1 + W_L[period start], floor(span / w))`` (``span``:
    ``P``, or for the last period its columns up to ``m``). Every ``L`` in one pass.

    >>> period_paths(Windows.of_costs(np.array([[2, 0, 1], [0, 0, 3]])), 2, 1)
    (7, 1)
    """
    if win.m <= 1:
        return 0, win.m
    lengths, first, flat, ride, counts = _ladder(win.m, depth, width)
    # sum of max(1 + W, floor(span / w)) = periods + sum of max(W, floor(span / w) - 1)
    values = np.add.reduceat(np.maximum(win.table.take(flat), ride), first) + counts
    best = int(np.argmax(values))  # the first of the longest, as a strict > scan
    return int(values[best]), lengths[best]


def ride_then_work(win: Windows, width: int) -> int:
    """The broadcast alone, or the broadcast up to column ``k`` then one PE from ``k`` to
    its last column: ``max(ceil(m / w), 1 + max over k of floor(k / w) + suffix[k])``."""
    ride = _broadcast_cycles(win.m, width) + win.suffix
    return max(-(-win.m // width), 1 + int(ride.max()))


@functools.lru_cache(maxsize=256)
def _broadcast_cycles(m: int, width: int) -> np.ndarray:
    """``floor(k / w)`` for ``k = 0 .. m - 1``, int64 (memoized, read-only)."""
    out = np.arange(m, dtype=np.int64) // width
    out.flags.writeable = False
    return out


@functools.lru_cache(maxsize=256)
def _aligned_index(m: int, depth: int, seg_len: int) -> np.ndarray:
    """(D, periods) the columns ``s + o`` (``o < D``) of each period's segment starts
    for :func:`aligned_paths`, those past the last column clipped to it (it is then
    one of the same period's starts: no maximum changes); memoized, read-only."""
    period = seg_len + depth - 1
    starts = np.arange(depth)[:, None] + np.arange(0, m, period)[None, :]
    index = np.minimum(starts, m - 1)
    index.flags.writeable = False
    return index


def aligned_paths(win: Windows, depth: int, width: int, seg_len: int) -> float:
    """The period paths of length ``L = seg_len`` with each period's segment at its best
    alignment: ``sum over periods of max(1 + max over p and o < D of (p's cycles on
    columns s + o .. s + o + L - 1), P / w)``, i.e. of ``max(1 + max_o W_L[s + o], P / w)``.

    A PE switch costs ``D - 1`` skipped columns, but the longest path places them
    where the work is light: in each period it may skip ``o`` columns before its
    segment and ``D - 1 - o`` after. Choosing ``o`` per period is exact only when
    the offsets never decrease from one period to the next (the skip between two
    segments is then ``>= D - 1``), so this is an estimate, not a bound.

    >>> win = Windows.of_costs(np.array([[0, 2, 0, 0], [0, 0, 0, 1]]))
    >>> aligned_paths(win, 2, 1, 1)   # periods {0, 1}: 1 + 2 at o = 1; {2, 3}: 1 + 1 at o = 1
    5.0
    """
    seg = win.window(seg_len)[_aligned_index(win.m, depth, seg_len)].max(axis=0)
    return _period_sum(seg, win.m, seg_len + depth - 1, width)
