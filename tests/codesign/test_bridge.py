"""The bridge from a torch model to accelerators.LayerTensor."""

import numpy as np
import pytest
import torch

from codesign.bridge import ternary_layers
from codesign.layers import quant_layers
from codesign.models import build_model


def test_mlp_layers_names_weights_and_activation_density():
    torch.manual_seed(0)
    net = build_model("mlp", (1, 2, 2), 3, hidden_units=(5,), mode="ternary", threshold=0.3)
    x = torch.tensor([[[[1.0, 0.0], [0.0, 2.0]]], [[[0.0, 0.0], [0.0, 3.0]]]])
    layers = ternary_layers(net, x)
    assert [(lt.name, lt.kind, lt.weight.shape) for lt in layers] == [
        ("fc1", "linear", (5, 4)),
        ("fc2", "linear", (3, 5)),
    ]
    assert layers[0].act_density == pytest.approx(3 / 8)  # 3 nonzero of 8 inputs
    mods = dict(quant_layers(net))
    assert np.array_equal(layers[0].weight, mods["fc1"].ternary_weight().numpy())
    assert layers[0].scale == pytest.approx(mods["fc1"].scale)
    # density of fc2's input = nonzero fraction after fc1 -> bn1 -> relu, computed by hand
    net.eval()
    h = net.act1(net.bn1(net.fc1(net.flatten(x))))
    assert layers[1].act_density == pytest.approx(float((h != 0).float().mean()))
    assert all(lt.out_pixels == 1 for lt in layers)


def test_without_a_sample_density_is_one():
    net = build_model("mlp", (1, 2, 2), 3, hidden_units=(5,))
    assert [lt.act_density for lt in ternary_layers(net)] == [1.0, 1.0]


def test_cnv_out_pixels_and_padding():
    net = build_model("cnv", (1, 28, 28), 10, mode="ternary")
    layers = ternary_layers(net, torch.rand(2, 1, 28, 28))
    names = [lt.name for lt in layers]
    assert names == [f"conv{i}" for i in range(1, 7)] + ["fc1", "fc2", "fc3"]
    # 32 (padded) -> 30 -> 28 -> pool 14 -> 12 -> 10 -> pool 5 -> 3 -> 1
    assert [lt.out_pixels for lt in layers] == [900, 784, 144, 100, 9, 1, 1, 1, 1]
    assert [lt.kind for lt in layers[:6]] == ["conv2d"] * 6
    assert layers[0].weight.shape == (64, 1, 3, 3) and layers[6].weight.shape == (512, 256)
    assert layers[0].act_density == pytest.approx(784 / 1024)  # zero padding 28 -> 32
    assert layers[1].act_density < 1.0  # after ReLU
