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
import os
import tomllib
from dataclasses import dataclass, fields
from pathlib import Path

from ._errors import InputError

__all__ = ["HardwareConfig", "parse_overrides", "load_hw", "preset_names", "PRESET_DIR"]

PRESET_DIR = Path(__file__).parent / "data" / "presets"
ZERO_SKIP = ("none", "weights", "weights+activations")
WEIGHT_FORMATS = ("csc", "dense-ternary", "dense-binary")


@dataclass(frozen=True)
class HardwareConfig:
    """One accelerator instance of the EIE-style sparse ternary template.

    - ``n_pe``, ``lanes_per_pe``: processing elements, add/subtract lanes per PE
      (entries retired per PE per cycle).
    - ``clock_mhz``: clock frequency in MHz; ``tech_node_nm``: process node in nm.
    - ``act_bits``, ``acc_bits``: activation and accumulator widths in bits.
    - ``index_bits``: width of the relative row index of a CSC entry (an entry is
      ``index_bits + 1`` bits with its sign bit; see :mod:`accelerators.encoding`).
    - ``weight_sram_kib_per_pe``: weight SRAM per PE in KiB (1 KiB = 8192 bits).
    - ``act_sram_kib``: activation SRAM in KiB, used as two ping-pong halves.
    - ``fifo_depth``: activation FIFO entries per PE.
    - ``broadcast_acts_per_cycle``: activations (columns) the broadcast pushes per
      cycle at most; EIE pushes one. The presets match it to ``lanes_per_pe``: a
      PE retires one column at a time, so at high sparsity a one-wide broadcast
      would leave all but one lane idle.
    - ``dram_bytes_per_cycle``, ``dram_latency_cycles``: off-chip weight stream.
    - ``dram_mib``: DRAM capacity in MiB; a network whose stored weights exceed it
      cannot run at all (:func:`accelerators.simulate` refuses it).
    - ``zero_skip``: ``none`` (walk every owned (row, column) pair), ``weights``
      (walk only the stored CSC entries), ``weights+activations`` (also skip zero
      input activations in the broadcast).
    - ``weight_format``: ``csc`` (sparse relative-index entries), ``dense-ternary``
      (2 bits per weight) or ``dense-binary`` (1 bit per weight); dense formats
      need ``zero_skip = none``.
    """

    n_pe: int = 64
    lanes_per_pe: int = 4
    clock_mhz: float = 500.0
    tech_node_nm: int = 45
    act_bits: int = 8
    acc_bits: int = 24
    index_bits: int = 5
    weight_sram_kib_per_pe: float = 4.0
    act_sram_kib: float = 128.0
    fifo_depth: int = 8
    broadcast_acts_per_cycle: int = 4
    dram_bytes_per_cycle: float = 16.0
    dram_latency_cycles: int = 100
    dram_mib: float = 4096.0
    zero_skip: str = "weights"
    weight_format: str = "csc"

    def __post_init__(self) -> None:
        for f in fields(self):
            v = getattr(self, f.name)
            if f.type == "int" and (isinstance(v, bool) or not isinstance(v, int)):
                if isinstance(v, float) and v.is_integer():
                    object.__setattr__(self, f.name, int(v))
                else:
                    raise InputError(f.name, v, "an integer")
            elif f.type == "float":
                if isinstance(v, bool) or not isinstance(v, int | float):
                    raise InputError(f.name, v, "a number")
                object.__setattr__(self, f.name, float(v))
            elif f.type == "str" and not isinstance(v, str):
                raise InputError(f.name, v, "a string")
        c = self
        _check(c.n_pe >= 1, "n_pe", c.n_pe, "an integer >= 1")
        _check(c.lanes_per_pe >= 1, "lanes_per_pe", c.lanes_per_pe, "an integer >= 1")
        _check(c.clock_mhz > 0, "clock_mhz", c.clock_mhz, "a number > 0 (MHz)")
        _check(7 <= c.tech_node_nm <= 180, "tech_node_nm", c.tech_node_nm, "an integer 7..180 (nm)")
        _check(1 <= c.act_bits <= 32, "act_bits", c.act_bits, "an integer 1..32")
        _check(8 <= c.acc_bits <= 64, "acc_bits", c.acc_bits, "an integer 8..64")
        _check(1 <= c.index_bits <= 16, "index_bits", c.index_bits, "an integer 1..16")
        _check(
            c.weight_sram_kib_per_pe >= 0,
            "weight_sram_kib_per_pe",
            c.weight_sram_kib_per_pe,
            "a number >= 0 (KiB)",
        )
        _check(c.act_sram_kib > 0, "act_sram_kib", c.act_sram_kib, "a number > 0 (KiB)")
        _check(c.fifo_depth >= 1, "fifo_depth", c.fifo_depth, "an integer >= 1")
        _check(
            1 <= c.broadcast_acts_per_cycle <= 64,
            "broadcast_acts_per_cycle",
            c.broadcast_acts_per_cycle,
            "an integer 1..64 (activations per cycle)",
        )
        _check(
            c.dram_bytes_per_cycle > 0,
            "dram_bytes_per_cycle",
            c.dram_bytes_per_cycle,
            "a number > 0 (bytes/cycle)",
        )
        _check(
            c.dram_latency_cycles >= 0,
            "dram_latency_cycles",
            c.dram_latency_cycles,
            "an integer >= 0 (cycles)",
        )
        _check(c.dram_mib > 0, "dram_mib", c.dram_mib, "a number > 0 (MiB)")
        _check(c.zero_skip in ZERO_SKIP, "zero_skip", c.zero_skip, " | ".join(ZERO_SKIP))
        _check(
            c.weight_format in WEIGHT_FORMATS,
            "weight_format",
            c.weight_format,
            " | ".join(WEIGHT_FORMATS),
        )
        if c.weight_format != "csc" and c.zero_skip != "none":
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
    def bits_per_entry(self) -> int:
        """Stored bits per weight-stream entry: ``index_bits + 1`` (CSC), 2 or 1 (dense)."""
        if self.weight_format == "csc":
            return self.index_bits + 1
        return 2 if self.weight_format == "dense-ternary" else 1

    @property
    def weight_sram_bits_per_pe(self) -> int:
        return int(self.weight_sram_kib_per_pe * 8192)

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
        """Read a flat TOML file of fields (missing fields keep the defaults)."""
        p = Path(path)
        if not p.is_file():
            raise InputError.plain(f"hardware config file {os.fspath(path)!r} not found")
        try:
            data = tomllib.loads(p.read_text())
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise InputError.plain(
                f"hardware config file {os.fspath(path)!r} is not valid TOML: {exc}"
            ) from None
        data.pop("description", None)
        return cls.from_dict(data)


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
        conv = {"int": int, "float": float, "str": str}[types[key]]
        try:
            out[key] = conv(raw)
        except ValueError:
            raise InputError(key, raw, f"a value of type {types[key]}") from None
    return out


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
    if s.endswith(".toml") or os.sep in s or Path(s).is_file():
        return HardwareConfig.from_toml(s)
    raise InputError("hw", s, "a preset (" + ", ".join(preset_names()) + ") or a .toml path")
