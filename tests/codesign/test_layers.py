"""TernaryLinear / TernaryConv2d: modes, reported counts, and the pruning mask through retraining."""

import pytest
import torch

from accelerators import InputError
from codesign.layers import TernaryConv2d, TernaryLinear


def _linear(mode="sparse-ternary"):
    layer = TernaryLinear(4, 2, mode=mode, threshold=0.5)
    with torch.no_grad():
        layer.weight.copy_(torch.tensor([[1.0, -0.25, 0.75, 0.0], [-1.0, 0.5, 0.25, 0.125]]))
    return layer


def test_linear_reports_its_counts():
    layer = _linear()
    assert layer.ternary_weight().tolist() == [[1, 0, 1, 0], [-1, 0, 0, 0]]
    assert layer.ternary_weight().dtype == torch.int8
    assert layer.nnz == 3
    assert layer.weight_shape == (2, 4)
    assert layer.scale == pytest.approx(2.75 / 3)
    layer(torch.ones(1, 4))
    assert layer.last_delta == 0.5


def test_forward_uses_scaled_ternary_weights():
    layer = _linear()
    x = torch.tensor([[1.0, 1.0, 1.0, 1.0]])
    s = 2.75 / 3
    assert layer(x).tolist()[0] == pytest.approx([2 * s, -s])


def test_modes():
    x = torch.tensor([[1.0, 2.0, 3.0, 4.0]])
    assert _linear("fp32")(x).tolist()[0] == pytest.approx([2.75, 1.25])
    binary = _linear("binary")
    assert binary.ternary_weight().tolist() == [[1, -1, 1, 1], [-1, 1, 1, 1]]
    assert binary.scale == pytest.approx(3.875 / 8)
    with pytest.raises(InputError, match="mode"):
        TernaryLinear(2, 2, mode="int4")


def test_conv_reports_shape_and_ternary_weights():
    conv = TernaryConv2d(3, 8, 3, mode="ternary")
    assert conv.weight_shape == (8, 3, 3, 3)
    assert conv(torch.zeros(2, 3, 6, 6)).shape == (2, 8, 4, 4)
    q = conv.ternary_weight()
    assert q.shape == (8, 3, 3, 3) and set(q.unique().tolist()) <= {-1, 0, 1}


def test_mask_is_a_persistent_buffer():
    layer = _linear()
    layer.prune_()
    state = layer.state_dict()
    assert state["mask"].tolist() == [[1, 0, 1, 0], [1, 0, 0, 0]]
    fresh = TernaryLinear(4, 2, threshold=0.5)
    fresh.load_state_dict(state)
    assert torch.equal(fresh.mask, layer.mask)


def test_masked_weights_stay_exactly_zero_through_retraining():
    torch.manual_seed(0)
    layer = TernaryLinear(16, 8, threshold=0.3)
    layer.prune_()
    pruned = layer.mask == 0
    assert pruned.any() and (~pruned).any()
    opt = torch.optim.Adam(layer.parameters(), lr=0.05)
    x, y = torch.randn(32, 16), torch.randn(32, 8)
    for _ in range(25):
        loss = ((layer(x) - y) ** 2).mean() + 0.01 * (layer.weight**2).sum()
        opt.zero_grad()
        loss.backward()
        assert (layer.weight.grad[pruned] == 0).all()  # no gradient reaches a pruned weight
        opt.step()
        assert (layer.weight[pruned] == 0).all()  # exactly 0 even before apply_mask_
        layer.apply_mask_()
    assert (layer.ternary_weight()[pruned] == 0).all()
