"""The analytical model's path formulas, by hand on tiny layers, and as bounds (hypothesis).

Conventions of :mod:`accelerators.sim.timing`: a column pushed in cycle ``b`` is
visible from ``b + 1``; a FIFO ``D`` deep lets column ``k`` be pushed once every
PE is done with column ``k - D``; an empty column costs its PE nothing.
"""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from accelerators.analytical import (
    _PATH_K,
    aligned_paths,
    path_bound,
    path_estimate,
    path_k,
    path_paths,
    uniform_columns,
)
from accelerators.paths import Windows
from accelerators.sim.timing import tile_cycles

# 2 PEs x 3 columns. Exact, depth 2, one push per cycle:
#   col 0: pushed 0, PE0 works 1..2 (done 3), PE1 empty;      E0 = 3
#   col 1: pushed 1 (E[-1] = 0), both empty, popped at 2;      E1 = 3
#   col 2: pushed max(1 + 1, E0 = 3) = 3, PE0 4 (done 5), PE1 4..6 (done 7): 7 cycles
COST = np.array([[2, 0, 1], [0, 0, 3]])


def test_path_bound_by_hand_two_pes_three_columns():
    assert int(tile_cycles(COST, 2)[0]) == 7
    # L = 1, periods of 1 + (2 - 1) = 2 columns: {0, 1} worth 1 + 2 (PE0 on column 0, skip
    # column 1), {2} worth 1 + 3 (PE1): 7, the exact time. L = 2: {0, 1, 2} worth 1 + 2.
    assert path_bound(COST, 2) == 7
    # depth 1: L = 1 is the depth-1 time (1 + 2) + (1 + 0) + (1 + 3)
    assert path_bound(COST, 1) == 8 == int(tile_cycles(COST, 1)[0])
    # depth 4: periods of L + 3 hold every column, worth at most 1 + 3; the longest path
    # rides the broadcast over columns 0, 1 (2 cycles), then PE1 on column 2: 2 + 1 + 3
    assert path_bound(COST, 4) == 6 == int(tile_cycles(COST, 4)[0])


def test_path_bound_and_aligned_paths_by_hand_where_offsets_matter():
    cost = np.array([[0, 2, 0, 0], [0, 0, 0, 1]])
    # exact, depth 2: col 0 pushed 0 (E0 = 1); col 1 pushed 1, PE0 works 2..3 (E1 = 4);
    # col 2 pushed 2 (E0 = 1), E2 = 4; col 3 pushed at E1 = 4, PE1 works 5: 6 cycles
    assert int(tile_cycles(cost, 2)[0]) == 6
    # L = 1: periods {0, 1}, {2, 3} each worth max(1 + 0, 2 / 1) = 2: 4; L = 2: period
    # {0, 1, 2} worth 1 + 2 (PE0), {3} worth 1 + 1 (PE1): 5
    assert path_bound(cost, 2) == 5
    # aligned, L = 1: period {0, 1} at offset 1 worth 1 + 2, {2, 3} at offset 1 worth 1 + 1
    assert aligned_paths(Windows.of_costs(cost), 2, 1, 1) == 5.0
    bound, best, upper = path_paths(cost, 2)
    assert (bound, best, upper) == (5, 5.0, 4 + 2 + 1)


def test_path_bound_broadcast_width_by_hand():
    # 2 PEs x 8 empty columns, 4 pushed per cycle: pushes in cycles 0 and 1, done at 2
    zeros = np.zeros((2, 8), dtype=np.int64)
    assert path_bound(zeros, 8, 4) == 2 == int(tile_cycles(zeros, 8, width=4)[0])
    # one entry per column at PE (k mod 2), depth 1, 2 per cycle: the depth-1 time 8 + 8
    alt = np.array([[1, 0] * 4, [0, 1] * 4])
    assert path_bound(alt, 1, 2) == 16 == int(tile_cycles(alt, 1, width=2)[0])


def test_path_estimate_places_the_tile_between_its_paths():
    # depth 1: exact; deeper: R + K(D) (U - R) with R, U of path_paths
    assert path_estimate(COST, 1) == 8.0
    for depth in (2, 3, 4, 8, 16):
        _, best, upper = path_paths(COST, depth)
        assert path_estimate(COST, depth) == pytest.approx(best + path_k(depth) * (upper - best))


def test_path_k_interpolates_in_log_depth():
    assert path_k(1) == 0.0
    assert path_k(2) == pytest.approx(_PATH_K[2]) and path_k(64) == pytest.approx(_PATH_K[16])
    t = math.log2(6) - 2  # 6 lies at this fraction between 4 and 8 in log2
    assert path_k(6) == pytest.approx(_PATH_K[4] + t * (_PATH_K[8] - _PATH_K[4]))


@settings(max_examples=200, deadline=None)
@given(
    arrays(np.int64, st.tuples(st.integers(1, 6), st.integers(1, 40)), elements=st.integers(0, 4)),
    st.integers(1, 9),
    st.integers(1, 4),
)
def test_path_bound_never_exceeds_the_exact_time(cost, depth, width):
    exact = int(tile_cycles(cost, depth, width=width)[0])
    assert path_bound(cost, depth, width) <= exact <= cost.shape[1] + int(cost.max(axis=0).sum())


def test_uniform_columns_by_hand_and_exact():
    # no weight skipping: PE0 owns 3 rows, PE1 1 row, 1 lane, 4 columns, depth 2:
    # PE0 starts in cycle 1 and works 4 x 3 cycles without a gap: 13
    cost = np.array([[3] * 4, [1] * 4])
    assert uniform_columns(4, 3) == 13 == int(tile_cycles(cost, 2)[0])
    rng = np.random.default_rng(0)
    for _ in range(200):
        owned = rng.integers(0, 4, size=int(rng.integers(1, 5)))
        owned[0] = max(owned[0], 1)
        m, depth, width = int(rng.integers(1, 30)), int(rng.integers(2, 9)), int(rng.integers(1, 5))
        cost = np.repeat(owned[:, None], m, axis=1)
        exact = int(tile_cycles(cost, depth, width=width)[0])
        assert uniform_columns(m, int(owned.max())) == exact
