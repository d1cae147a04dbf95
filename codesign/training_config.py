"""``TrainConfig``: everything that determines a training run, validated from a table (no torch).

Every field's type and allowed range is one row of :data:`FIELDS`; construction
checks each value against its row and raises :class:`accelerators.InputError`
naming the field, the value and the allowed range. Importing this module does
not import torch, so a sweep spec or a CLI can be checked without the training
stack::

    >>> import sys
    >>> TrainConfig(epochs=2).epochs
    2
    >>> TrainConfig(seed=-1)
    Traceback (most recent call last):
    ...
    accelerators._errors.InputError: seed = -1 is not allowed: expected an integer in 0..4294967295
"""

from __future__ import annotations

import dataclasses
import math
import numbers
from dataclasses import dataclass
from typing import NamedTuple

from accelerators import InputError

__all__ = [
    "Rule",
    "check_rule",
    "DATASETS",
    "DEVICES",
    "FIELDS",
    "METHODS",
    "MODELS",
    "REG_UPDATES",
    "THRESHOLD_RULES",
    "TrainConfig",
]

# The names only (the loaders live in codesign.data / codesign.models, which need torch).
DATASETS = ("digits", "mnist5k", "fashion-mnist", "mnist", "cifar10")
MODELS = ("lfc", "mlp", "cnv", "cnn")
METHODS = ("fp32", "binary", "ternary", "sparse-ternary")
THRESHOLD_RULES = ("auto", "max", "twn")
DEVICES = ("auto", "cpu", "cuda")
REG_UPDATES = ("gradient", "proximal")

MAX_SEED = 2**32 - 1  # numpy's and torch's common seed range
MAX_WIDTH = 65536


class Rule(NamedTuple):
    """One field's rule: ``kind`` is int | float | choice | str | widths | bool."""

    kind: str
    lo: float | None = None
    hi: float | None = None
    choices: tuple[str, ...] = ()
    lo_open: bool = False  # lo excluded
    hi_open: bool = False  # hi excluded
    optional: bool = False  # None allowed too (a ``str`` always allows None)


#: field -> rule. Every numeric knob is finite and bounded.
FIELDS: dict[str, Rule] = {
    "dataset": Rule("choice", choices=DATASETS),
    "data_dir": Rule("str"),
    "model": Rule("choice", choices=MODELS),
    "hidden_units": Rule("widths", 1, MAX_WIDTH),
    "method": Rule("choice", choices=METHODS),
    "epochs": Rule("int", 0, 10_000),
    "retrain_epochs": Rule("int", 0, 10_000),
    "reg_strength": Rule("float", 0.0, 1e3),
    "capture": Rule("float", 0.0, 1e3),
    "reg_update": Rule("choice", choices=REG_UPDATES),
    "threshold": Rule("float", 0.0, 1.0, hi_open=True),
    "threshold_rule": Rule("choice", choices=THRESHOLD_RULES),
    "l2": Rule("float", 0.0, 10.0),
    "lr": Rule("float", 0.0, 10.0, lo_open=True),
    "batch_size": Rule("int", 1, 1_000_000),
    "seed": Rule("int", 0, MAX_SEED),
    "train_limit": Rule("int", 0, 100_000_000),
    "n_pe": Rule("int", 1, 65_536),
    "index_bits": Rule("int", 1, 16),
    "device": Rule("choice", choices=DEVICES),
    "val_fraction": Rule("float", 0.0, 0.5),
    "onnx": Rule("str"),
}


def _allowed(rule: Rule) -> str:
    text = _allowed_value(rule)
    return text + " or None" if rule.optional else text


def _allowed_value(rule: Rule) -> str:
    if rule.kind == "bool":
        return "true or false"
    if rule.kind == "choice":
        return " | ".join(rule.choices)
    if rule.kind == "str":
        return "a string or None"
    if rule.kind == "widths":
        return f"1 to 64 integer widths in {rule.lo}..{rule.hi}"
    if rule.kind == "int":
        return f"an integer in {int(rule.lo)}..{int(rule.hi)}"
    left = "(" if rule.lo_open else "["
    right = ")" if rule.hi_open else "]"
    return f"a finite number in {left}{rule.lo:g}, {rule.hi:g}{right}"


def _in_range(v: float, rule: Rule) -> bool:
    lo_ok = v > rule.lo if rule.lo_open else v >= rule.lo
    hi_ok = v < rule.hi if rule.hi_open else v <= rule.hi
    return lo_ok and hi_ok


def check_field(name: str, value):
    """Return ``value`` normalised (ints as int, floats as float) or raise ``InputError``."""
    return check_rule(name, value, FIELDS[name])


def check_rule(name: str, value, rule: Rule):
    """``value`` checked against ``rule`` (named ``name`` in the error), normalised.

    >>> check_rule("study.seed", 3.0, Rule("int", 0, 9))
    3
    """
    bad = InputError(name, value, _allowed(rule))
    if value is None and rule.optional:
        return None
    if rule.kind == "bool":
        if not isinstance(value, bool):
            raise bad
        return value
    if rule.kind == "choice":
        if value not in rule.choices:
            raise bad
        return value
    if rule.kind == "str":
        if value is not None and not isinstance(value, str):
            raise bad
        return value
    if rule.kind == "widths":
        if isinstance(value, str | bytes) or not hasattr(value, "__iter__"):
            raise bad
        widths = tuple(value)
        if not 1 <= len(widths) <= 64:
            raise bad
        try:
            return tuple(_int(w, rule, bad) for w in widths)
        except InputError:
            raise bad from None
    if rule.kind == "int":
        return _int(value, rule, bad)
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise bad
    v = float(value)
    if not math.isfinite(v) or not _in_range(v, rule):
        raise bad
    return v


def _int(value, rule: Rule, bad: InputError) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise bad
    if isinstance(value, numbers.Integral):
        v = int(value)
    else:  # a float is taken only when it is a whole number (e.g. 3.0 from JSON)
        f = float(value)
        if not math.isfinite(f) or not f.is_integer():
            raise bad
        v = int(f)
    if not _in_range(v, rule):
        raise bad
    return v


@dataclass(frozen=True)
class TrainConfig:
    """Everything that determines a training run (same config + seed + device -> same report).

    ``threshold`` is the fraction ``t`` of ``max|W|`` under the ``max`` rule;
    ``threshold_rule="auto"`` means ``twn`` (0.7 mean|W|) for the dense
    ``ternary`` baseline and ``max`` for ``sparse-ternary``. ``capture`` is the
    capture zone in units of the threshold; ``reg_strength`` and ``l2`` are
    loss weights (dimensionless per unit weight). ``train_limit`` keeps only the
    first N training examples (0 = all). ``val_fraction`` carves that fraction
    of the (limited) training set out as a validation split (fixed by the
    data set, not by ``seed``): the report then has ``val_accuracy`` beside the
    test ``accuracy``. ``n_pe`` and ``index_bits`` set the sparse encoding used
    for size accounting. ``device``: ``auto`` (CUDA when available), ``cpu`` or
    ``cuda``. ``reg_update``: how stage 1 applies ``reg_strength * R``:
    ``gradient`` (its gradient joins the loss's, so Adam rescales it per weight)
    or ``proximal`` (after each Adam step, a shrinkage of ``lr_t * reg_strength * c``
    towards 0 in the capture zone, outside Adam: a weight's coefficient ``c``
    scales its pull, see :mod:`codesign.regularizer`). ``onnx``: a path to an ONNX network whose Gemm/MatMul/Conv layers
    (and weights, when present) replace ``model``.
    Allowed values: :data:`FIELDS`.
    """

    dataset: str = "digits"
    data_dir: str | None = None
    model: str = "lfc"
    hidden_units: tuple[int, ...] = (256, 256)
    method: str = "sparse-ternary"
    epochs: int = 10
    retrain_epochs: int = 5
    reg_strength: float = 1e-3
    capture: float = 10.0
    reg_update: str = "gradient"
    threshold: float = 0.05
    threshold_rule: str = "auto"
    l2: float = 1e-5
    lr: float = 1e-3
    batch_size: int = 100
    seed: int = 0
    train_limit: int = 0
    n_pe: int = 64
    index_bits: int = 7
    device: str = "cpu"
    val_fraction: float = 0.0
    onnx: str | None = None

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            object.__setattr__(self, f.name, check_field(f.name, getattr(self, f.name)))

    @property
    def rule(self) -> str:
        """The threshold rule actually used (``auto`` resolved)."""
        if self.threshold_rule != "auto":
            return self.threshold_rule
        return "twn" if self.method == "ternary" else "max"

    def to_dict(self) -> dict:
        """Primitives only (lists for tuples): JSON- and ``weights_only``-safe."""
        d = dataclasses.asdict(self)
        d["hidden_units"] = list(self.hidden_units)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> TrainConfig:
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(d) - names)
        if unknown:
            raise InputError("config", unknown[0], "a TrainConfig field")
        return cls(**{k: (tuple(v) if k == "hidden_units" else v) for k, v in d.items()})
