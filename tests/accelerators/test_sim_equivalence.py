"""The SimPy model gives exactly the per-cycle stepper's cycles and busy cycles."""

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from stepper import step_workload

from accelerators import HardwareConfig, LayerTensor, workload_from_tensors
from accelerators.sim import run_simpy
from accelerators.stats import act_mask


@st.composite
def cases(draw):
    fmt = draw(st.sampled_from(["csc", "csc", "eie", "eie", "dense-ternary", "dense-binary"]))
    skip = (
        "none"
        if fmt.startswith("dense")
        else draw(st.sampled_from(["none", "weights", "weights+activations"]))
    )
    cfg = HardwareConfig(
        n_pe=draw(st.integers(1, 8)),
        lanes_per_pe=draw(st.integers(1, 4)),
        fifo_depth=draw(st.integers(1, 4)),
        broadcast_acts_per_cycle=draw(st.integers(1, 4)),
        index_bits=draw(st.integers(1, 3)),
        zero_skip=skip,
        weight_format=fmt,
        weight_sram_kib_per_pe=draw(st.sampled_from([0.0, 0.001, 0.004, 1.0])),
        pointer_sram_kib_per_pe=draw(st.sampled_from([0.0, 0.002, 1.0])),
        weight_bits=draw(st.integers(1, 4)),
        pointer_bits=draw(st.integers(2, 16)),
        dram_latency_cycles=draw(st.integers(0, 4)),
        dram_bytes_per_cycle=draw(st.sampled_from([0.25, 0.5, 1.0, 2.0])),
    )
    n_layers = draw(st.integers(1, 3))
    dims = draw(st.lists(st.integers(1, 10), min_size=n_layers + 1, max_size=n_layers + 1))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    layers = []
    for i in range(n_layers):
        density = draw(st.sampled_from([0.05, 0.2, 0.5, 0.9]))
        w = (rng.random((dims[i + 1], dims[i], 1, 1)) < density) * rng.choice(
            [-1, 1], (dims[i + 1], dims[i], 1, 1)
        )
        layers.append(
            LayerTensor(
                f"l{i}",
                w.astype(np.int8),
                kind="conv2d",
                out_pixels=draw(st.integers(1, 3)),
                act_density=draw(st.sampled_from([1.0, 0.6, 0.3])),
            )
        )
    return cfg, layers


@settings(max_examples=220, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cases())
def test_simpy_matches_stepper(case):
    cfg, layers = case
    g = workload_from_tensors(layers)
    sink, total, _ = run_simpy(g, cfg, seed=3)
    masks = [act_mask(g, lt.name, 3) for lt in layers]
    want = step_workload(layers, cfg, masks)
    got = [sink.layers[lt.name] for lt in layers]
    assert [r.cycles for r in got] == [w["cycles"] for w in want]
    assert [r.pe_busy_cycles for r in got] == [w["pe_busy_cycles"] for w in want]
    assert [r.resident for r in got] == [w["resident"] for w in want]
    assert total == sum(w["cycles"] for w in want)
