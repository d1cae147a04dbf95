"""The accelerator's parameters: one frozen, validated :class:`HardwareConfig`.

Units are in the field names. The dataclass defaults are the ``default`` preset
(the reference design); named presets live in ``accelerators/data/presets/*.toml``
and are loaded with :func:`load_hw`. A preset file is flat TOML with any subset of
the fields below; missing fields keep the defaults.

>>> cfg = HardwareConfig().replace(**parse_overrides(["n_pe=128", "zero_skip=weights"]))
>>> cfg.n_pe, cfg.zero_skip
(128, 'weights')
"""

from __future__ import annotations

import dataclasses
import math
import os
from dataclasses import dataclass, fields
from pathlib import Path

from ._errors import InputError
from ._files import read_toml

__all__ = ["HardwareConfig", "parse_overrides", "load_hw", "preset_names", "PRESET_DIR"]

PRESET_DIR = Path(__file__).parent / "data" / "presets"
ZERO_SKIP = ("none", "weights", "weights+activations")
WEIGHT_FORMATS = ("csc", "eie", "dense-ternary", "dense-binary")


# Allowed ranges: generous, finite, and each named in the error it raises. Counts are
# bounded so a typo (n_pe=1e9, fifo_depth=1e12) is refused up front instead of
# exhausting memory or running forever; floats must be finite numbers.
# (field: (low, high, unit, low is exclusive))
LIMITS: dict[str, tuple[float, float, str, bool]] = {
    "n_pe": (1, 65_536, "PEs", False),
    "lanes_per_pe": (1, 64, "lanes", False),
    "clock_mhz": (1.0, 10_000.0, "MHz", False),
    "tech_node_nm": (7, 180, "nm", False),
    "act_bits": (1, 32, "bits", False),
    "acc_bits": (8, 64, "bits", False),
    "index_bits": (1, 16, "bits", False),
    "weight_bits": (1, 16, "bits", False),
    "pointer_bits": (1, 32, "bits", False),
    "weight_sram_kib_per_pe": (0.0, 1_048_576.0, "KiB", False),
    "pointer_sram_kib_per_pe": (0.0, 1_048_576.0, "KiB", False),
    "act_sram_kib": (0.0, 1_048_576.0, "KiB", True),
    "fifo_depth": (1, 4_096, "entries", False),
    "broadcast_acts_per_cycle": (1, 64, "activations per cycle", False),
    "dram_bytes_per_cycle": (1.0 / 64, 4_096.0, "bytes per cycle", False),
    "dram_latency_cycles": (0, 1_000_000, "cycles", False),
    "dram_mib": (1.0 / 1024, 16_777_216.0, "MiB", False),
}


@dataclass(frozen=True)
class HardwareConfig:
    """One accelerator instance of the EIE-style sparse ternary template.

    - ``n_pe``, ``lanes_per_pe``: processing elements, add/subtract lanes per PE
      (entries retired per PE per cycle).
    - ``clock_mhz``: clock frequency in MHz; ``tech_node_nm``: process node in nm.
    - ``act_bits``, ``acc_bits``: activation and accumulator widths in bits.
    - ``index_bits``: width of the relative row index of a stored entry (see
      :mod:`accelerators.encoding`).
    - ``weight_bits``: bits of the weight value of an ``eie`` entry (2 for a ternary
      weight whose zero code marks a padding entry; EIE stores a 4-bit codebook
      index). ``csc`` entries carry a sign bit instead, dense formats 2 or 1 bits.
    - ``pointer_bits``, ``pointer_sram_kib_per_pe``: the per-column pointers of the
      ``eie`` format (one per column plus one per PE) and the SRAM that holds them.
    - ``weight_sram_kib_per_pe``: weight SRAM per PE in KiB (1 KiB = 8192 bits).
    - ``act_sram_kib``: activation SRAM in KiB, used as two ping-pong halves.
    - ``fifo_depth``: activation FIFO entries per PE.
    - ``broadcast_acts_per_cycle``: activations (columns) the broadcast pushes per
      cycle at most; EIE pushes one. The presets match it to ``lanes_per_pe``: a
      PE retires one column at a time, so at high sparsity a one-wide broadcast
      would leave all but one lane idle.
    - ``dram_bytes_per_cycle``, ``dram_latency_cycles``: off-chip weight stream (also
      how the weights are loaded before the first inference).
    - ``dram_mib``: DRAM capacity in MiB; a network whose stored weights exceed it
      cannot run at all (:func:`accelerators.simulate` refuses it).
    - ``zero_skip``: ``none`` (walk every owned (row, column) pair), ``weights``
      (walk only the stored entries), ``weights+activations`` (also skip zero
      input activations in the broadcast).
    - ``weight_format``: ``csc`` (relative-index entries across columns, the
      default), ``eie`` (EIE's: per-column pointers, zero runs restarting at each
      column), ``dense-ternary`` (2 bits per weight) or ``dense-binary`` (1 bit per
      weight); dense formats need ``zero_skip = none``.

    Allowed ranges (:data:`LIMITS`; every float finite): ``n_pe`` 1..65,536;
    ``lanes_per_pe`` 1..64; ``clock_mhz`` 1..10,000; ``tech_node_nm`` 7..180;
    ``act_bits`` 1..32; ``acc_bits`` 8..64; ``index_bits`` 1..16; ``weight_bits``
    1..16; ``pointer_bits`` 1..32; ``weight_sram_kib_per_pe`` and
    ``pointer_sram_kib_per_pe`` 0..1,048,576 (1 GiB); ``act_sram_kib`` > 0 up to
    1,048,576; ``fifo_depth`` 1..4,096; ``broadcast_acts_per_cycle`` 1..64;
    ``dram_bytes_per_cycle`` 1/64..4,096; ``dram_latency_cycles`` 0..1,000,000;
    ``dram_mib`` 1/1024..16,777,216 (16 TiB).
    """

    n_pe: int = 64
    lanes_per_pe: int = 4
    clock_mhz: float = 500.0
    tech_node_nm: int = 45
    act_bits: int = 8
    acc_bits: int = 24
    index_bits: int = 5
    weight_bits: int = 2
    pointer_bits: int = 16
    weight_sram_kib_per_pe: float = 4.0
    pointer_sram_kib_per_pe: float = 0.0
    act_sram_kib: float = 128.0
    fifo_depth: int = 8
    broadcast_acts_per_cycle: int = 4
    dram_bytes_per_cycle: float = 16.0
    dram_latency_cycles: int = 100
    dram_mib: float = 4096.0
    zero_skip: str = "weights"
    weight_format: str = "csc"
    skip_empty_columns: bool = False

    def __post_init__(self) -> None:
        for f in fields(self):
            v = getattr(self, f.name)
            if f.type == "int" and (isinstance(v, bool) or not isinstance(v, int)):
                if isinstance(v, float) and math.isfinite(v) and v.is_integer():
                    object.__setattr__(self, f.name, int(v))
                else:
                    raise InputError(f.name, v, "an integer" + _range_text(f.name))
            elif f.type == "float":
                if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
                    raise InputError(f.name, v, "a finite number" + _range_text(f.name))
                object.__setattr__(self, f.name, float(v))
            elif f.type == "str" and not isinstance(v, str):
                raise InputError(f.name, v, "a string")
            elif f.type == "bool" and not isinstance(v, bool):
                raise InputError(f.name, v, "true or false")
            if f.name in LIMITS:
                lo, hi, _, open_lo = LIMITS[f.name]
                v = getattr(self, f.name)
                if not ((v > lo if open_lo else v >= lo) and v <= hi):
                    kind = "an integer" if f.type == "int" else "a number"
                    raise InputError(f.name, v, kind + _range_text(f.name))
        c = self
        _check(c.zero_skip in ZERO_SKIP, "zero_skip", c.zero_skip, " | ".join(ZERO_SKIP))
        _check(
            c.weight_format in WEIGHT_FORMATS,
            "weight_format",
            c.weight_format,
            " | ".join(WEIGHT_FORMATS),
        )
        if c.weight_format.startswith("dense") and c.zero_skip != "none":
            raise InputError(
                "zero_skip", c.zero_skip, f"'none' with weight_format = {c.weight_format!r}"
            )

    # -- derived ----------------------------------------------------------------
    @property
    def skip_weights(self) -> bool:
        return self.zero_skip != "none"

    @property
    def skip_activations(self) -> bool:
        return self.zero_skip == "weights+activations"

    @property
    def sparse_format(self) -> bool:
        """Whether the weights are stored as entries (``csc`` or ``eie``), not densely."""
        return not self.weight_format.startswith("dense")

    @property
    def bits_per_entry(self) -> int:
        """Stored bits per weight-stream entry: ``index_bits + 1`` (``csc``: index and
        sign), ``index_bits + weight_bits`` (``eie``), 2 or 1 (dense, per weight)."""
        if self.weight_format == "csc":
            return self.index_bits + 1
        if self.weight_format == "eie":
            return self.index_bits + self.weight_bits
        return 2 if self.weight_format == "dense-ternary" else 1

    @property
    def weight_sram_bits_per_pe(self) -> int:
        return int(self.weight_sram_kib_per_pe * 8192)

    @property
    def pointer_sram_bits_per_pe(self) -> int:
        return int(self.pointer_sram_kib_per_pe * 8192)

    # -- construction -------------------------------------------------------------
    def replace(self, **overrides: object) -> HardwareConfig:
        """A copy with ``overrides`` applied; an unknown key is an :class:`InputError`."""
        names = field_names()
        for k in overrides:
            if k not in names:
                raise InputError("hw key", k, "one of " + ", ".join(names))
        return dataclasses.replace(self, **overrides)

    def to_dict(self) -> dict[str, object]:
        """The fields as a plain JSON-ready dict."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, object]) -> HardwareConfig:
        return cls().replace(**d)

    @classmethod
    def from_toml(cls, path: str | os.PathLike) -> HardwareConfig:
        """Read a flat TOML file of fields (missing fields keep the defaults); a bad field
        is named with its file: ``my_hw.toml: n_pe = 0 is not allowed: ...``."""
        data = read_toml(path, "hardware config file")
        data.pop("description", None)
        try:
            return cls.from_dict(data)
        except InputError as exc:
            if not exc.field:
                raise
            raise InputError(f"{os.fspath(path)}: {exc.field}", exc.value, exc.allowed) from None


def _range_text(name: str) -> str:
    if name not in LIMITS:
        return ""
    lo, hi, unit, open_lo = LIMITS[name]
    num = lambda x: f"{int(x):,}" if float(x).is_integer() else f"{x:g}"  # noqa: E731
    if open_lo:
        return f" > {num(lo)} and <= {num(hi)} ({unit})"
    return f" in {num(lo)}..{num(hi)} ({unit})"


def _check(ok: bool, name: str, value: object, allowed: str) -> None:
    if not ok:
        raise InputError(name, value, allowed)


def field_names() -> list[str]:
    return [f.name for f in fields(HardwareConfig)]


def parse_overrides(items: list[str]) -> dict[str, object]:
    """``["n_pe=128", "zero_skip=weights"]`` -> ``{"n_pe": 128, "zero_skip": "weights"}``.

    Values are coerced to the field's type; unknown keys and unparsable values raise
    :class:`InputError`.

    >>> parse_overrides(["clock_mhz=800", "fifo_depth=2"])
    {'clock_mhz': 800.0, 'fifo_depth': 2}
    """
    types = {f.name: f.type for f in fields(HardwareConfig)}
    out: dict[str, object] = {}
    for item in items:
        key, sep, raw = item.partition("=")
        key, raw = key.strip(), raw.strip()
        if not sep:
            raise InputError("hw override", item, "KEY=VALUE")
        if key not in types:
            raise InputError("hw key", key, "one of " + ", ".join(types))
        conv = {"int": int, "float": float, "str": str, "bool": _parse_bool}[types[key]]
        try:
            out[key] = conv(raw)
        except ValueError:
            allowed = "true or false" if types[key] == "bool" else f"a value of type {types[key]}"
            raise InputError(key, raw, allowed) from None
    return out


def _parse_bool(text: str) -> bool:
    """``true``/``false`` (also ``1``/``0``, ``yes``/``no``, any case) -> bool."""
    value = {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False}
    if text.lower() not in value:
        raise ValueError(text)
    return value[text.lower()]


def preset_names() -> list[str]:
    """Names of the bundled presets (``accelerators/data/presets/*.toml``)."""
    return sorted(p.stem for p in PRESET_DIR.glob("*.toml"))


def load_hw(name_or_path: str | os.PathLike | HardwareConfig | None = None) -> HardwareConfig:
    """A preset name (``edge``, ``default``, ``large``), a TOML path, or a config.

    >>> load_hw("default") == HardwareConfig()
    True
    """
    if name_or_path is None:
        name_or_path = "default"
    if isinstance(name_or_path, HardwareConfig):
        return name_or_path
    s = os.fspath(name_or_path)
    if s in preset_names():
        return HardwareConfig.from_toml(PRESET_DIR / f"{s}.toml")
    if s.endswith(".toml") or os.sep in s or os.path.isfile(s):
        return HardwareConfig.from_toml(s)
    raise InputError("hw", s, "a preset (" + ", ".join(preset_names()) + ") or a .toml path")
