"""Invariants of the SimPy model and its analytical twin (hypothesis)."""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accelerators import HardwareConfig, simulate, workload_from_shapes
from accelerators.report import STALL_CAUSES

FAST = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def small(draw, skip=None):
    dims = draw(st.lists(st.integers(2, 40), min_size=2, max_size=4))
    shapes = [{"kind": "linear", "in": a, "out": b} for a, b in zip(dims, dims[1:], strict=False)]
    g = workload_from_shapes(
        shapes,
        sparsity=draw(st.sampled_from([0.0, 0.5, 0.8, 0.95])),
        seed=draw(st.integers(0, 1000)),
        act_density=draw(st.sampled_from([1.0, 0.5, 0.2])),
    )
    cfg = HardwareConfig(
        n_pe=draw(st.integers(1, 16)),
        lanes_per_pe=draw(st.integers(1, 4)),
        fifo_depth=draw(st.integers(1, 8)),
        broadcast_acts_per_cycle=draw(st.integers(1, 4)),
        index_bits=draw(st.integers(1, 5)),
        zero_skip=skip or draw(st.sampled_from(["none", "weights", "weights+activations"])),
        weight_sram_kib_per_pe=draw(st.sampled_from([0.0, 0.01, 4.0])),
        dram_latency_cycles=draw(st.integers(0, 20)),
        dram_bytes_per_cycle=draw(st.sampled_from([0.5, 2.0, 16.0])),
    )
    return g, cfg


@FAST
@given(small())
def test_analytical_bounds_contain_simpy(case):
    g, cfg = case
    sim = simulate(g, cfg)
    ana = simulate(g, cfg, fidelity="analytical")
    assert ana.cycles_lower <= sim.cycles <= ana.cycles_upper
    assert ana.cycles_lower <= ana.cycles <= ana.cycles_upper
    for s, a in zip(sim.layers, ana.layers, strict=True):
        assert a.cycles_lower <= s.cycles <= a.cycles_upper
        assert a.pe_busy_cycles == s.pe_busy_cycles and a.counts == s.counts


@FAST
@given(small(skip="weights"), st.booleans())
def test_zero_skip_never_slower_than_dense(case, acts):
    g, cfg = case
    skipped = simulate(g, cfg.replace(zero_skip="weights+activations" if acts else "weights"))
    dense = simulate(g, cfg.replace(zero_skip="none"))
    assert skipped.cycles <= dense.cycles
    for a, b in zip(skipped.layers, dense.layers, strict=True):
        assert a.cycles <= b.cycles


@pytest.mark.parametrize("field", ["fifo_depth", "broadcast_acts_per_cycle"])
@FAST
@given(case=small(), extra=st.integers(1, 8))
def test_more_buffering_or_broadcast_never_adds_cycles(field, case, extra):
    g, cfg = case
    base = simulate(g, cfg)
    more = simulate(g, cfg.replace(**{field: getattr(cfg, field) + extra}))
    assert more.cycles <= base.cycles


@FAST
@given(small())
def test_cycles_at_least_work_over_lanes(case):
    g, cfg = case
    r = simulate(g, cfg)
    for lay in r.layers:
        assert lay.cycles >= lay.counts["adds"] / (cfg.n_pe * cfg.lanes_per_pe)
        # the stall causes and the ideal add up to the cycles, each cause >= 0, in both models
        assert lay.cycles >= sum(lay.stall_cycles.values())
        assert tuple(lay.stall_cycles) == STALL_CAUSES and min(lay.stall_cycles.values()) >= 0
    for lay in simulate(g, cfg, "analytical").layers:
        assert tuple(lay.stall_cycles) == STALL_CAUSES and min(lay.stall_cycles.values()) >= 0
        assert lay.cycles >= sum(lay.stall_cycles.values())
    assert r.cycles == sum(lay.cycles for lay in r.layers)
    assert 0.0 <= r.utilization <= 1.0


def test_deterministic():
    g = workload_from_shapes("lfc", 0.9, act_density=0.4)
    cfg = HardwareConfig(zero_skip="weights+activations", fifo_depth=2)
    a, b = simulate(g, cfg).to_dict(), simulate(g, cfg).to_dict()
    a.pop("wall_s"), b.pop("wall_s")
    assert a == b


def test_small_weight_sram_streams_from_dram():
    g = workload_from_shapes([{"kind": "linear", "in": 256, "out": 128}], sparsity=0.8)
    fits = simulate(g, HardwareConfig(n_pe=8, weight_sram_kib_per_pe=4.0))
    # encoded: ~6554 nonzeros + padding, 5 bits each ~ 4.3 KiB over 8 PEs: 0.25 KiB/PE is too small
    small = simulate(g, HardwareConfig(n_pe=8, weight_sram_kib_per_pe=0.25))
    assert not fits.dram_bound and fits.stall_cycles["dram"] == 0
    assert small.dram_bound and small.layers[0].dram_bound
    assert small.stall_cycles["dram"] > 0 and small.counts["dram_read_bits"] > 0
    assert small.cycles > fits.cycles


def test_report_matches_contract():
    r = simulate(workload_from_shapes("lfc", 0.95), "default").to_dict()
    keys = {
        "fidelity",
        "cycles",
        "latency_us",
        "first_inference_cycles",
        "first_inference_latency_us",
        "throughput_inf_s",
        "utilization",
        "busy",
        "stall_cycles",
        "area_mm2",
        "area_breakdown_mm2",
        "energy_uj",
        "energy_breakdown_uj",
        "energy_dynamic_uj",
        "energy_leakage_uj",
        "weight_bits_stored",
        "weight_kib_stored",
        "counts",
        "dram_bound",
        "layers",
        "hw",
        "wall_s",
    }
    assert set(r) == keys
    assert tuple(r["stall_cycles"]) == STALL_CAUSES
    for name in (
        "adds",
        "padding_entries",
        "weight_sram_read_bits",
        "dram_read_bits",
        "act_sram_read_bits",
        "act_sram_write_bits",
        "fifo_pushes",
        "readout_ops",
        "index_decodes",
    ):
        assert name in r["counts"]
    lay = r["layers"][0]
    assert set(lay) == {
        "name",
        "kind",
        "shape",
        "rows",
        "cols",
        "out_pixels",
        "nnz",
        "sparsity",
        "cycles",
        "stall_cycles",
        "utilization",
        "busy",
        "energy_uj",
        "pe_busy_cycles",
        "dram_bound",
        "padding_entries",
        "weight_bits_stored",
    }
    assert len(lay["pe_busy_cycles"]) == 64 and lay["shape"] == [1024, 784]
    assert r["latency_us"] == r["cycles"] / 500.0
    assert np.isclose(r["energy_uj"], sum(x["energy_uj"] for x in r["layers"]))
    assert r["area_mm2"] > 0 and r["energy_uj"] > 0
    assert np.isclose(r["energy_uj"], sum(r["energy_breakdown_uj"].values()))
    assert np.isclose(r["energy_uj"], r["energy_dynamic_uj"] + r["energy_leakage_uj"])
    assert r["weight_bits_stored"] == sum(x["weight_bits_stored"] for x in r["layers"])
    assert r["weight_kib_stored"] == r["weight_bits_stored"] / 8192
    a = simulate(workload_from_shapes("lfc", 0.95), "default", fidelity="analytical").to_dict()
    assert a["fidelity"] == "analytical" and a["cycles_lower"] <= a["cycles"] <= a["cycles_upper"]


@FAST
@given(small(skip="weights"))
def test_analytical_exact_for_depth_one_on_chip(case):
    # depth 1, weights resident: every column waits for the slowest PE, sum_k (1 + max_p c)
    g, cfg = case
    cfg = cfg.replace(fifo_depth=1, weight_sram_kib_per_pe=64.0)
    assert simulate(g, cfg, fidelity="analytical").cycles == simulate(g, cfg).cycles


def test_simulate_inputs():
    from accelerators import InputError, LayerTensor

    layers = [
        LayerTensor("a", np.eye(4, dtype=np.int8)),
        LayerTensor("b", np.eye(4, dtype=np.int8)),
    ]
    r = simulate(layers, "edge")
    assert r.hw["n_pe"] == 16 and [lay.name for lay in r.layers] == ["a", "b"]
    with pytest.raises(InputError, match="fidelity"):
        simulate(layers, "edge", fidelity="rtl")
    with pytest.raises(InputError, match="hw"):
        simulate(layers, "no-such-preset")
    with pytest.raises(InputError, match="workload"):
        simulate("lfc", "edge")


@pytest.mark.parametrize("width", [1, 4])
def test_analytical_estimate_close_on_lfc(width):
    # the default preset's broadcast is 4 wide, EIE's 1 wide: the path estimate of
    # accelerators.analytical (one K per depth, benchmarks/calibrate_estimate.py) is
    # within 5 % of SimPy on lfc at 90 % and 95 % sparsity for both
    cfg = HardwareConfig(broadcast_acts_per_cycle=width)
    for sparsity in (0.9, 0.95):
        g = workload_from_shapes("lfc", sparsity, seed=0)
        sim, ana = simulate(g, cfg), simulate(g, cfg, fidelity="analytical")
        assert abs(ana.cycles - sim.cycles) <= 0.05 * sim.cycles


def test_timing_memo_reuses_unchanged_layers_exactly():
    from accelerators.workload import layers_of

    layers = layers_of(workload_from_shapes("lfc", 0.9, seed=0, act_density=0.5))
    cfg = HardwareConfig(zero_skip="weights+activations", weight_sram_kib_per_pe=2.0)
    variant = layers[:2] + [layers_of(workload_from_shapes("lfc", 0.95, seed=1))[2]] + layers[3:]
    memo: dict = {}
    base = simulate(layers, cfg, timing_memo=memo)
    assert len(memo) == 4  # one entry per layer
    again = simulate(variant, cfg, timing_memo=memo)
    assert len(memo) == 5  # only the replaced layer (and any whose residency moved) re-timed
    assert base.to_dict()["layers"] == simulate(layers, cfg).to_dict()["layers"]
    assert again.to_dict()["layers"] == simulate(variant, cfg).to_dict()["layers"]


@FAST
@given(small())
def test_busy_at_least_utilization_and_energy_adds_up(case):
    g, cfg = case
    for fmt in ("csc", "eie"):
        r = simulate(g, cfg.replace(weight_format=fmt))
        assert 0.0 <= r.utilization <= r.busy <= 1.0
        for lay in r.layers:
            assert 0.0 <= lay.utilization <= lay.busy <= 1.0
        assert np.isclose(r.energy_uj, sum(r.energy_breakdown_uj.values()))
        assert np.isclose(r.energy_uj, r.energy_dynamic_uj + r.energy_leakage_uj)
        assert r.first_inference_cycles >= r.cycles


def test_first_inference_loads_the_resident_weights_by_hand():
    # one 4x4 identity layer on 1 PE, csc with 2-bit indices: 4 entries (gaps 0, 4, 4, 4
    # -> the gaps of 4 need one padding each, 3 in all): 7 entries x 3 bits = 21 bits.
    from accelerators import LayerTensor

    g = [LayerTensor("a", np.eye(4, dtype=np.int8))]
    cfg = HardwareConfig(
        n_pe=1,
        lanes_per_pe=1,
        index_bits=2,
        dram_latency_cycles=10,
        dram_bytes_per_cycle=1.0,
        weight_sram_kib_per_pe=1.0,
    )
    r = simulate(g, cfg)
    assert r.weight_bits_stored == 21
    assert r.first_inference_cycles == r.cycles + 10 + 3  # ceil(21 / 8) cycles
    assert r.first_inference_latency_us == r.first_inference_cycles / cfg.clock_mhz
    streamed = simulate(g, cfg.replace(weight_sram_kib_per_pe=0.0))
    assert streamed.first_inference_cycles == streamed.cycles  # nothing to preload


def test_utilization_counts_useful_products_busy_counts_every_entry():
    # 2x4 layer on 2 PEs x 1 lane, act density 0.5: 2 of 4 activations nonzero per pixel.
    from accelerators import LayerTensor, workload_from_tensors
    from accelerators.stats import act_mask

    w = np.array([[1, 1, 0, -1], [0, 1, 1, 1]], dtype=np.int8)
    g = workload_from_tensors([LayerTensor("a", w, act_density=0.5)])
    cfg = HardwareConfig(n_pe=2, lanes_per_pe=1, zero_skip="none", index_bits=3)
    r = simulate(g, cfg, seed=5)
    mask = act_mask(g, "a", 5)[0]
    useful = int((w[:, mask] != 0).sum())
    lane_cycles = 2 * r.cycles
    assert r.counts["adds"] == 8  # the dense walk retires every (row, column) pair
    assert r.utilization == useful / lane_cycles and r.busy == 8 / lane_cycles
