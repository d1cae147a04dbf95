"""The latency floor of ``benchmarks/feedback_pays.py``: worked out by hand, and a bound."""

from __future__ import annotations

import dataclasses
import importlib.util
import os

import numpy as np
import pytest

from accelerators import load_hw, simulate, workload_from_tensors

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HW = {"preset": "default", "n_pe": 4, "lanes_per_pe": 1, "broadcast_acts_per_cycle": 1}
HW_100MHZ = {**HW, "clock_mhz": 100.0}


@pytest.fixture(scope="module")
def bench():
    path = os.path.join(ROOT, "benchmarks", "feedback_pays.py")
    spec = importlib.util.spec_from_file_location("feedback_pays", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_floor_by_hand(bench):
    # mlp 64-16-10 on 8x8 digits, 4 PEs x 1 lane, one push per cycle, all weights 0:
    # fc1 pushes its 64 columns in cycles 0..63 (no PE has an entry, so no FIFO
    # ever fills); the tile ends one cycle after the last push (64), then each PE
    # reads out ceil(16 / 4) = 4 rows: 68 cycles. fc2: 16 + ceil(10 / 4) = 19.
    # 87 cycles at 100 MHz = 0.87 us.
    floor = bench.latency_floor("digits", "mlp", "16", HW_100MHZ)
    assert floor["layer_cycles"] == {"fc1": 68, "fc2": 19}
    assert floor["latency_us"] == pytest.approx(0.87)


def test_floor_bounds_any_weights(bench):
    floor = bench.latency_floor("digits", "mlp", "16", HW)
    rng = np.random.default_rng(0)
    cfg = load_hw("default").replace(n_pe=4, lanes_per_pe=1, broadcast_acts_per_cycle=1)
    from codesign.bridge import ternary_layers
    from codesign.data import load_dataset
    from codesign.models import build_model

    data = load_dataset("digits")
    net = build_model("mlp", data.input_shape, data.n_classes, hidden_units=(16,))
    layers = ternary_layers(net, data.x_train[:100])
    for density in (0.01, 0.1, 0.5):
        noisy = [
            dataclasses.replace(
                t,
                weight=(rng.random(t.weight.shape) < density) * rng.choice([-1, 1], t.weight.shape),
            )
            for t in layers
        ]
        got = simulate(workload_from_tensors(noisy), cfg).latency_us
        assert got >= floor["latency_us"]


def test_add_floor_reduction_bound(bench):
    floor = bench.latency_floor("digits", "mlp", "16", HW_100MHZ)  # 0.87 us
    point = {"latency_us": 1.74}
    result = {
        "dataset": "digits",
        "model": "mlp 16",
        "hw": HW_100MHZ,
        "matched": [
            {"seed": 0, "uniform": point, "hardware": point, "reduction": 0.0},
            {"seed": 1, "uniform": {"latency_us": 0.87 * 4}, "hardware": point, "reduction": 0.5},
        ],
        "per_seed": [{"seed": 0}, {"seed": 1}],
        "summary": {},
    }
    bench.add_floor(result)
    assert result["latency_floor"] == floor
    assert [r["max_reduction"] for r in result["matched"]] == pytest.approx([0.5, 0.75])
    assert result["summary"]["max_reduction"] == pytest.approx(0.625)
