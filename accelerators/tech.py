"""The technology table (cost constants and their sources) and the cost of one part.

A :class:`TechTable` is one technology's constants, units in the field names, read
from a TOML file (:func:`load_tech`; the bundled one is
``accelerators/data/tech45.toml``) and moved to another node by
:func:`scale_to_node`. The per-part functions interpolate it: adders linearly in bit
width between the 8- and 32-bit points; multipliers log-log in the effective width
``sqrt(a * b)``; SRAM read energy log-log in macro size (extrapolated); SRAM density
log-log in size, held at the end values. :mod:`accelerators.costs` adds the parts up.

>>> tech = load_tech()
>>> round(adder_energy_pj(tech, 24), 4)     # 0.03 + (24 - 8) * (0.1 - 0.03) / 24
0.0767
>>> round(sram_read64_energy_pj(tech, 16.0), 3)   # between 8 KiB (10 pJ) and 32 KiB (20 pJ)
14.142
"""

from __future__ import annotations

import functools
import math
import os
import tomllib
from dataclasses import dataclass, field, fields, replace
from importlib import resources
from typing import Any

from ._errors import InputError
from ._files import read_toml

__all__ = [
    "TechTable",
    "load_tech",
    "scale_to_node",
    "adder_area_um2",
    "adder_energy_pj",
    "mult_area_um2",
    "mult_energy_pj",
    "sram_read64_energy_pj",
    "sram_density_mm2_per_kib",
    "column_index_bits",
]

# How a constant moves with the node (see scale_to_node).
_AREA, _ENERGY, _FIXED = "area", "energy", "fixed"


def _f(section: str, key: str, scaling: str, kind: str = "number"):
    return field(metadata={"section": section, "key": key, "scaling": scaling, "kind": kind})


@dataclass(frozen=True)
class TechTable:
    """One technology's cost constants; units in the field names.

    Build it with :func:`load_tech`; :func:`scale_to_node` derives another node.
    The ``sram_*`` fields are tuples over the macro sizes ``sram_size_kib``.
    ``source`` says where the numbers came from (a file path, plus the scaling).
    """

    node_nm: float = _f("", "node_nm", _FIXED, "positive")
    add8_energy_pj: float = _f("logic", "add8_energy_pj", _ENERGY)
    add32_energy_pj: float = _f("logic", "add32_energy_pj", _ENERGY)
    mult8_energy_pj: float = _f("logic", "mult8_energy_pj", _ENERGY, "positive")
    mult32_energy_pj: float = _f("logic", "mult32_energy_pj", _ENERGY, "positive")
    add8_area_um2: float = _f("logic", "add8_area_um2", _AREA)
    add32_area_um2: float = _f("logic", "add32_area_um2", _AREA)
    mult8_area_um2: float = _f("logic", "mult8_area_um2", _AREA, "positive")
    mult32_area_um2: float = _f("logic", "mult32_area_um2", _AREA, "positive")
    xor2_area_um2: float = _f("logic", "xor2_area_um2", _AREA)
    mux2_area_um2: float = _f("logic", "mux2_area_um2", _AREA)
    nand2_area_um2: float = _f("logic", "nand2_area_um2", _AREA)
    sram_size_kib: tuple[float, ...] = _f("sram", "size_kib", _FIXED, "sizes")
    sram_read64_energy_pj: tuple[float, ...] = _f("sram", "read64_energy_pj", _ENERGY, "list")
    sram_density_mm2_per_kib: tuple[float, ...] = _f("sram", "density_mm2_per_kib", _AREA, "list")
    dram_read64_energy_pj: float = _f("dram", "read64_energy_pj", _FIXED)
    accumulator_area_um2_per_bit: float = _f("registers", "accumulator_area_um2_per_bit", _AREA)
    fifo_area_um2_per_bit: float = _f("registers", "fifo_area_um2_per_bit", _AREA)
    flop_area_um2_per_bit: float = _f("registers", "flop_area_um2_per_bit", _AREA)
    register_access_energy_pj_per_bit: float = _f("registers", "access_energy_pj_per_bit", _ENERGY)
    clock_energy_pj_per_bit_cycle: float = _f("registers", "clock_energy_pj_per_bit_cycle", _ENERGY)
    decoder_pointer_bits: float = _f("decoder", "pointer_bits", _FIXED, "positive")
    lnzd_inputs: float = _f("decoder", "lnzd_inputs", _FIXED)
    lnzd_ge_per_act_bit: float = _f("decoder", "lnzd_ge_per_act_bit", _FIXED)
    accumulator_rows: float = _f("design", "accumulator_rows", _FIXED)
    control_overhead_fraction: float = _f("design", "control_overhead_fraction", _FIXED)
    leakage_sram_uj_per_mm2_us: float = _f("leakage", "sram_energy_uj_per_mm2_us", _FIXED)
    leakage_logic_uj_per_mm2_us: float = _f("leakage", "logic_energy_uj_per_mm2_us", _FIXED)
    source: str = "accelerators/data/tech45.toml"

    def to_dict(self) -> dict[str, Any]:
        """The table as a JSON-ready dict (tuples become lists)."""
        return {
            f.name: list(v) if isinstance(v := getattr(self, f.name), tuple) else v
            for f in fields(self)
        }


def _spec() -> list[Any]:
    return [f for f in fields(TechTable) if f.metadata]


def _key_name(f: Any) -> str:
    sec, key = f.metadata["section"], f.metadata["key"]
    return f"{sec}.{key}" if sec else key


#: the largest value a tech key may hold (pJ, mm^2, KiB ...): far above any physical
#: constant, and low enough that energies and areas summed over 10^12 events stay finite
#: (1e308 pJ per bit gave an energy of inf uJ, printed as Infinity by --json)
MAX_VALUE = 1e9


def _check_number(name: str, value: Any, positive: bool) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise InputError(f"tech {name}", value, "a finite number")
    if value > MAX_VALUE:
        raise InputError(f"tech {name}", value, f"a number <= {MAX_VALUE:g}")
    if positive and value <= 0:
        raise InputError(f"tech {name}", value, "a number > 0")
    if value < 0:
        raise InputError(f"tech {name}", value, "a number >= 0")
    return float(value)


def _from_mapping(data: dict[str, Any], source: str) -> TechTable:
    known = {_key_name(f) for f in _spec()}
    sections = {f.metadata["section"] for f in _spec()} - {""}
    for top, value in data.items():
        if top in sections and isinstance(value, dict):
            for sub in value:
                if f"{top}.{sub}" not in known:
                    raise InputError(
                        f"tech {top}.{sub}", value[sub], "a known key (see tech45.toml)"
                    )
        elif top not in known:
            raise InputError(f"tech {top}", value, "a known key or section (see tech45.toml)")
    values: dict[str, Any] = {}
    n_sizes = None
    for f in _spec():
        sec, key, kind = f.metadata["section"], f.metadata["key"], f.metadata["kind"]
        name = _key_name(f)
        holder = data.get(sec, {}) if sec else data
        if not isinstance(holder, dict) or key not in holder:
            raise InputError.plain(f"tech file {source!r}: key {name!r} is missing")
        raw = holder[key]
        if kind in ("sizes", "list"):
            if not isinstance(raw, list) or not raw:
                raise InputError(f"tech {name}", raw, "a non-empty list of numbers > 0")
            vals = tuple(_check_number(name, v, positive=True) for v in raw)
            if kind == "sizes":
                if any(b <= a for a, b in zip(vals, vals[1:], strict=False)):
                    raise InputError(f"tech {name}", list(raw), "strictly increasing sizes")
                n_sizes = len(vals)
            values[f.name] = vals
        else:
            values[f.name] = _check_number(name, raw, positive=kind == "positive")
    for f in _spec():
        if f.metadata["kind"] == "list" and len(values[f.name]) != n_sizes:
            raise InputError(
                f"tech {_key_name(f)}",
                list(values[f.name]),
                f"one value per size in sram.size_kib ({n_sizes} values)",
            )
    return TechTable(**values, source=source)


@functools.cache
def _bundled_tech() -> TechTable:
    """The bundled table, parsed once per process (it is frozen and never changes)."""
    ref = resources.files("accelerators").joinpath("data/tech45.toml")
    data = tomllib.loads(ref.read_text(encoding="utf-8"))
    return _from_mapping(data, "accelerators/data/tech45.toml")


def load_tech(path: str | os.PathLike | None = None) -> TechTable:
    """Load and validate a technology table; ``None`` = the bundled ``tech45.toml``.

    A missing file, malformed TOML, a missing, unknown or negative key raise
    :class:`InputError` naming the file or the key.
    """
    if path is None:
        return _bundled_tech()
    try:
        return _from_mapping(read_toml(path, "tech file"), os.fspath(path))
    except InputError as exc:  # name the file: "my45.toml: tech node_nm = -1 ..."
        if not exc.field:
            raise
        raise InputError(f"{os.fspath(path)}: {exc.field}", exc.value, exc.allowed) from None


def scale_to_node(tech: TechTable, node_nm: float) -> TechTable:
    """The table moved from ``tech.node_nm`` to ``node_nm``, with ``s = node_nm / tech.node_nm``.

    The rule (classic constant-field scaling for area, post-Dennard for energy):

    - area (gates, flip-flops, SRAM density) x ``s**2``: every layout dimension
      shrinks with the feature size;
    - on-chip dynamic energy (adds, multiplies, SRAM, register bits) x ``s``:
      energy is ``C * V**2``; the switched capacitance shrinks with the feature
      size while the supply voltage has stayed near 0.9-1.0 V since about 90 nm,
      so ``V**2`` does not help (full Dennard scaling would give ``s**3``, which
      no node since 90 nm has delivered);
    - DRAM energy per bit: unchanged (off chip, set by the DRAM interface);
    - leakage per mm^2 (SRAM and logic): unchanged (so leakage power follows the
      area, ``s**2``);
    - bit widths, counts and the control fraction: unchanged.

    >>> t = scale_to_node(load_tech(), 22.5)      # s = 0.5
    >>> t.add8_area_um2, t.add8_energy_pj, t.dram_read64_energy_pj
    (9.0, 0.015, 1950.0)
    """
    if isinstance(node_nm, bool) or not isinstance(node_nm, int | float) or not node_nm > 0:
        raise InputError("tech_node_nm", node_nm, "a positive number of nm")
    s = float(node_nm) / tech.node_nm
    if s == 1.0:
        return tech
    factor = {_AREA: s * s, _ENERGY: s, _FIXED: 1.0}
    changes: dict[str, Any] = {"node_nm": float(node_nm)}
    for f in _spec():
        k = factor[f.metadata["scaling"]]
        if k != 1.0:
            v = getattr(tech, f.name)
            changes[f.name] = tuple(x * k for x in v) if isinstance(v, tuple) else v * k
    changes["source"] = f"{tech.source} scaled {tech.node_nm:g} -> {node_nm:g} nm"
    return replace(tech, **changes)


# ---------------------------------------------------------------- per-part costs


def _lin_bits(v8: float, v32: float, bits: float) -> float:
    return max(0.0, v8 + (bits - 8.0) * (v32 - v8) / 24.0)


def _loglog_width(v8: float, v32: float, width: float) -> float:
    return v8 * (width / 8.0) ** (math.log(v32 / v8) / math.log(4.0))


def adder_area_um2(tech: TechTable, bits: float) -> float:
    """Area of one ``bits``-wide integer adder, um^2: linear in width through Horowitz's points."""
    return _lin_bits(tech.add8_area_um2, tech.add32_area_um2, bits)


def adder_energy_pj(tech: TechTable, bits: float) -> float:
    """Energy of one ``bits``-wide integer add, pJ: linear in width (switched bits ~ width)."""
    return _lin_bits(tech.add8_energy_pj, tech.add32_energy_pj, bits)


def mult_area_um2(tech: TechTable, a_bits: float, b_bits: float) -> float:
    """Area of an ``a x b``-bit integer multiplier, um^2: log-log in ``sqrt(a*b)``."""
    return _loglog_width(tech.mult8_area_um2, tech.mult32_area_um2, math.sqrt(a_bits * b_bits))


def mult_energy_pj(tech: TechTable, a_bits: float, b_bits: float) -> float:
    """Energy of one ``a x b``-bit integer multiply, pJ: log-log in ``sqrt(a*b)``."""
    return _loglog_width(tech.mult8_energy_pj, tech.mult32_energy_pj, math.sqrt(a_bits * b_bits))


def _loglog_sizes(sizes: tuple[float, ...], vals: tuple[float, ...], kib: float, clamp: bool):
    if len(sizes) == 1:
        return vals[0]
    if clamp and kib <= sizes[0]:
        return vals[0]
    if clamp and kib >= sizes[-1]:
        return vals[-1]
    i = 0
    while i < len(sizes) - 2 and kib > sizes[i + 1]:
        i += 1
    x0, x1, y0, y1 = sizes[i], sizes[i + 1], vals[i], vals[i + 1]
    slope = math.log(y1 / y0) / math.log(x1 / x0)
    return y0 * (kib / x0) ** slope


def sram_read64_energy_pj(tech: TechTable, kib: float) -> float:
    """pJ per 64-bit read of a ``kib`` KiB macro: log-log between the table's sizes, extrapolated."""
    if kib <= 0:
        return 0.0
    return _loglog_sizes(tech.sram_size_kib, tech.sram_read64_energy_pj, kib, clamp=False)


def sram_density_mm2_per_kib(tech: TechTable, kib: float) -> float:
    """mm^2 per KiB of a ``kib`` KiB macro: log-log between the table's sizes, held at the ends."""
    return _loglog_sizes(tech.sram_size_kib, tech.sram_density_mm2_per_kib, max(kib, 1e-9), True)


def column_index_bits(config: Any) -> int:
    """Bits of the column index broadcast with each activation.

    The longest input vector the template can hold fills one half of the
    activation SRAM: ``act_sram_kib * 8192 / 2 / act_bits`` activations, so the
    index needs ``ceil(log2(that))`` bits (at least 1).

    >>> from types import SimpleNamespace as NS
    >>> column_index_bits(NS(act_sram_kib=64, act_bits=8))   # 32768 activations
    15
    """
    n_act = config.act_sram_kib * 8192 / 2 / config.act_bits
    return max(1, math.ceil(math.log2(max(n_act, 1.0))))
