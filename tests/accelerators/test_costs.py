"""Area and energy from the technology table, computed by hand for tiny cases."""

from __future__ import annotations

import dataclasses
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from accelerators import HardwareConfig, InputError
from accelerators.costs import (
    AREA_COMPONENTS,
    ENERGY_COMPONENTS,
    area_breakdown_mm2,
    energy_breakdown_uj,
    load_tech,
    scale_to_node,
    sram_density_mm2_per_kib,
    sram_read64_energy_pj,
)

TINY = dict(
    n_pe=2,
    lanes_per_pe=2,
    clock_mhz=100.0,
    tech_node_nm=45,
    act_bits=8,
    acc_bits=8,
    index_bits=4,
    weight_sram_kib_per_pe=8.0,
    act_sram_kib=64.0,
    fifo_depth=4,
    broadcast_acts_per_cycle=1,
    zero_skip="weights+activations",
    weight_format="csc",
)


def config(**kw) -> HardwareConfig:
    return HardwareConfig(**{**TINY, **kw})


TECH = load_tech()


def test_bundled_table_holds_the_design_constants():
    assert TECH.node_nm == 45.0
    assert (TECH.add8_energy_pj, TECH.add32_energy_pj) == (0.03, 0.1)
    assert (TECH.add8_area_um2, TECH.add32_area_um2) == (36.0, 137.0)
    assert TECH.sram_size_kib == (8.0, 32.0, 64.0, 128.0, 1024.0)
    # H14's 10 / 20 / 100 pJ; at 64 and 128 KiB its 32 KiB -> 1 MiB power law (log 5 / log 32)
    assert TECH.sram_read64_energy_pj[0:2] + TECH.sram_read64_energy_pj[4:] == (10.0, 20.0, 100.0)
    assert TECH.sram_read64_energy_pj[2] == pytest.approx(20 * 2 ** (math.log(5) / math.log(32)))
    assert TECH.sram_read64_energy_pj[3] == pytest.approx(20 * 4 ** (math.log(5) / math.log(32)))
    assert 1300 <= TECH.dram_read64_energy_pj <= 2600
    # CACTI 7 macro areas over their sizes (tech45.toml [C7]): 0.0030-0.0034 mm^2/KiB
    assert all(0.0029 <= d <= 0.0034 for d in TECH.sram_density_mm2_per_kib)
    assert TECH.sram_density_mm2_per_kib[3] == pytest.approx(0.429589 / 128, rel=1e-3)
    # leakage: CACTI LSTP 128 KiB 0.00334055 mW / 0.429589 mm^2; NanGate DLL_X1 40.86 nW / 2.66 um^2
    assert TECH.leakage_sram_uj_per_mm2_us == pytest.approx(0.00334055 / 0.429589 / 1000, rel=0.01)
    assert TECH.leakage_logic_uj_per_mm2_us == pytest.approx(40.863416 / 2.66 / 1000, rel=0.01)


def test_sram_interpolation_by_hand():
    # at the listed sizes: the table; between 8 and 32 KiB log-log: 10 * (16/8)**0.5
    assert sram_read64_energy_pj(TECH, 32.0) == pytest.approx(20.0)
    assert sram_read64_energy_pj(TECH, 16.0) == pytest.approx(10 * math.sqrt(2))
    # below 8 KiB the 8->32 KiB power law (exponent 0.5) extends: 2 KiB -> 10 * sqrt(1/4)
    assert sram_read64_energy_pj(TECH, 2.0) == pytest.approx(5.0)
    # 128 KiB -> 1 MiB log-log between the listed 38.0731 and 100 pJ: at 256 KiB (1 of 3
    # octaves) 38.0731 * (100 / 38.0731)**(1/3); H14's own power law gives 20 * 5**0.6 there
    assert sram_read64_energy_pj(TECH, 256.0) == pytest.approx(38.0731 * (100 / 38.0731) ** (1 / 3))
    assert sram_read64_energy_pj(TECH, 256.0) == pytest.approx(20 * 5**0.6, rel=1e-5)
    # density held at the ends
    assert sram_density_mm2_per_kib(TECH, 1.0) == 0.003283
    assert sram_density_mm2_per_kib(TECH, 4096.0) == 0.003186
    # 16 KiB: half-way (in log size) between 8 KiB (0.003283) and 32 KiB (0.002964)
    want = 0.003283 * (0.002964 / 0.003283) ** 0.5
    assert sram_density_mm2_per_kib(TECH, 16.0) == pytest.approx(want)


def test_area_by_hand():
    a = area_breakdown_mm2(config(), TECH, max_rows=16)
    assert tuple(a) == AREA_COMPONENTS
    # pe_logic: 2 PEs x 2 lanes x (8-bit adder 36 + 8 XOR x 1.596 + 8x8 readout mult 282)
    assert a["pe_logic"] == pytest.approx(4 * (36 + 8 * 1.596 + 282) * 1e-6)
    # accumulators: 16 rows x 8 bits x 6.384 um^2
    assert a["accumulators"] == pytest.approx(16 * 8 * 6.384e-6)
    # FIFO entry: column index ceil(log2(64 KiB * 8192 / 2 / 8 = 32768)) = 15 bits + 8 act bits
    assert a["fifos"] == pytest.approx(2 * 4 * 23 * 8.246e-6)
    # decoder: 4 lanes x 20-bit adder (36 + 12 * 101/24 = 86.5) + LNZD 16 acts x 8 bits x 2 GE x 0.798
    assert a["decoder"] == pytest.approx((4 * 86.5 + 16 * 8 * 2 * 0.798) * 1e-6)
    # broadcast: 2 PEs x 23-bit register x 4.522 + 10% of all non-SRAM logic incl. that register
    bus = 2 * 23 * 4.522
    logic = 4 * (36 + 8 * 1.596 + 282) + 16 * 8 * 6.384 + 2 * 4 * 23 * 8.246
    logic += 4 * 86.5 + 16 * 8 * 2 * 0.798 + bus
    assert a["broadcast"] == pytest.approx((bus + 0.1 * logic) * 1e-6)
    # SRAM: 2 macros of 8 KiB at 0.003283; 2 halves of 32 KiB at 0.002964 mm^2/KiB
    assert a["weight_sram"] == pytest.approx(2 * 8 * 0.003283)
    assert a["act_sram"] == pytest.approx(2 * 32 * 0.002964)


def test_area_follows_the_configured_features():
    full = area_breakdown_mm2(config(), TECH)
    assert full["accumulators"] == pytest.approx(1024 * 8 * 6.384e-6)  # table default rows
    no_lnzd = area_breakdown_mm2(config(zero_skip="weights"), TECH)
    assert full["decoder"] - no_lnzd["decoder"] == pytest.approx(16 * 8 * 2 * 0.798e-6)
    dense = area_breakdown_mm2(config(zero_skip="none", weight_format="dense-ternary"), TECH)
    assert dense["decoder"] == 0.0


def test_wider_broadcast_by_hand():
    one = area_breakdown_mm2(config(), TECH, max_rows=16)
    three = area_breakdown_mm2(config(broadcast_acts_per_cycle=3), TECH, max_rows=16)
    # FIFOs: 2 more write ports, one MUX2 (1.862 um^2) each per entry bit (2 x 4 x 23 bits)
    assert three["fifos"] - one["fifos"] == pytest.approx(2 * 4 * 23 * 2 * 1.862e-6)
    # LNZD: three detectors of 16 acts x 8 bits x 2 GE
    assert three["decoder"] - one["decoder"] == pytest.approx(2 * 16 * 8 * 2 * 0.798e-6)
    # broadcast: 3 registers per PE; plus 10% of every extra logic um^2 above
    extra_logic = 2 * 2 * 23 * 4.522 + 2 * 4 * 23 * 2 * 1.862 + 2 * 16 * 8 * 2 * 0.798
    extra_bus = 2 * 2 * 23 * 4.522
    assert three["broadcast"] - one["broadcast"] == pytest.approx(
        (extra_bus + 0.1 * extra_logic) * 1e-6
    )
    assert three["pe_logic"] == one["pe_logic"] and three["weight_sram"] == one["weight_sram"]


def test_energy_by_hand():
    counts = {
        "adds": 10,
        "padding_entries": 2,  # costs nothing of its own
        "index_decodes": 12,
        "weight_sram_read_bits": 640,
        "act_sram_read_bits": 64,
        "act_sram_write_bits": 128,
        "dram_read_bits": 128,
        "fifo_pushes": 6,
        "readout_ops": 4,
    }
    area = {"pe_logic": 1.5, "weight_sram": 0.25, "act_sram": 0.25}
    e = energy_breakdown_uj(counts, 50, config(), TECH, area_mm2=area)
    assert tuple(e) == ENERGY_COMPONENTS
    # clocked bits: 1024 accumulators x 8 + 2 PEs x 4 FIFO entries x 23 + 1 x 2 x 23 = 8422
    clock_pj = 50 * (1024 * 8 + 2 * 4 * 23 + 2 * 23) * 0.0016
    want_pj = {
        "arithmetic": 10 * (0.03 + 2 * 8 * 0.007),  # 8-bit add + accumulator read and write
        "decoder": 12 * (0.03 + 12 * 0.07 / 24),  # 20-bit pointer add
        "weight_sram": 640 * 10 / 64,  # 8 KiB macro: 10 pJ per 64 bits
        "act_sram": (64 + 128) * 20 / 64,  # 32 KiB half: 20 pJ per 64 bits
        "dram": 128 * 1950 / 64,
        "fifos": 6 * 23 * 2 * 0.007,  # 23-bit entry written and read
        "readout": 4 * (0.2 + 8 * 0.007),  # 8x8 multiply + accumulator read
        "clock": clock_pj,
        "pointers": 0.0,  # csc: no column pointers
    }
    for k, v in want_pj.items():
        assert e[k] == pytest.approx(v * 1e-6), k
    # leakage over 50 cycles / 100 MHz = 0.5 us: SRAM 0.5 mm^2 x 0.0000078 uJ/(mm^2 us),
    # logic 1.5 mm^2 x 0.0154 uJ/(mm^2 us)
    assert e["leakage_sram"] == pytest.approx(0.5 * 0.0000078 * 0.5)
    assert e["leakage_logic"] == pytest.approx(1.5 * 0.0154 * 0.5)
    leak = 0.5 * 0.0000078 * 0.5 + 1.5 * 0.0154 * 0.5
    assert sum(e.values()) == pytest.approx(sum(want_pj.values()) * 1e-6 + leak)


def test_eie_pointer_and_codebook_energy_by_hand():
    cfg = config(
        weight_format="eie",
        index_bits=4,
        weight_bits=4,
        pointer_bits=16,
        pointer_sram_kib_per_pe=8.0,
    )
    # 3 pointer pairs: 96 bits read from an 8 KiB macro (10 pJ / 64 bits) + 3 16-bit subtracts
    e = energy_breakdown_uj({"pointer_sram_read_bits": 96, "useful_adds": 5}, 0, cfg, TECH)
    sub16 = 0.03 + 8 * 0.07 / 24
    assert e["pointers"] == pytest.approx((96 * 10 / 64 + 3 * sub16) * 1e-6)
    # 4-bit codebook: each useful entry costs an 8x8 multiply (0.2 pJ) + 8-bit register read
    assert e["arithmetic"] == pytest.approx(5 * (0.2 + 8 * 0.007) * 1e-6)
    a = area_breakdown_mm2(cfg, TECH, max_rows=16)
    assert a["pointer_sram"] == pytest.approx(2 * 8 * 0.003283)


def test_energy_missing_counts_are_zero_and_leakage_uses_the_area():
    e = energy_breakdown_uj({}, 100, config(), TECH)
    area = area_breakdown_mm2(config(), TECH)
    sram = area["weight_sram"] + area["pointer_sram"] + area["act_sram"]
    logic = sum(area.values()) - sram
    idle = ("leakage_sram", "leakage_logic", "clock")
    assert all(e[k] == 0.0 for k in ENERGY_COMPONENTS if k not in idle)
    # 100 cycles at 100 MHz = 1 us
    assert e["leakage_sram"] == pytest.approx(sram * 0.0000078 * 1.0)
    assert e["leakage_logic"] == pytest.approx(logic * 0.0154 * 1.0)
    with pytest.raises(ValueError):
        energy_breakdown_uj({"adds": -1}, 1, config(), TECH)


def test_scale_to_node_by_hand():
    t = scale_to_node(TECH, 90)  # s = 2
    assert t.node_nm == 90
    assert t.add8_area_um2 == pytest.approx(36 * 4)  # area x s^2
    want = (0.003283 * 4, 0.002964 * 4, 0.003266 * 4, 0.003356 * 4, 0.003186 * 4)
    assert t.sram_density_mm2_per_kib == pytest.approx(want)
    assert t.add32_energy_pj == pytest.approx(0.2)  # on-chip energy x s
    assert t.sram_read64_energy_pj == pytest.approx((20.0, 40.0, 55.1892, 76.1462, 200.0))
    assert t.dram_read64_energy_pj == 1950.0  # off chip: unchanged
    assert t.leakage_sram_uj_per_mm2_us == 0.0000078  # per mm^2: unchanged
    assert t.leakage_logic_uj_per_mm2_us == 0.0154
    assert t.decoder_pointer_bits == 20.0
    assert scale_to_node(t, 45).add8_area_um2 == pytest.approx(36.0)
    with pytest.raises(InputError, match="tech_node_nm"):
        scale_to_node(TECH, 0)


def test_config_node_scales_area_and_energy():
    a45 = area_breakdown_mm2(config(), TECH)
    a90 = area_breakdown_mm2(config(tech_node_nm=90), TECH)
    for k in AREA_COMPONENTS:
        assert a90[k] == pytest.approx(4 * a45[k]), k
    counts = {"adds": 100, "dram_read_bits": 640}
    e45 = energy_breakdown_uj(counts, 10, config(), TECH)
    e90 = energy_breakdown_uj(counts, 10, config(tech_node_nm=90), TECH)
    assert e90["arithmetic"] == pytest.approx(2 * e45["arithmetic"])
    assert e90["dram"] == pytest.approx(e45["dram"])
    assert e90["leakage_logic"] == pytest.approx(4 * e45["leakage_logic"])


def _config_or_dense(weight_format: str, **kw) -> HardwareConfig:
    if weight_format.startswith("dense"):  # dense formats walk every weight: zero_skip none
        kw["zero_skip"] = "none"
    return config(weight_format=weight_format, **kw)


configs = st.builds(
    _config_or_dense,
    n_pe=st.integers(1, 256),
    lanes_per_pe=st.integers(1, 8),
    act_bits=st.integers(1, 16),
    acc_bits=st.integers(8, 32),
    weight_sram_kib_per_pe=st.one_of(st.just(0.0), st.floats(0.5, 4096)),
    act_sram_kib=st.floats(1, 4096),
    fifo_depth=st.integers(1, 64),
    zero_skip=st.sampled_from(["none", "weights", "weights+activations"]),
    weight_format=st.sampled_from(["csc", "eie", "dense-ternary", "dense-binary"]),
    tech_node_nm=st.sampled_from([7, 16, 28, 45, 65, 90]),
)


@settings(max_examples=200, deadline=None)
@given(configs, st.integers(1, 64))
def test_more_pes_never_less_area(cfg, more):
    small = area_breakdown_mm2(cfg, TECH)
    big = area_breakdown_mm2(cfg.replace(n_pe=cfg.n_pe + more), TECH)
    assert sum(big.values()) >= sum(small.values())
    assert all(v >= 0 for v in small.values())


@settings(max_examples=100, deadline=None)
@given(configs, st.floats(1.01, 16))
def test_more_sram_never_less_area(cfg, factor):
    base = sum(area_breakdown_mm2(cfg, TECH).values())
    w = cfg.replace(weight_sram_kib_per_pe=cfg.weight_sram_kib_per_pe * factor)
    a = cfg.replace(act_sram_kib=cfg.act_sram_kib * factor)
    assert sum(area_breakdown_mm2(w, TECH).values()) >= base
    assert sum(area_breakdown_mm2(a, TECH).values()) >= base


@settings(max_examples=50, deadline=None)
@given(
    configs,
    st.dictionaries(
        st.sampled_from(["adds", "dram_read_bits", "fifo_pushes"]), st.integers(0, 10**9)
    ),
)
def test_dynamic_energy_is_linear_in_counts(cfg, counts):
    one = energy_breakdown_uj(counts, 0, cfg, TECH)
    two = energy_breakdown_uj({k: 2 * v for k, v in counts.items()}, 0, cfg, TECH)
    for k in ENERGY_COMPONENTS:
        assert two[k] == pytest.approx(2 * one[k])
    assert sum(two.values()) == pytest.approx(sum(two[k] for k in ENERGY_COMPONENTS))


# ------------------------------------------------------------------ bad tech files


def _bundled_text() -> str:
    from importlib import resources

    return resources.files("accelerators").joinpath("data/tech45.toml").read_text()


def _write(tmp_path, text):
    p = tmp_path / "tech.toml"
    p.write_text(text)
    return p


def test_a_copy_of_the_bundled_file_loads_the_same(tmp_path):
    t = load_tech(_write(tmp_path, _bundled_text()))
    assert dataclasses.replace(t, source="x") == dataclasses.replace(TECH, source="x")


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (("add8_energy_pj = 0.03", "add8_energy_pj = -0.03"), "logic.add8_energy_pj = -0.03"),
        (("add8_energy_pj = 0.03", ""), "'logic.add8_energy_pj' is missing"),
        (
            ("add8_energy_pj = 0.03", "add8_energy_pj = 0.03\nadd9_energy_pj = 1"),
            "logic.add9_energy_pj",
        ),
        (("add8_energy_pj = 0.03", 'add8_energy_pj = "cheap"'), "finite number"),
        (("size_kib = [8.0, 32.0, 64.0", "size_kib = [8.0, 64.0, 32.0"), "increasing"),
        (("size_kib = [8.0, 32.0, 64.0, 128.0, 1024.0]", "size_kib = [8.0, 32.0]"), "per size"),
        (("node_nm = 45", "node_nm = 0"), "node_nm = 0.* > 0"),
        (("[dram]", "[dram"), "not valid TOML"),
    ],
)
def test_bad_tech_files_name_the_key(tmp_path, edit, message):
    text = _bundled_text()
    assert edit[0] in text
    path = _write(tmp_path, text.replace(edit[0], edit[1], 1))
    with pytest.raises(InputError, match=message) as err:
        load_tech(path)
    assert str(path) in str(err.value)  # and the file


def test_missing_tech_file(tmp_path):
    with pytest.raises(InputError, match="not found"):
        load_tech(tmp_path / "nope.toml")
