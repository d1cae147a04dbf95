"""The stored weight encodings, entry and pointer counts worked out by hand."""

import numpy as np

from accelerators import HardwareConfig, LayerTensor, simulate, workload_from_tensors
from accelerators.encoding import encoded_entries, pe_column_entries, stored_weight_bits

# One PE, one column of 40 rows: nonzeros at rows 0, 20 and 39.
COL = np.zeros((40, 1), dtype=np.int8)
COL[[0, 20, 39], 0] = [1, -1, 1]


def test_eie_runs_padding_every_16_positions():
    # EIE (4-bit z): zeros before each nonzero: 0, 19, 18. A padding covers 16
    # positions (15 zeros + the stored zero): 19 -> 1 padding, 18 -> 1 padding.
    real, pad = pe_column_entries(COL, n_pe=1, index_bits=4, scheme="eie")
    assert real.tolist() == [[3]] and pad.tolist() == [[2]]
    # csc with 4-bit indices: a padding skips 15 zeros: 19 // 15 = 1, 18 // 15 = 1.
    assert encoded_entries(COL, 1, 4, "csc") == (5, 2)


def test_eie_runs_restart_at_each_column():
    # 2 rows x 3 cols on one PE, index_bits 1 (a padding covers 2 positions).
    m = np.array([[0, 0, 0], [1, 0, 1]], dtype=np.int8)
    # eie: col 0: 1 zero before row 1 -> 0 pads; col 1 empty -> no entry;
    # col 2: 1 zero -> 0 pads. 2 entries.
    assert encoded_entries(m, 1, 1, "eie") == (2, 0)
    # csc: positions 1 and 5; the run of 3 zeros (2..4) between them, span 1 -> 3 pads,
    # and 1 zero (0) before the first -> 1 pad.
    assert encoded_entries(m, 1, 1, "csc") == (6, 4)


def test_eie_stored_bits_count_entries_and_pointers():
    # 4 rows x 3 cols on 2 PEs (PE0 rows 0, 2; PE1 rows 1, 3), 4-bit z + 4-bit value.
    m = np.array([[1, 0, 0], [0, 0, 0], [0, 0, -1], [1, 0, 0]], dtype=np.int8)
    cfg = HardwareConfig(n_pe=2, weight_format="eie", index_bits=4, weight_bits=4, pointer_bits=16)
    # entries: PE0 col 0 (row 0), col 2 (row 2): 2; PE1 col 0 (row 3): 1 -> 3 x 8 bits;
    # pointers: 2 PEs x (3 + 1) x 16 bits = 128.
    assert stored_weight_bits(m, cfg) == 3 * 8 + 128
    # more PEs than rows: only the 4 PEs owning rows keep pointers
    assert stored_weight_bits(m, cfg.replace(n_pe=8)) == 3 * 8 + 4 * 4 * 16
    dense = cfg.replace(weight_format="dense-ternary", zero_skip="none")
    assert stored_weight_bits(m, dense) == 12 * 2


def test_eie_empty_column_costs_a_pointer_cycle():
    # 1 PE, 1 lane, FIFO depth 1, one-wide broadcast. Columns hold 2, 0, 1 entries.
    m = np.array([[1, 0, 0], [1, 0, -1]], dtype=np.int8)
    g = workload_from_tensors([LayerTensor("a", m)])
    base = dict(
        n_pe=1,
        lanes_per_pe=1,
        fifo_depth=1,
        broadcast_acts_per_cycle=1,
        index_bits=3,
        weight_sram_kib_per_pe=1.0,
        pointer_sram_kib_per_pe=1.0,
    )
    # depth 1: sum over columns of (1 + cost); csc with 3-bit indices needs no padding
    # (the run between positions 1 and 5 is 3 < 7 zeros): (1+2)+(1+0)+(1+1) = 6, readout 2
    assert simulate(g, HardwareConfig(**base)).cycles == 6 + 2
    # eie: the empty column still costs its pointer read: (1+2)+(1+1)+(1+1) = 7 + 2
    r = simulate(g, HardwareConfig(**base, weight_format="eie"))
    assert r.cycles == 7 + 2
    # two pointers of 16 bits per pushed column: 3 x 32 bits
    assert r.counts["pointer_sram_read_bits"] == 96 and r.counts["adds"] == 3
    assert r.layers[0].weight_bits_stored == 3 * (3 + 2) + 4 * 16  # 3 entries, 1 PE x 4 ptrs
