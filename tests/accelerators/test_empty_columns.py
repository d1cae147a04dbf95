"""``skip_empty_columns``: the compiler drops input columns with no nonzero weight.

Hand-worked counts on a small matrix, and a property: with the knob on, every
layer runs exactly like its compacted matrix (live columns only) on the per-cycle
reference stepper, for every format, zero-skip mode, FIFO depth and DRAM setting.
"""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from stepper import step_workload
from test_sim_equivalence import cases

from accelerators import HardwareConfig, LayerTensor, simulate, workload_from_tensors
from accelerators.sim import run_simpy
from accelerators.stats import act_mask, live_columns

# One PE owning both rows; columns 1-4 are empty. Positions run column by column
# (k = 2 * col + row): nonzeros at k = 0, 10, 11.
W = np.array([[1, 0, 0, 0, 0, -1], [0, 0, 0, 0, 0, 1]], dtype=np.int8)
ONE_PE = HardwareConfig(
    n_pe=1, lanes_per_pe=1, fifo_depth=1, broadcast_acts_per_cycle=1, index_bits=2
)


@pytest.mark.parametrize("fidelity", ["simpy", "analytical"])
def test_hand_worked_counts(fidelity):
    g = workload_from_tensors([LayerTensor("fc", W)])
    off = simulate(g, ONE_PE, fidelity)
    on = simulate(g, ONE_PE.replace(skip_empty_columns=True), fidelity)
    # off: a padding entry skips 3 zeros; the 9 zeros between k = 0 and k = 10 need 3,
    # charged to the columns of k = 3, 6, 9 (columns 1, 3, 4). Entries per column:
    # 1, 1, 0, 1, 1, 2; with FIFO depth 1 a column takes 1 + its cycles: 6 + 6 = 12,
    # plus 2 readout cycles (2 rows on one lane).
    assert off.cycles == 14 and off.counts["padding_entries"] == 3
    assert off.weight_bits_stored == 6 * 3  # 6 entries x (2 index bits + sign)
    assert off.counts["broadcast_pushes"] == 6 and off.counts["act_sram_read_bits"] == 6 * 8
    # on: columns 0 and 5 only, positions 0, 2, 3: no padding. (1 + 1) + (1 + 2) + 2.
    assert on.cycles == 7 and on.counts["padding_entries"] == 0
    assert on.weight_bits_stored == 3 * 3 + 6  # 3 entries, and the 6-bit live-column mask
    assert on.counts["weight_sram_read_bits"] == 3 * 3  # the mask is not in the weight SRAM
    assert on.counts["act_sram_read_bits"] == 2 * 8 + 6  # 2 live activations and the mask
    assert on.counts["broadcast_pushes"] == 2 and on.counts["skipped_activations"] == 4
    assert on.counts["useful_adds"] == off.counts["useful_adds"] == 3


@pytest.mark.parametrize("fidelity", ["simpy", "analytical"])
def test_an_all_zero_layer_pushes_nothing(fidelity):
    g = workload_from_tensors([LayerTensor("fc", np.zeros((3, 5), dtype=np.int8))])
    off = simulate(g, ONE_PE, fidelity)
    on = simulate(g, ONE_PE.replace(skip_empty_columns=True), fidelity)
    assert off.cycles == 5 * 1 + 3  # 5 empty columns, one push each; 3 readout cycles
    assert on.cycles == 3 and on.counts["broadcast_pushes"] == 0
    assert on.weight_bits_stored == 5  # only the mask


def _compacted(lt: LayerTensor, live: np.ndarray) -> LayerTensor:
    w = lt.weight[:, live]
    return LayerTensor(lt.name, w, lt.scale, lt.kind, lt.out_pixels, lt.act_density)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cases(), st.data())
def test_on_equals_the_compacted_matrix_on_the_stepper(case, data):
    cfg, layers = case
    emptied = []
    for lt in layers:  # empty a random set of columns, keeping at least one nonzero
        drop = np.asarray(data.draw(st.lists(st.booleans(), min_size=lt.cols, max_size=lt.cols)))
        w = lt.weight.copy()
        w[:, drop] = 0
        if not w.any():
            w.flat[0] = 1
        emptied.append(LayerTensor(lt.name, w, lt.scale, lt.kind, lt.out_pixels, lt.act_density))
    g = workload_from_tensors(emptied)
    on = cfg.replace(skip_empty_columns=True)
    sink, total, _ = run_simpy(g, on, seed=3)
    lives = [live_columns(g, lt.name) for lt in emptied]
    masks = [act_mask(g, lt.name, 3) for lt in emptied]
    masks = [None if m is None else m[:, live] for m, live in zip(masks, lives, strict=True)]
    compact = [_compacted(lt, live) for lt, live in zip(emptied, lives, strict=True)]
    want = step_workload(compact, cfg, masks)
    got = [sink.layers[lt.name] for lt in emptied]
    assert [r.cycles for r in got] == [w["cycles"] for w in want]
    assert [r.pe_busy_cycles for r in got] == [w["pe_busy_cycles"] for w in want]
    assert [r.resident for r in got] == [w["resident"] for w in want]
    # the analytical model's bounds hold around SimPy's cycles with the knob on too
    ana = simulate(g, on, "analytical", seed=3)
    assert ana.cycles_lower <= total <= ana.cycles_upper


def test_the_knob_is_a_bool():
    from accelerators import InputError, parse_overrides

    assert parse_overrides(["skip_empty_columns=TRUE"]) == {"skip_empty_columns": True}
    assert parse_overrides(["skip_empty_columns=0"]) == {"skip_empty_columns": False}
    with pytest.raises(InputError, match="skip_empty_columns = 'maybe'.*true or false"):
        parse_overrides(["skip_empty_columns=maybe"])
    with pytest.raises(InputError, match="skip_empty_columns = 1 .*true or false"):
        HardwareConfig(skip_empty_columns=1)
