"""Cycle logs worked out by hand for tiny layers (rules: accelerators/sim/timing.py, blocks.py)."""

import numpy as np

from accelerators import HardwareConfig, LayerTensor, simulate, workload_from_tensors
from accelerators.sim import plan_layer, tile_cycles

# rows 0..3, cols 0..2. PE0 owns rows 0, 2; PE1 owns rows 1, 3.
W = np.array([[1, 0, 0], [1, 1, 0], [0, 0, 0], [-1, 1, 1]], dtype=np.int8)
# CSC entries (index_bits = 2: a gap of up to 2 zeros fits, so no padding here):
#   PE0: col0 has row 0 -> 1 entry; cols 1, 2 only trailing zeros -> 0 entries.
#   PE1: col0 rows 1, 3 -> 2; col1 rows 1, 3 -> 2; col2 row 3 (one zero before) -> 1.
BASE = dict(
    n_pe=2,
    lanes_per_pe=1,
    index_bits=2,
    zero_skip="weights",
    fifo_depth=1,
    broadcast_acts_per_cycle=1,
)


def run(**kw):
    g = workload_from_tensors([LayerTensor("fc", W)])
    return simulate(g, HardwareConfig(**{**BASE, **kw}))


def test_plan_by_hand():
    g = workload_from_tensors([LayerTensor("fc", W)])
    plan = plan_layer(g, "fc", HardwareConfig(**BASE))
    assert plan.work.tolist() == [[1, 0, 0], [2, 2, 1]]
    assert plan.col_bits.tolist() == [9, 6, 3]  # entries x (index_bits + 1) bits
    assert plan.readout_cycles == 2  # 2 rows per PE, 1 lane


def test_fifo_depth_1_log():
    # cycle 0: push col0.  1: PE0 retires its entry (done, frees at 2); PE1 1st of 2.
    # 2: PE1 2nd (col0 done at 3).  3: push col1 (PE1's slot free from 3).
    # 4: PE0 pops empty col1; PE1 1st.  5: PE1 2nd (done at 6).  6: push col2.
    # 7: PE0 pops empty col2; PE1 retires col2 (done at 8).  Tile = 8 cycles,
    # = (1+2) + (1+2) + (1+1). Readout: 2 cycles. Total 10.
    r = run().to_dict()
    lay = r["layers"][0]
    assert r["cycles"] == 10
    assert lay["pe_busy_cycles"] == [1, 5]
    # ideal = ceil(6 entries / 2 lanes) = 3; the busiest PE (PE1) holds 5 entries: imbalance
    # 5 - 3 = 2; one lane, so no lane idles within a column (0); 3 pushes at 1 per cycle
    # take 3 < 5 (0); the rest, 8 - 5 = 3, is FIFO back-pressure and pipeline fill.
    assert lay["stall_cycles"] == {
        "imbalance": 2, "column_lanes": 0, "broadcast": 0, "fifo": 3, "dram": 0, "readout": 2
    }  # fmt: skip
    assert r["counts"]["adds"] == 6 and r["counts"]["fifo_pushes"] == 6
    assert r["counts"]["weight_sram_read_bits"] == 18 and r["counts"]["dram_read_bits"] == 0


def test_fifo_depth_2_log():
    # b = 0, 1, then col2 waits for col0 to leave every FIFO: E(col0) = 3 -> b3 = 3.
    # PE1: col0 at 1..2 (e=3), col1 at 3..4 (e=5), col2 at 5 (e=6). PE0: e = 2, 2, 4.
    # Tile = 6, readout 2: 8 cycles. A third slot changes nothing (PE1 is the bottleneck).
    assert run(fifo_depth=2).cycles == 8
    assert run(fifo_depth=3).cycles == 8


def test_stalls_name_lanes_idle_within_a_column_and_the_push_rate():
    # 2 lanes: PE1 needs ceil(2/2) + ceil(2/2) + ceil(1/2) = 3 cycles for its 5 entries;
    # ideal ceil(6 / 4) = 2; busiest ceil(5 / 2) = 3: imbalance 1, lanes idle 0. With a
    # deep FIFO the 3 pushes (cycles 0, 1, 2) bound the tile: PE1 works 1..3, tile 4.
    lay = run(lanes_per_pe=2, fifo_depth=4).to_dict()["layers"][0]
    assert lay["stall_cycles"]["imbalance"] == 1 and lay["stall_cycles"]["column_lanes"] == 0
    assert lay["cycles"] - lay["stall_cycles"]["readout"] == 4
    # one PE owning all 4 rows, 4 lanes: positions 0, 1, 3 | 5, 7 | 11; the 3 zeros 8..10
    # need a padding entry (charged to column 2): entries 3, 2, 2 by column, one cycle
    # each: 3 cycles, not ceil(7 / 4) = 2: one cycle of idle lanes
    one = run(n_pe=1, lanes_per_pe=4, fifo_depth=4).to_dict()["layers"][0]["stall_cycles"]
    assert one["imbalance"] == 0 and one["column_lanes"] == 1


def test_dram_stream_log():
    # No weight SRAM: the layer streams. 2 bits/cycle after 2 cycles latency.
    # cumulative bits 9, 15, 18 -> avail = 2 + ceil(9/2) = 7, 2 + 8 = 10, 2 + 9 = 11.
    # fifo 2: b1 = 7; PE1 8..9 (e=10); PE0 e=9.  b2 = max(8, 10) = 10; PE1 11..12 (e=13).
    # b3 = max(11, E(col0)=10, 11) = 11; PE1 13 (e=14); PE0 e=12. Tile 14 (> stream end 11).
    # On chip the tile takes 6, so 8 dram stall cycles; + 2 readout = 16.
    r = run(
        fifo_depth=2, weight_sram_kib_per_pe=0.0, dram_latency_cycles=2, dram_bytes_per_cycle=0.25
    ).to_dict()
    assert r["cycles"] == 16 and r["dram_bound"]
    # on chip: ideal 3, imbalance 2 (to PE1's 5 entries), then FIFO/pipeline 1 (to 6)
    assert r["layers"][0]["stall_cycles"] == {
        "imbalance": 2, "column_lanes": 0, "broadcast": 0, "fifo": 1, "dram": 8, "readout": 2
    }  # fmt: skip
    assert r["counts"]["dram_read_bits"] == 18 and r["counts"]["weight_sram_read_bits"] == 0


def test_dense_binary_walks_every_pair():
    # zero_skip none: each PE walks its 2 rows per column; 2 lanes -> 1 cycle per column.
    # fifo 1: 3 x (1 + 1) = 6, readout ceil(2 / 2) = 1: 7 cycles; adds = 12 pairs.
    r = run(zero_skip="none", weight_format="dense-binary", lanes_per_pe=2)
    assert r.cycles == 7 and r.counts["adds"] == 12 and r.counts["index_decodes"] == 0
    assert r.counts["weight_sram_read_bits"] == 12  # 1 bit per weight


def test_activation_patterns_by_hand():
    cost = np.array([[1, 0, 0], [2, 2, 1]])
    pat = np.array([[1, 0, 1], [0, 1, 0], [0, 0, 0]], dtype=bool)
    # fifo 1: pattern 0 pushes cols 0, 2: (1+2) + (1+1) = 5; pattern 1: 1 + 2 = 3; none: 0.
    assert tile_cycles(cost, 1, pat).tolist() == [5, 3, 0]


def test_broadcast_width_by_hand():
    # One PE, 8 columns, one entry in column 4, FIFO depth 8.
    cost = np.array([[0, 0, 0, 0, 1, 0, 0, 0]])
    # w = 1: pushes at 0..7; col4 visible at 5, retired in 5; col7 pushed at 7, popped at 8.
    assert tile_cycles(cost, 8, width=1).tolist() == [8]
    # w = 2: pushes at 0,0,1,1,2,2,3,3; col4 visible at 3, retired in 3 (e = 4);
    # cols 5..7 pushed by 3 wait behind it and pop at 4.
    assert tile_cycles(cost, 8, width=2).tolist() == [4]
    # w = 4: pushes at 0 (cols 0..3) and 1 (cols 4..7); col4 retired in 2; tile 3.
    assert tile_cycles(cost, 8, width=4).tolist() == [3]
    # FIFO depth 2 with w = 4: each column needs the slot of the one two before it.
    # Pushes 0,0 (cols 0,1 pop at 1), 1,1 (pop at 2), 2,2: col4 retired in 3 (e = 4),
    # col5 pops behind it at 4; cols 6,7 get slots at 4 and pop at 5. Tile 5.
    assert tile_cycles(cost, 2, width=4).tolist() == [5]
    # The same through SimPy: 1 x 8 layer, lanes 1, readout ceil(1 / 1) = 1 cycle.
    w = np.zeros((1, 8), dtype=np.int8)
    w[0, 4] = 1
    g = workload_from_tensors([LayerTensor("fc", w)])
    cfg = HardwareConfig(n_pe=1, lanes_per_pe=1, fifo_depth=8, index_bits=3)
    assert simulate(g, cfg.replace(broadcast_acts_per_cycle=1)).cycles == 8 + 1
    assert simulate(g, cfg.replace(broadcast_acts_per_cycle=4)).cycles == 3 + 1


def test_kept_stall_bounds_do_not_leak_between_configs_of_one_workload():
    # the bounds are kept per layer in the workload cache: configs that differ in
    # activation skipping or broadcast width must not share them
    def layer():
        return LayerTensor("fc", W, act_density=0.5)

    shared = workload_from_tensors([layer()])
    for kw in ({"zero_skip": "weights"}, {"zero_skip": "weights+activations"},
               {"broadcast_acts_per_cycle": 3}, {"lanes_per_pe": 2}):  # fmt: skip
        cfg = HardwareConfig(**{**BASE, **kw})
        for fidelity in ("simpy", "analytical"):
            fresh = simulate(workload_from_tensors([layer()]), cfg, fidelity)
            assert simulate(shared, cfg, fidelity).stall_cycles == fresh.stall_cycles
