"""Checks of a sweep file's tables against the configs they become (used by :mod:`.spec`).

Each check raises :class:`InputError` naming the key, the value and what is
allowed. ``[hw]`` and ``hw.*`` axes are checked by building the
:class:`accelerators.HardwareConfig`, ``[train]`` and ``train.*`` axes by
building the :class:`codesign.training_config.TrainConfig` (torch-free), and a
``[workload]`` by building it once. The spec object is duck-typed (``hw``,
``train``, ``workload``, ``params``, ``hw_config()``, ``workload_knobs()``) so
this module does not import :mod:`.spec`.
"""

from __future__ import annotations

import dataclasses
import math
import os

from accelerators import InputError
from codesign.training_config import MAX_SEED, Rule, check_rule

from .knobs import FEEDBACK_KNOBS, FEEDBACK_RULES

WORKLOAD_KEYS = ("shapes", "sparsity", "seed", "weights")
#: [workload] scalars, with shapes (a ``workload.sparsity`` axis follows its rule too)
WORKLOAD_RULES = {
    "sparsity": Rule("float", 0.0, 1.0, hi_open=True),
    "seed": Rule("int", 0, MAX_SEED),
}


def unknown_keys(table: dict, allowed, where: str) -> None:
    for key in table:
        if key not in allowed:
            raise InputError(f"{where}.{key}" if where else key, table[key], _known(allowed, where))


def _known(allowed, where: str) -> str:
    return f"a known key{' in [' + where + ']' if where else ''}: " + ", ".join(allowed)


def is_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def is_num(v) -> bool:
    """A finite number (TOML's inf and nan are not)."""
    return isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)


def param_values(p) -> tuple:
    """The values to validate an axis with: all choices, or the range's ends."""
    return p.choices if p.choices is not None else (p.low, p.high)


def _axes(spec, table: str, allowed, what: str):
    """``(param, name)`` of each search axis ``<table>.<name>``; an unknown name is an error."""
    for p in spec.params:
        if not p.name.startswith(table + "."):
            continue
        name = p.name[len(table) + 1 :]
        if name not in allowed:
            raise InputError(
                f'search."{p.name}"',
                "",
                f"{table}.<{what}> with a {what} from: " + ", ".join(allowed),
            )
        yield p, name


def as_written(exc: InputError, where: str) -> InputError:
    """``exc`` naming its field as the sweep file does: ``where.format(field)``
    (``"train.{}"``, ``'search."train.{}"'``); a plain message is returned as it is."""
    if not exc.field:
        return exc
    return InputError(where.format(exc.field), exc.value, exc.allowed)


def check_hw(spec) -> None:
    from accelerators import HardwareConfig, load_hw

    fields = [f.name for f in dataclasses.fields(HardwareConfig)]
    for k in spec.hw:
        if k != "preset" and k not in fields:
            raise InputError(
                f"hw.{k}", spec.hw[k], "preset or a HardwareConfig field: " + ", ".join(fields)
            )
    try:
        load_hw(spec.hw["preset"])  # errors in a preset file name that file's fields
    except InputError as exc:
        raise (as_written(exc, "hw.preset") if exc.field == "hw" else exc) from None
    try:
        base = spec.hw_config()  # the [hw] overrides
    except InputError as exc:
        raise as_written(exc, "hw.{}") from None
    for p, fname in _axes(spec, "hw", fields, "field"):
        for v in param_values(p):
            try:
                base.replace(**{fname: v})
            except InputError as exc:
                raise InputError(f'search."{p.name}"', v, exc.allowed or str(exc)) from None


def check_workload(w: dict, base_dir: str) -> dict:
    unknown_keys(w, WORKLOAD_KEYS, "workload")
    if ("shapes" in w) == ("weights" in w):
        raise InputError.plain(
            '[workload] needs exactly one of shapes = ... or weights = "run/ternary.npz"'
        )
    if "weights" in w:
        path = w["weights"]
        if not isinstance(path, str):
            raise InputError("workload.weights", path, "a path to a ternary.npz")
        if not os.path.isabs(path) and not os.path.exists(path):
            alt = os.path.join(base_dir, path)
            path = alt if os.path.exists(alt) else path
        if not os.path.isfile(path):
            raise InputError.plain(f"workload.weights: file {path!r} not found")
        w["weights"] = os.path.abspath(path)
        for k in ("sparsity",):
            if k in w:
                raise InputError(f"workload.{k}", w[k], "absent when weights are given")
    else:
        w.setdefault("sparsity", 0.9)
        w.setdefault("seed", 0)
        for key, rule in WORKLOAD_RULES.items():
            w[key] = check_rule(f"workload.{key}", w[key], rule)
    return w


def check_workload_params(spec) -> None:
    for p in spec.params:
        if not p.name.startswith("workload."):
            continue
        if p.name != "workload.sparsity" or spec.workload.get("weights"):
            raise InputError(f'search."{p.name}"', "", "workload.sparsity, with [workload] shapes")
        for v in param_values(p):
            check_rule(f'search."{p.name}"', v, WORKLOAD_RULES["sparsity"])
    # build the base workload once so a bad shapes value fails now, not in a trial
    from .workloads import build_workload

    try:
        build_workload(spec.workload_knobs())
    except InputError as exc:
        if exc.field == "workload":  # a name or file that is neither
            raise as_written(exc, "workload.shapes") from None
        if isinstance(spec.workload.get("shapes"), list):  # a layer written in the file
            raise as_written(exc, "workload.shapes.{}") from None
        raise


def check_feedback(knobs: dict, where: str) -> None:
    for k, v in knobs.items():
        check_rule(where.format(k), v, FEEDBACK_RULES[k])


def check_train(spec) -> None:
    from codesign.training_config import TrainConfig

    fields = [f.name for f in dataclasses.fields(TrainConfig)]
    allowed = fields + list(FEEDBACK_KNOBS)
    for k in spec.train:
        if k not in allowed:
            raise InputError(f"train.{k}", spec.train[k], "a training knob: " + ", ".join(allowed))
    fixed = {k: v for k, v in spec.train.items() if k in fields}
    check_feedback({k: v for k, v in spec.train.items() if k in FEEDBACK_KNOBS}, "train.{}")
    train_config(fixed, "train.{}")
    for p, knob in _axes(spec, "train", allowed, "knob"):
        for v in param_values(p):
            if knob in FEEDBACK_KNOBS:
                check_feedback({knob: v}, f'search."{p.name}"')
            else:
                train_config({**fixed, knob: v}, 'search."train.{}"')


def train_config(knobs: dict, where: str):
    """``TrainConfig(**knobs)``; an error names the field as the sweep file does
    (:func:`as_written`: ``"train.{}"`` for the [train] table, ``'search."train.{}"'``
    for a search axis), as :func:`check_feedback` does."""
    from codesign.training_config import TrainConfig

    try:
        return TrainConfig(**knobs)
    except InputError as exc:
        raise as_written(exc, where) from None
    except TypeError as exc:
        raise InputError.plain(f"{where.format('')}: {exc}") from None
