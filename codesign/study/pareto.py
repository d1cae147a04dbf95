"""Non-dominated sorting, vectorized with numpy.

A point ``a`` dominates ``b`` when ``a`` is no worse than ``b`` in every
objective and strictly better in at least one. Points that no other point
dominates form the Pareto front; exact duplicates of a front point are on the
front too. Rows holding a NaN are never on the front.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["front_order", "non_dominated"]


def non_dominated(points: np.ndarray, maximize: Sequence[bool]) -> np.ndarray:
    """Boolean mask of the rows of ``points`` (n x k) that no other row dominates.

    Repeatedly takes a surviving point and drops every point it dominates; the
    loop runs once per front point, each pass is one vectorized comparison, so
    the cost is O(n x k x front size).

    >>> non_dominated(np.array([[1.0, 5.0], [2.0, 4.0], [2.0, 6.0], [1.0, 5.0]]), [True, False])
    array([False,  True, False, False])
    >>> non_dominated(np.array([[1, 5], [2, 4], [3, 3], [3, 3]]), [False, False]).tolist()
    [True, True, True, True]
    """
    pts = np.asarray(points, dtype=float)
    if pts.ndim != 2 or pts.shape[1] != len(maximize):
        raise ValueError(f"points must be n x {len(maximize)}, got shape {pts.shape}")
    signs = np.where(np.asarray(maximize, dtype=bool), -1.0, 1.0)
    mask = np.zeros(len(pts), dtype=bool)
    ok = ~np.isnan(pts).any(axis=1)
    idx = np.flatnonzero(ok)
    cand = pts[ok] * signs  # now every objective is minimized
    i = 0
    while i < len(cand):
        p = cand[i]
        keep = (cand < p).any(axis=1) | (cand == p).all(axis=1)
        idx, cand = idx[keep], cand[keep]
        i = int(keep[:i].sum()) + 1
    mask[idx] = True
    return mask


def front_order(x: np.ndarray, on_front: np.ndarray) -> np.ndarray:
    """Indices of the front points sorted by ``x`` (then by index): the order of its step line."""
    idx = np.flatnonzero(on_front)
    return idx[np.lexsort((idx, np.asarray(x)[idx]))]
