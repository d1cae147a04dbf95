"""The small ``cnn`` model: shapes, the bridge's out_pixels, training, the sweep and the CLI."""

import json

import numpy as np
import pytest
import torch

from accelerators import HardwareConfig, InputError, simulate, workload_from_tensors
from codesign.bridge import ternary_layers
from codesign.cli.main import main
from codesign.layers import quant_layers
from codesign.models import CNN_CONV, CNN_FC, MODELS, build_model
from codesign.sweep import parse_spec
from codesign.training import TrainConfig, train


def test_cnn_is_a_model_with_default_widths():
    assert "cnn" in MODELS and CNN_CONV == (16, 32) and CNN_FC == 128
    net = build_model("cnn", (1, 28, 28), 10)
    shapes = [(n, tuple(m.weight.shape)) for n, m in quant_layers(net)]
    # 28 -> 26 -> 24 -> pool 12: fc1 sees 32 * 12 * 12 = 4608 inputs
    assert shapes == [
        ("conv1", (16, 1, 3, 3)),
        ("conv2", (32, 16, 3, 3)),
        ("fc1", (128, 4608)),
        ("fc2", (10, 128)),
    ]
    assert net(torch.zeros(3, 1, 28, 28)).shape == (3, 10)


def test_cnn_widths_from_hidden_units_and_bridge_out_pixels():
    torch.manual_seed(0)
    net = build_model("cnn", (3, 12, 12), 4, hidden_units=(5, 6, 7), mode="ternary")
    x = torch.rand(2, 3, 12, 12)
    assert net(x).shape == (2, 4)
    layers = ternary_layers(net, x)
    # 12 -> 10 -> 8 -> 6 -> pool 3: fc1 has 7 * 3 * 3 = 63 inputs
    got = [(lt.name, lt.kind, lt.weight.shape, lt.out_pixels) for lt in layers]
    assert got == [
        ("conv1", "conv2d", (5, 3, 3, 3), 100),
        ("conv2", "conv2d", (6, 5, 3, 3), 64),
        ("conv3", "conv2d", (7, 6, 3, 3), 36),
        ("fc1", "linear", (128, 63), 1),
        ("fc2", "linear", (4, 128), 1),
    ]
    assert layers[0].act_density == pytest.approx(1.0)  # torch.rand has no zeros
    # the accelerator accepts the flatten (63 = 7 channels x 9 pooled pixels <= 36 pixels)
    rep = simulate(workload_from_tensors(layers), HardwareConfig(n_pe=2), fidelity="analytical")
    assert [lay.out_pixels for lay in rep.layers] == [100, 64, 36, 1, 1]


def test_cnn_refuses_inputs_too_small_for_its_convs():
    build_model("cnn", (1, 6, 6), 10, hidden_units=(2, 2))  # 6 -> 4 -> 2 -> pool 1
    with pytest.raises(InputError, match="at least 6x6"):
        build_model("cnn", (1, 5, 5), 10, hidden_units=(2, 2))


def test_one_train_step_moves_conv_weights():
    torch.manual_seed(0)
    net = build_model("cnn", (1, 8, 8), 3, hidden_units=(2, 3))
    before = net.conv1.weight.detach().clone()
    opt = torch.optim.SGD(net.parameters(), lr=0.1)
    x, y = torch.rand(4, 1, 8, 8), torch.tensor([0, 1, 2, 0])
    loss = torch.nn.functional.cross_entropy(net(x), y)
    loss.backward()
    assert net.conv1.weight.grad.abs().sum() > 0
    opt.step()
    assert not torch.equal(before, net.conv1.weight.detach())


def test_cnn_trains_on_digits_and_reports_conv_layers():
    cfg = TrainConfig(
        dataset="digits", model="cnn", hidden_units=(4, 8), epochs=1, retrain_epochs=0,
        batch_size=128, train_limit=256, lr=0.01, reg_strength=0.01, threshold=0.15,
    )  # fmt: skip
    torch.set_num_threads(1)
    res = train(cfg)
    rows = {lay["name"]: lay for lay in res.report["layers"]}
    # digits are 8x8: 8 -> 6 -> 4 -> pool 2, fc1 has 8 * 2 * 2 = 32 inputs
    assert [(n, rows[n]["out_pixels"]) for n in rows] == [
        ("conv1", 36),
        ("conv2", 16),
        ("fc1", 1),
        ("fc2", 1),
    ]
    assert rows["fc1"]["shape"] == [128, 32]
    assert 0.0 <= res.report["accuracy"] <= 1.0
    assert all(np.isin(lt.weight, (-1, 0, 1)).all() for lt in res.layers)


def test_sweep_spec_accepts_cnn_and_refuses_unknown_model():
    raw = {
        "study": {"name": "c", "objectives": ["accuracy", "latency_us"], "sampler": "grid"},
        "train": {"dataset": "digits", "model": "cnn", "hidden_units": [4, 8], "epochs": 1},
        "search": {"train.reg_strength": [0.001, 0.01]},
    }
    assert parse_spec(raw).trials == 2
    raw["train"]["model"] = "cnnx"
    with pytest.raises(InputError, match="cnn"):
        parse_spec(raw)


def test_cli_train_cnn(capsys):
    argv = [
        "train", "--dataset", "digits", "--model", "cnn", "--hidden", "2,4", "--epochs", "1",
        "--retrain-epochs", "0", "--batch-size", "256", "--threads", "1", "--json",
    ]  # fmt: skip
    assert main(argv) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["model"] == "cnn"
    assert [lay["kind"] for lay in report["layers"]] == ["conv2d", "conv2d", "linear", "linear"]
