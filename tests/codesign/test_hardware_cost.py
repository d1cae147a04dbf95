"""The hardware-driven cost provider: the marginal-cost rule by hand, real SimPy feedback, budgets."""

import argparse

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from accelerators import InputError, LayerTensor, load_hw, simulate, workload_from_tensors
from codesign.hardware_cost import (
    HardwareCost,
    add_feedback_arguments,
    drop_columns,
    marginal_costs,
    provider_from_args,
    thin,
)

A = LayerTensor("A", np.array([[1, 1, 0], [0, 0, 0], [1, 0, 0], [0, 0, -1]]))  # 12 weights, nnz 4
B = LayerTensor("B", np.array([[1, 0, 0, 0], [0, -1, 0, 0]]))  # 8 weights, nnz 2


N = 2  # PEs: PE 0 owns rows 0, 2; PE 1 owns rows 1, 3


def test_latency_coefficients_are_floored_finite_differences_with_mean_1():
    # d = (2.0, 0.5) cycles per nonzero; dbar = (2*12 + 0.5*8)/20 = 1.4
    c = marginal_costs([A, B], {"latency": {"A": 2.0, "B": 0.5}}, N, "latency")
    assert c["A"] == pytest.approx(0.1 + 0.9 * 2.0 / 1.4)  # 1.385714...
    assert c["B"] == pytest.approx(0.1 + 0.9 * 0.5 / 1.4)  # 0.421428...
    assert (c["A"] * 12 + c["B"] * 8) / 20 == pytest.approx(1.0)


def test_negative_differences_count_as_zero_and_all_zero_is_uniform():
    # d = (0, 1): dbar = 8/20 = 0.4 -> A gets the floor, B 0.1 + 0.9 * 2.5
    c = marginal_costs([A, B], {"latency": {"A": -1.0, "B": 1.0}}, N, "latency")
    assert c["A"] == pytest.approx(0.1) and c["B"] == pytest.approx(2.35)
    assert marginal_costs([A, B], {"energy": {"A": 0.0, "B": 0.0}}, N, "energy") == {
        "A": 1.0,
        "B": 1.0,
    }


def test_a_mix_averages_each_normalised_objective():
    diffs = {"latency": {"A": 2.0, "B": 0.5}, "energy": {"A": 1e-6, "B": 1e-6}}
    c = marginal_costs([A, B], diffs, N, {"latency": 3, "energy": 1})
    assert c["A"] == pytest.approx(0.75 * (0.1 + 0.9 * 2.0 / 1.4) + 0.25 * 1.0)


def test_per_row_pulls_rows_on_the_most_loaded_pe_hardest():
    # A holds 3 nonzeros on PE 0 and 1 on PE 1 (mean 2): rows x1.5, x0.5, x1.5, x0.5
    c = marginal_costs([A, B], {"latency": {"A": 2.0, "B": 0.5}}, N, "latency", per_row=True)
    ca = 0.1 + 0.9 * 2.0 / 1.4
    np.testing.assert_allclose(c["A"], ca * np.array([1.5, 0.5, 1.5, 0.5]))
    np.testing.assert_allclose(c["B"], [0.1 + 0.9 * 0.5 / 1.4] * 2)


def test_area_is_uniform_per_layer_and_per_row_follows_stored_nonzeros_per_pe():
    assert marginal_costs([A, B], {}, N, "area") == {"A": 1.0, "B": 1.0}
    # stored nonzeros: PE 0 holds 3 (A) + 1 (B) = 4, PE 1 holds 1 + 1 = 2 (mean 3)
    c = marginal_costs([A, B], {}, N, "area", per_row=True)
    np.testing.assert_allclose(c["A"], [4 / 3, 2 / 3, 4 / 3, 2 / 3])
    np.testing.assert_allclose(c["B"], [4 / 3, 2 / 3])


def test_thin_removes_the_stated_number_of_nonzeros_and_nothing_else():
    t, k = thin(A, 0.5, seed=1)
    assert k == 2 and t.nnz == 2
    assert np.all((t.weight == 0) | (t.weight == A.weight))
    assert thin(LayerTensor("z", np.zeros((2, 2), dtype=np.int8)))[1] == 0


@settings(max_examples=40, deadline=None)
@given(
    d=st.tuples(st.floats(-5, 5), st.floats(-5, 5)),
    per_row=st.booleans(),
)
def test_weighted_mean_coefficient_is_always_1(d, per_row):
    c = marginal_costs([A, B], {"latency": {"A": d[0], "B": d[1]}}, N, "latency", per_row=per_row)
    mean = (np.mean(c["A"]) * 12 + np.mean(c["B"]) * 8) / 20
    assert mean == pytest.approx(1.0)
    assert all(np.all(np.asarray(v) >= 0) for v in c.values())


def test_per_column_coefficients_by_hand():
    # A's columns hold 2, 1, 1 nonzeros; B's 1, 1, 0, 0. d = (2, 0.5), a = (6, 2):
    # d_A,j = 2 + 6 / (2, 1, 1) = (5, 8, 8); d_B,j = 0.5 + 2 / max(1, nnz) = 2.5 for all.
    # Mean over the 6 nonzeros: (2 * 5 + 8 + 8 + 2 * 2.5) / 6 = 31 / 6.
    diffs, over = {"latency": {"A": 2.0, "B": 0.5}}, {"latency": {"A": 6.0, "B": 2.0}}
    c = marginal_costs([A, B], diffs, N, "latency", overheads=over)
    col_a = [0.1 + 0.9 * d / (31 / 6) for d in (5.0, 8.0, 8.0)]  # 0.970968, 1.493548 (x2)
    col_b = 0.1 + 0.9 * 2.5 / (31 / 6)  # 0.535484
    # never less than the per-layer rule: c_A = 1.385714, c_B = 0.421429 (test above)
    layer_a, layer_b = 0.1 + 0.9 * 2.0 / 1.4, 0.1 + 0.9 * 0.5 / 1.4
    assert c["A"].shape == (4, 3) and c["B"].shape == (2, 4)
    assert np.allclose(c["A"], np.tile([layer_a, col_a[1], col_a[2]], (4, 1)))
    assert np.allclose(c["B"], max(layer_b, col_b))
    # with per_row too, each row is scaled by its PE's load (PE 0: 3 of A's nonzeros)
    r = marginal_costs([A, B], diffs, N, "latency", per_row=True, overheads=over)
    assert r["A"][0, 0] / r["A"][1, 0] == pytest.approx(3.0)


def test_column_overheads_come_from_emptied_columns_and_need_the_knob():
    rng = np.random.default_rng(1)
    w = rng.choice([-1, 0, 1], size=(32, 64), p=[0.02, 0.96, 0.02])  # ~1.3 nonzeros per column
    layers = [LayerTensor("fc", w)]
    hw = load_hw("default").replace(n_pe=8, lanes_per_pe=1)
    on = HardwareCost(hw.replace(skip_empty_columns=True), "simpy", per_column=True)
    fb = on.feedback(layers)
    emptier, k, removed = drop_columns(layers[0])
    base = on.last_report["cycles"]
    cyc = simulate(workload_from_tensors([emptier]), on.config).cycles
    d = max(0.0, fb.figures["d_latency.fc"])
    assert fb.figures["a_latency.fc"] == pytest.approx(max(0.0, (base - cyc - d * removed) / k))
    # an emptied column saves its push (a quarter cycle: 4 pushes per cycle) and its
    # padding only when the hardware skips it; without the knob it is still pushed
    off = HardwareCost(hw, "simpy", per_column=True).feedback(layers)
    assert fb.figures["a_latency.fc"] > 0.15 > 2 * off.figures["a_latency.fc"]
    assert fb.coefficients["fc"].shape == (32, 64)
    # the columns with one nonzero are pulled harder than those with three
    nnz = np.count_nonzero(w, axis=0)
    assert fb.coefficients["fc"][0, nnz == 1].min() > fb.coefficients["fc"][0, nnz == 3].max()


def _tiny_net(seed=0):
    rng = np.random.default_rng(seed)
    w0 = rng.choice([-1, 0, 0, 0, 1], size=(24, 48))
    w1 = rng.choice([-1, 0, 1], size=(10, 24))
    return [LayerTensor("fc0", w0), LayerTensor("fc1", w1)]


@pytest.mark.parametrize("fidelity", ["simpy", "analytical"])
def test_feedback_from_a_real_simulation(fidelity):
    layers = _tiny_net()
    hw = load_hw("default").replace(n_pe=8, lanes_per_pe=2)
    prov = HardwareCost(hw, fidelity=fidelity)
    fb = prov.feedback(layers)
    rep = prov.last_report
    assert set(fb.figures) >= {"cycles", "latency_us", "energy_uj", "area_mm2"}
    assert fb.figures["cycles"] == rep["cycles"] and fb.figures["latency_us"] == rep["latency_us"]
    # the raw differences are exactly (base - thinned) / k, each thinned network
    # simulated from scratch here (the provider shares the unchanged layers' statistics)
    for i, name in enumerate(["fc0", "fc1"]):
        thinner, k = thin(layers[i], 0.2, seed=i)
        variant = layers[:i] + [thinner] + layers[i + 1 :]
        cyc = simulate(workload_from_tensors(variant), hw, fidelity=fidelity).cycles
        assert fb.figures[f"d_latency.{name}"] == pytest.approx((rep["cycles"] - cyc) / k)
    sizes = {lt.name: lt.weight.size for lt in layers}
    mean = sum(fb.coefficients[k] * sizes[k] for k in sizes) / sum(sizes.values())
    assert mean == pytest.approx(1.0)


def test_a_conv_layer_repeated_over_pixels_is_dearer_than_a_dense_one():
    rng = np.random.default_rng(0)
    conv = LayerTensor(
        "conv", rng.choice([-1, 0, 0, 1], size=(16, 4, 3, 3)), kind="conv2d", out_pixels=100
    )
    fc = LayerTensor("fc", rng.choice([-1, 0, 0, 1], size=(16, 64)))
    hw = load_hw("default").replace(n_pe=4, lanes_per_pe=1)
    c = HardwareCost(hw, fidelity="simpy").feedback([conv, fc]).coefficients
    assert c["conv"] > 5 * c["fc"]


def test_budgets_steer_the_strength_multiplicatively_with_a_clip():
    layers = _tiny_net()
    hw = load_hw("default").replace(n_pe=8)
    lat = HardwareCost(hw, fidelity="analytical").feedback(layers).figures["latency_us"]
    tight = HardwareCost(hw, fidelity="analytical", target_latency_us=lat / 1.5)
    assert tight.feedback(layers).figures["strength_scale"] == pytest.approx(1.5)
    assert tight.feedback(layers).figures["strength_scale"] == pytest.approx(2.25)
    loose = HardwareCost(hw, fidelity="analytical", target_latency_us=lat * 10)
    assert loose.feedback(layers).figures["strength_scale"] == pytest.approx(0.5)
    assert "strength_scale" not in HardwareCost(hw, fidelity="analytical").feedback(layers).figures


def test_bad_settings_are_input_errors():
    hw = load_hw("default")
    with pytest.raises(InputError, match="feedback_objective"):
        HardwareCost(hw, objective="speed")
    with pytest.raises(InputError, match="feedback_period_steps"):
        HardwareCost(hw, period_steps=0)
    with pytest.raises(InputError, match="target_latency_us"):
        HardwareCost(hw, target_latency_us=-1)


def test_train_cli_flags_build_the_provider():
    p = argparse.ArgumentParser()
    add_feedback_arguments(p)
    assert provider_from_args(p.parse_args([])) is None
    prov = provider_from_args(
        p.parse_args(
            [
                "--hw-feedback",
                "analytical",
                "--hw",
                "edge",
                "--hw-set",
                "n_pe=4",
                "--feedback-objective",
                "latency=2,energy=1",
                "--feedback-per-row",
                "--feedback-per-column",
                "--feedback-period-steps",
                "5",
                "--target-latency-us",
                "3",
            ]
        )
    )
    assert prov.fidelity == "analytical" and prov.config.n_pe == 4 and prov.per_row
    assert prov.per_column
    assert prov.objective == {"latency": 2.0, "energy": 1.0} and prov.period_steps == 5
    assert prov.target_latency_us == 3.0


def test_smoothing_averages_each_periods_measured_costs():
    """smoothing 0.25: the second period's d and a are 0.25 x the first's + 0.75 x its own."""
    hw = load_hw("default").replace(n_pe=8, lanes_per_pe=2, skip_empty_columns=True)
    first, second = _tiny_net(0), _tiny_net(1)
    raw = [HardwareCost(hw, per_column=True).feedback(n).figures for n in (first, second)]
    smooth = HardwareCost(hw, per_column=True, smoothing=0.25)
    assert smooth.feedback(first).figures == pytest.approx(
        {**raw[0], "sim_wall_s": pytest.approx(0, abs=1e3)}
    )
    fig = smooth.feedback(second).figures
    keys = [k for k in raw[1] if k.startswith(("d_", "a_"))]
    assert len(keys) == 4 and any(raw[0][k] != raw[1][k] for k in keys)
    for key in keys:
        assert fig[key] == pytest.approx(0.25 * raw[0][key] + 0.75 * raw[1][key])
    assert fig["cycles"] == raw[1]["cycles"]  # the network's own figures are not smoothed


@pytest.mark.parametrize("bad", [-0.1, 1.0, 2, "0.5", float("nan")])
def test_smoothing_outside_0_1_is_refused(bad):
    with pytest.raises(InputError, match=r"^feedback_smoothing = .*\[0, 1\)"):
        HardwareCost(load_hw("default"), smoothing=bad)
