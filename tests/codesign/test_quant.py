"""The quantizer ops: exact values on small tensors, straight-through gradients, invariants."""

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from accelerators import InputError
from codesign.quant import (
    binary_quantize,
    ternarize,
    ternary_quantize,
    ternary_threshold,
)


def test_max_rule_by_hand():
    w = torch.tensor([[0.5, -0.25], [1.0, 0.0625]])
    q, delta, scale = ternary_quantize(w, threshold=0.125)  # delta = 0.125 * 1.0
    assert delta == 0.125
    assert q.tolist() == [[1, -1], [1, 0]]
    assert q.dtype == torch.int8
    assert scale == pytest.approx((0.5 + 0.25 + 1.0) / 3)


def test_twn_rule_by_hand():
    w = torch.tensor([1.0, -0.5, 0.25, 0.25])  # mean|w| = 0.5, delta = 0.35
    q, delta, scale = ternary_quantize(w, rule="twn")
    assert delta == pytest.approx(0.35)
    assert q.tolist() == [1, -1, 0, 0]
    assert scale == 0.75


def test_mask_zeroes_entries_and_enters_statistics():
    w = torch.tensor([2.0, 1.0, -0.5, 0.25])
    mask = torch.tensor([0.0, 1.0, 1.0, 1.0])
    q, delta, scale = ternary_quantize(w, threshold=0.5, mask=mask)  # max over masked = 1.0
    assert delta == 0.5
    assert q.tolist() == [0, 1, 0, 0]
    assert scale == 1.0


def test_no_survivor_gives_zero_scale():
    q, _, scale = ternary_quantize(torch.zeros(3))
    assert q.tolist() == [0, 0, 0] and scale == 0.0


def test_binary_by_hand():
    q, scale = binary_quantize(torch.tensor([0.5, -0.25, 0.0, -1.0]))
    assert q.tolist() == [1, -1, 1, -1]
    assert scale == 0.4375


def test_unknown_rule():
    with pytest.raises(InputError, match="threshold_rule"):
        ternary_threshold(torch.ones(2), rule="median")


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.floats(-4, 4, allow_nan=False, width=32), min_size=1, max_size=40),
    st.floats(0.0, 0.95),
)
def test_ternary_invariants(values, t):
    w = torch.tensor(values)
    q, delta, scale = ternary_quantize(w, threshold=t)
    assert set(q.unique().tolist()) <= {-1, 0, 1}
    assert torch.equal(q != 0, w.abs() > delta)
    assert torch.equal(torch.sign(w)[q != 0].to(torch.int8), q[q != 0])
    if (q != 0).any():
        assert delta <= scale + 1e-6 and scale <= float(w.abs().max()) + 1e-6
    assert torch.equal(ternarize(w, delta), q)
