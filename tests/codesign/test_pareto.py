import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from codesign.study.pareto import front_order, non_dominated


def brute_force(points, maximize):
    pts = np.asarray(points, dtype=float) * np.where(maximize, -1.0, 1.0)
    n = len(pts)
    out = np.zeros(n, dtype=bool)
    for i in range(n):
        if np.isnan(pts[i]).any():
            continue
        dominated = False
        for j in range(n):
            if j != i and not np.isnan(pts[j]).any():
                if (pts[j] <= pts[i]).all() and (pts[j] < pts[i]).any():
                    dominated = True
                    break
        out[i] = not dominated
    return out


def test_accuracy_against_area_by_hand():
    # (accuracy, area): maximize accuracy, minimize area
    pts = [[0.90, 4.0], [0.85, 1.0], [0.88, 2.0], [0.80, 1.5], [0.90, 5.0], [0.85, 1.0]]
    # 3 is dominated by 1 (worse acc, more area); 4 by 0 (same acc, more area);
    # 5 duplicates 1 and stays on the front with it.
    assert non_dominated(np.array(pts), [True, False]).tolist() == [
        True, True, True, False, False, True,
    ]  # fmt: skip


def test_three_objectives_by_hand():
    pts = np.array([[1, 1, 1], [0, 2, 2], [2, 0, 2], [2, 2, 0], [1, 1, 2], [3, 3, 3]])
    # minimize all: the last two are dominated by the first
    assert non_dominated(pts, [False] * 3).tolist() == [True, True, True, True, False, False]


def test_nan_rows_are_never_on_the_front_and_do_not_dominate():
    pts = np.array([[np.nan, 0.0], [1.0, 1.0], [2.0, 2.0]])
    assert non_dominated(pts, [False, False]).tolist() == [False, True, False]


def test_empty_and_shape_errors():
    assert non_dominated(np.zeros((0, 2)), [True, False]).tolist() == []
    with pytest.raises(ValueError, match="n x 2"):
        non_dominated(np.zeros((3, 3)), [True, False])


def test_front_order_sorts_front_by_x():
    x = np.array([3.0, 1.0, 2.0, 0.5])
    assert front_order(x, np.array([True, True, False, True])).tolist() == [3, 1, 0]


@settings(max_examples=150, deadline=None)
@given(
    arrays(np.float64, st.tuples(st.integers(0, 40), st.integers(1, 3)),
           elements=st.sampled_from([0.0, 1.0, 2.0, 3.0, 2.5, np.nan])),
    st.lists(st.booleans(), min_size=3, max_size=3),
)  # fmt: skip
def test_matches_the_definition(points, maximize):
    maximize = maximize[: points.shape[1]]
    assert non_dominated(points, maximize).tolist() == brute_force(points, maximize).tolist()


@settings(max_examples=50, deadline=None)
@given(arrays(np.float64, st.tuples(st.integers(1, 30), st.just(2)),
              elements=st.floats(-1e6, 1e6, allow_nan=False)))  # fmt: skip
def test_front_is_nonempty_and_mutually_non_dominating(points):
    mask = non_dominated(points, [True, False])
    assert mask.any()
    front = points[mask]
    assert non_dominated(front, [True, False]).all()
