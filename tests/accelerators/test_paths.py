"""The windowed maxima of :mod:`accelerators.paths` and the period paths read from them,
against their definitions written out with plain loops (hypothesis)."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from accelerators.paths import Windows, aligned_paths, period_lengths, period_paths

COSTS = arrays(
    np.int64, st.tuples(st.integers(1, 5), st.integers(0, 40)), elements=st.integers(0, 6)
)


def _window(cost, s, seg_len):
    """The most cycles any PE spends on columns s .. min(s + L, m) - 1."""
    return int(cost[:, s : s + seg_len].sum(axis=1).max())


@settings(max_examples=150, deadline=None)
@given(COSTS)
def test_windows_are_their_definition(cost):
    win = Windows.of_costs(cost)
    m = cost.shape[1]
    assert win.m == m and win.table.shape == (len(period_lengths(m)), m)
    for s in range(m):
        assert win.cmax[s] == _window(cost, s, 1)
        assert win.suffix[s] == _window(cost, s, m)
        for seg_len in period_lengths(m):
            assert win.window(seg_len)[s] == _window(cost, s, seg_len)


@settings(max_examples=150, deadline=None)
@given(COSTS, st.integers(1, 9), st.integers(1, 4))
def test_period_paths_and_aligned_paths_are_their_sums(cost, depth, width):
    win, m = Windows.of_costs(cost), cost.shape[1]
    best, best_len = 0, m
    for seg_len in period_lengths(m):
        period = seg_len + depth - 1
        value = sum(
            max(1 + _window(cost, s, seg_len), min(period, m - s) // width)
            for s in range(0, m, period)
        )
        if value > best:
            best, best_len = value, seg_len
        aligned = sum(
            max(
                1 + max(_window(cost, s + o, seg_len) for o in range(depth) if s + o < m),
                min(period, m - s) / width,
            )
            for s in range(0, m, period)
        )
        assert aligned_paths(win, depth, width, seg_len) == pytest.approx(aligned)
    assert period_paths(win, depth, width) == (best, best_len)
