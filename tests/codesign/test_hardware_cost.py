"""The hardware-driven cost provider: the marginal-cost rule by hand, real SimPy feedback, budgets."""

import argparse

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from accelerators import InputError, LayerTensor, load_hw
from codesign.hardware_cost import (
    HardwareCost,
    add_feedback_arguments,
    marginal_costs,
    provider_from_args,
)

A = LayerTensor("A", np.array([[1, 1, 0], [0, 0, 0], [1, 0, 0], [0, 0, -1]]))  # 12 weights, nnz 4
B = LayerTensor("B", np.array([[1, 0, 0, 0], [0, -1, 0, 0]]))  # 8 weights, nnz 2


def report(cyc_a=20, cyc_b=30, e_a=0.2, e_b=0.4, busy_a=(6, 2), busy_b=(3, 3)):
    return {
        "hw": {"n_pe": 2},
        "layers": [
            {
                "name": "A",
                "nnz": 4,
                "cycles": cyc_a,
                "energy_uj": e_a,
                "pe_busy_cycles": list(busy_a),
            },
            {
                "name": "B",
                "nnz": 2,
                "cycles": cyc_b,
                "energy_uj": e_b,
                "pe_busy_cycles": list(busy_b),
            },
        ],
    }


def test_latency_is_cycles_per_nonzero_normalised_to_weighted_mean_1():
    # A: 20/4 = 5, B: 30/2 = 15; weighted mean (5*12 + 15*8)/20 = 9
    c = marginal_costs([A, B], report(), "latency")
    assert c["A"] == pytest.approx(5 / 9) and c["B"] == pytest.approx(15 / 9)


def test_energy_is_energy_per_nonzero():
    # A: 0.2/4 = 0.05, B: 0.4/2 = 0.2; mean (0.6 + 1.6)/20 = 0.11
    c = marginal_costs([A, B], report(), "energy")
    assert c["A"] == pytest.approx(5 / 11) and c["B"] == pytest.approx(20 / 11)


def test_a_mix_averages_each_normalised_objective():
    c = marginal_costs([A, B], report(), {"latency": 3, "energy": 1})
    assert c["A"] == pytest.approx(0.75 * 5 / 9 + 0.25 * 5 / 11)


def test_per_row_latency_pulls_the_busiest_pe_rows_hardest():
    # A's PEs are busy 6 and 2 cycles (mean 4): rows 0, 2 (PE 0) x1.5, rows 1, 3 (PE 1) x0.5
    c = marginal_costs([A, B], report(), "latency", per_row=True)
    np.testing.assert_allclose(c["A"], np.array([7.5, 2.5, 7.5, 2.5]) / 9)
    np.testing.assert_allclose(c["B"], [15 / 9, 15 / 9])


def test_area_is_uniform_per_layer_and_per_row_follows_stored_nonzeros_per_pe():
    assert marginal_costs([A, B], report(), "area") == {"A": 1.0, "B": 1.0}
    # stored nonzeros: PE 0 holds 3 (A) + 1 (B) = 4, PE 1 holds 1 + 1 = 2 (mean 3)
    c = marginal_costs([A, B], report(), "area", per_row=True)
    np.testing.assert_allclose(c["A"], [4 / 3, 2 / 3, 4 / 3, 2 / 3])
    np.testing.assert_allclose(c["B"], [4 / 3, 2 / 3])


@settings(max_examples=40, deadline=None)
@given(
    cyc=st.tuples(st.integers(1, 10**6), st.integers(1, 10**6)),
    busy=st.tuples(st.integers(0, 1000), st.integers(0, 1000)),
    per_row=st.booleans(),
)
def test_weighted_mean_coefficient_is_always_1(cyc, busy, per_row):
    c = marginal_costs([A, B], report(cyc[0], cyc[1], busy_a=busy), "latency", per_row=per_row)
    mean = (np.mean(c["A"]) * 12 + np.mean(c["B"]) * 8) / 20
    assert mean == pytest.approx(1.0)
    assert all(np.all(np.asarray(v) >= 0) for v in c.values())


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
    per = {lay["name"]: lay["cycles"] / lay["nnz"] for lay in rep["layers"]}
    assert fb.coefficients["fc1"] / fb.coefficients["fc0"] == pytest.approx(per["fc1"] / per["fc0"])
    sizes = {lt.name: lt.weight.size for lt in layers}
    mean = sum(fb.coefficients[k] * sizes[k] for k in sizes) / sum(sizes.values())
    assert mean == pytest.approx(1.0)
    # fc1 has 10 rows for 8 PEs and few nonzeros per PE: its nonzeros are dearer
    assert fb.coefficients["fc1"] > fb.coefficients["fc0"]


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
                "--feedback-period-steps",
                "5",
                "--target-latency-us",
                "3",
            ]
        )
    )
    assert prov.fidelity == "analytical" and prov.config.n_pe == 4 and prov.per_row
    assert prov.objective == {"latency": 2.0, "energy": 1.0} and prov.period_steps == 5
    assert prov.target_latency_us == 3.0
