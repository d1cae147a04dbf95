"""Area and energy of the accelerator: counted actions x cost per action, as Accelergy does.

The simulator only counts (cycles, adds, SRAM/DRAM bits, FIFO pushes ...). This
module turns a :class:`~accelerators.config.HardwareConfig` into area and a count
dictionary into energy, from a technology table (:mod:`accelerators.tech`; the
bundled ``accelerators/data/tech45.toml`` cites a source or states an assumption
beside every number); ``codesign simulate --tech FILE`` replaces it.

Area components (mm^2, their sum is the total):

- ``pe_logic``: per lane an add/subtract unit (an ``acc_bits`` adder plus one XOR
  per bit for the sign) and a readout multiplier (``acc_bits`` x ``act_bits``, the
  layer scale); with a weight codebook (``eie`` entries of more than 2 value bits,
  EIE's weight sharing) also an ``act_bits`` x ``act_bits`` multiplier per lane;
- ``accumulators``: ``accumulator_rows`` x ``acc_bits`` flip-flops over all PEs;
- ``weight_sram``: ``n_pe`` macros of ``weight_sram_kib_per_pe``;
- ``pointer_sram``: ``n_pe`` macros of ``pointer_sram_kib_per_pe`` (``eie`` pointers);
- ``act_sram``: two ping-pong macros of ``act_sram_kib / 2``;
- ``fifos``: ``n_pe`` FIFOs of ``fifo_depth`` entries of ``col_bits + act_bits``
  (``col_bits`` = :func:`column_index_bits`), plus one MUX2 per entry bit for each
  write port beyond the first (``broadcast_acts_per_cycle`` write ports);
- ``decoder``: per lane a position-counter adder of ``decoder.pointer_bits`` (entry
  formats), for ``eie`` per PE a ``pointer_bits`` subtractor (``p_j+1 - p_j``) and two
  ``pointer_bits`` registers, and ``broadcast_acts_per_cycle`` leading-nonzero
  detectors (activation zero-skip only);
- ``broadcast``: ``broadcast_acts_per_cycle`` pipeline registers of one entry per
  PE plus control, a ``control_overhead_fraction`` of all the non-SRAM logic above.

Energy of one inference (uJ), **dynamic** components (pJ per action x count):

- ``arithmetic``: ``adds`` x (one ``acc_bits`` add + read and write of the
  accumulator), plus, with a weight codebook, one ``act_bits`` x ``act_bits``
  multiply and a codebook register read per nonzero entry retired;
- ``decoder``: ``index_decodes`` x one ``decoder.pointer_bits`` add;
- ``pointers``: ``pointer_sram_read_bits`` at the pointer macro's energy per bit
  (the weight macro's when pointers share it) plus one ``pointer_bits`` subtract per
  pointer pair (``eie``);
- ``weight_sram``: ``weight_sram_read_bits`` at the weight macro's energy per bit;
- ``act_sram``: ``act_sram_read_bits + act_sram_write_bits`` at the activation
  macro's energy per bit (writes cost as reads);
- ``dram``: ``dram_read_bits`` at the DRAM energy per bit;
- ``fifos``: ``fifo_pushes`` x entry bits x (one write + one read of a register bit):
  the per-PE activation registers the broadcast fills;
- ``readout``: ``readout_ops`` x (one scale multiply + one accumulator read);
- ``clock``: every cycle, every flip-flop bit (accumulators, FIFOs, broadcast and
  pointer registers) at the table's clock energy per bit per cycle (no gating);

and **leakage** (static) components, area x leakage per mm^2 per us x
``cycles / clock_mhz``: ``leakage_sram`` (the SRAM macros' area, at the table's SRAM
leakage) and ``leakage_logic`` (everything else, at its logic leakage). Their keys
start with ``leakage_`` (:data:`LEAKAGE_COMPONENTS`); ``energy_uj`` is dynamic + leakage.

``padding_entries`` costs nothing of its own: a padding entry's SRAM bits and
index decode are already in ``weight_sram_read_bits`` and ``index_decodes``.

>>> from accelerators import HardwareConfig
>>> e = energy_breakdown_uj({"adds": 1000}, 0, HardwareConfig())
>>> round(e["arithmetic"], 7)       # 1000 x (0.0767 + 2 x 24 x 0.007) pJ
0.0004127
"""

from __future__ import annotations

from typing import Any

from .tech import (
    TechTable,
    adder_area_um2,
    adder_energy_pj,
    column_index_bits,
    load_tech,
    mult_area_um2,
    mult_energy_pj,
    scale_to_node,
    sram_density_mm2_per_kib,
    sram_read64_energy_pj,
)
from .tech import __all__ as _tech_all

__all__ = [
    *_tech_all,
    "area_breakdown_mm2",
    "energy_breakdown_uj",
    "clocked_bits",
    "AREA_COMPONENTS",
    "ENERGY_COMPONENTS",
    "LEAKAGE_COMPONENTS",
    "COUNT_NAMES",
]

AREA_COMPONENTS = (
    "pe_logic",
    "accumulators",
    "weight_sram",
    "pointer_sram",
    "act_sram",
    "fifos",
    "decoder",
    "broadcast",
)
SRAM_AREA = ("weight_sram", "pointer_sram", "act_sram")
LEAKAGE_COMPONENTS = ("leakage_sram", "leakage_logic")
DYNAMIC_COMPONENTS = (
    "arithmetic",
    "decoder",
    "pointers",
    "weight_sram",
    "act_sram",
    "dram",
    "fifos",
    "readout",
    "clock",
)
ENERGY_COMPONENTS = DYNAMIC_COMPONENTS + LEAKAGE_COMPONENTS
# contract 2 (docs/contracts.md): the counted actions energy is charged for
COUNT_NAMES = (
    "adds",
    "useful_adds",
    "padding_entries",
    "weight_sram_read_bits",
    "pointer_sram_read_bits",
    "dram_read_bits",
    "act_sram_read_bits",
    "act_sram_write_bits",
    "broadcast_pushes",
    "fifo_pushes",
    "readout_ops",
    "index_decodes",
)


def _at_node(tech: TechTable | None, config: Any) -> TechTable:
    tech = load_tech() if tech is None else tech
    return scale_to_node(tech, config.tech_node_nm)


# ---------------------------------------------------------------- area and energy


def _codebook(config: Any) -> bool:
    """Whether stored values index a weight codebook (EIE's weight sharing): an ``eie``
    entry of more than 2 value bits; otherwise weights are ternary (no multiply)."""
    return config.weight_format == "eie" and config.weight_bits > 2


def clocked_bits(config: Any, tech: TechTable, max_rows: int | None = None) -> float:
    """Flip-flop bits clocked every cycle: accumulators, FIFOs, broadcast pipeline
    registers and, for ``eie``, two pointer registers per PE."""
    rows = tech.accumulator_rows if max_rows is None else max_rows
    entry_bits = column_index_bits(config) + config.act_bits
    bits = rows * config.acc_bits + config.n_pe * config.fifo_depth * entry_bits
    bits += config.broadcast_acts_per_cycle * config.n_pe * entry_bits
    if config.weight_format == "eie":
        bits += config.n_pe * 2 * config.pointer_bits
    return bits


def area_breakdown_mm2(
    config: Any, tech: TechTable | None = None, *, max_rows: int | None = None
) -> dict[str, float]:
    """Area of ``config`` by component, mm^2 (keys :data:`AREA_COMPONENTS`; total = sum).

    ``tech`` (default: the bundled table) is scaled to ``config.tech_node_nm``
    first. ``max_rows`` overrides the table's ``accumulator_rows`` (the widest
    layer the accumulators must cover). Formulas: this module's docstring.
    """
    t = _at_node(tech, config)
    n_pe, lanes, width = config.n_pe, config.lanes_per_pe, config.broadcast_acts_per_cycle
    acc, act = config.acc_bits, config.act_bits
    entry_bits = column_index_bits(config) + act
    rows = t.accumulator_rows if max_rows is None else max_rows
    fifo_bit_um2 = t.fifo_area_um2_per_bit + (width - 1) * t.mux2_area_um2
    lane_um2 = adder_area_um2(t, acc) + acc * t.xor2_area_um2 + mult_area_um2(t, acc, act)
    if _codebook(config):
        lane_um2 += mult_area_um2(t, act, act)
    decoder = 0.0
    if config.sparse_format:
        decoder += n_pe * lanes * adder_area_um2(t, t.decoder_pointer_bits)
    if config.weight_format == "eie":
        ptr = config.pointer_bits
        decoder += n_pe * (adder_area_um2(t, ptr) + 2 * ptr * t.flop_area_um2_per_bit)
    if config.zero_skip == "weights+activations":
        decoder += width * t.lnzd_inputs * act * t.lnzd_ge_per_act_bit * t.nand2_area_um2
    um2 = {
        "pe_logic": n_pe * lanes * lane_um2,
        "accumulators": rows * acc * t.accumulator_area_um2_per_bit,
        "fifos": n_pe * config.fifo_depth * entry_bits * fifo_bit_um2,
        "decoder": decoder,
    }
    bus = width * n_pe * entry_bits * t.flop_area_um2_per_bit
    um2["broadcast"] = bus + t.control_overhead_fraction * (sum(um2.values()) + bus)
    w_kib, p_kib = config.weight_sram_kib_per_pe, config.pointer_sram_kib_per_pe
    a_kib = config.act_sram_kib / 2
    mm2 = {k: v * 1e-6 for k, v in um2.items()}
    mm2["weight_sram"] = n_pe * w_kib * sram_density_mm2_per_kib(t, w_kib)
    mm2["pointer_sram"] = n_pe * p_kib * sram_density_mm2_per_kib(t, p_kib) if p_kib else 0.0
    mm2["act_sram"] = 2 * a_kib * sram_density_mm2_per_kib(t, a_kib)
    return {k: float(mm2[k]) for k in AREA_COMPONENTS}


def energy_breakdown_uj(
    counts: dict[str, int],
    cycles: int,
    config: Any,
    tech: TechTable | None = None,
    *,
    area_mm2: float | dict[str, float] | None = None,
) -> dict[str, float]:
    """Energy of one inference by component, uJ (keys :data:`ENERGY_COMPONENTS`; total =
    sum; dynamic components and the ``leakage_*`` ones, see the module docstring).

    ``counts`` holds contract 2's action counts (a missing name counts 0);
    ``cycles`` is the run time in clock cycles, for the clock and leakage.
    ``area_mm2``: the area breakdown (or a total, all counted as logic) that leaks;
    default :func:`area_breakdown_mm2`.
    """
    for name in COUNT_NAMES:
        if counts.get(name, 0) < 0:
            raise ValueError(f"count {name} = {counts[name]} is negative")
    if cycles < 0:
        raise ValueError(f"cycles = {cycles} is negative")
    t = _at_node(tech, config)
    c = {name: counts.get(name, 0) for name in COUNT_NAMES}
    acc, act = config.acc_bits, config.act_bits
    reg = t.register_access_energy_pj_per_bit
    entry_bits = column_index_bits(config) + act
    if area_mm2 is None:
        area_mm2 = area_breakdown_mm2(config, tech)
    if not isinstance(area_mm2, dict):
        area_mm2 = {"pe_logic": float(area_mm2)}
    arith = c["adds"] * (adder_energy_pj(t, acc) + 2 * acc * reg)
    if _codebook(config):
        arith += c["useful_adds"] * (mult_energy_pj(t, act, act) + act * reg)
    p_kib = config.pointer_sram_kib_per_pe or config.weight_sram_kib_per_pe
    pointer_pairs = c["pointer_sram_read_bits"] / (2 * config.pointer_bits)
    pj = {
        "arithmetic": arith,
        "decoder": c["index_decodes"] * adder_energy_pj(t, t.decoder_pointer_bits),
        "pointers": c["pointer_sram_read_bits"] * sram_read64_energy_pj(t, p_kib) / 64
        + pointer_pairs * adder_energy_pj(t, config.pointer_bits),
        "weight_sram": c["weight_sram_read_bits"]
        * sram_read64_energy_pj(t, config.weight_sram_kib_per_pe)
        / 64,
        "act_sram": (c["act_sram_read_bits"] + c["act_sram_write_bits"])
        * sram_read64_energy_pj(t, config.act_sram_kib / 2)
        / 64,
        "dram": c["dram_read_bits"] * t.dram_read64_energy_pj / 64,
        "fifos": c["fifo_pushes"] * entry_bits * 2 * reg,
        "readout": c["readout_ops"] * (mult_energy_pj(t, acc, act) + acc * reg),
        "clock": cycles * clocked_bits(config, t) * t.clock_energy_pj_per_bit_cycle,
    }
    uj = {k: v * 1e-6 for k, v in pj.items()}
    run_us = cycles / config.clock_mhz
    sram = sum(v for k, v in area_mm2.items() if k in SRAM_AREA)
    logic = sum(v for k, v in area_mm2.items() if k not in SRAM_AREA)
    uj["leakage_sram"] = sram * t.leakage_sram_uj_per_mm2_us * run_us
    uj["leakage_logic"] = logic * t.leakage_logic_uj_per_mm2_us * run_us
    return {k: float(uj[k]) for k in ENERGY_COMPONENTS}
