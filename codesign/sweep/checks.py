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

from .knobs import FEEDBACK_KNOBS, FEEDBACK_OBJECTIVES, FEEDBACKS

WORKLOAD_KEYS = ("shapes", "sparsity", "seed", "weights")


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


def check_hw(spec) -> None:
    from accelerators import HardwareConfig

    fields = [f.name for f in dataclasses.fields(HardwareConfig)]
    for k in spec.hw:
        if k != "preset" and k not in fields:
            raise InputError(
                f"hw.{k}", spec.hw[k], "preset or a HardwareConfig field: " + ", ".join(fields)
            )
    base = spec.hw_config()  # validates the preset and overrides
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
        if not is_num(w["sparsity"]) or not 0 <= w["sparsity"] < 1:
            raise InputError("workload.sparsity", w["sparsity"], "a fraction in [0, 1)")
        if not is_int(w["seed"]) or not 0 <= w["seed"] < 2**32:
            raise InputError("workload.seed", w["seed"], "an integer from 0 to 2**32 - 1")
    return w


def check_workload_params(spec) -> None:
    for p in spec.params:
        if not p.name.startswith("workload."):
            continue
        if p.name != "workload.sparsity" or spec.workload.get("weights"):
            raise InputError(f'search."{p.name}"', "", "workload.sparsity, with [workload] shapes")
        for v in param_values(p):
            if not is_num(v) or not 0 <= v < 1:
                raise InputError(f'search."{p.name}"', v, "a fraction in [0, 1)")
    # build the base workload once so a bad shapes value fails now, not in a trial
    from .workloads import build_workload

    build_workload(spec.workload_knobs())


def check_feedback(knobs: dict, where: str) -> None:
    checks = {
        "feedback": (lambda v: v in FEEDBACKS, "none, simpy or analytical"),
        "feedback_objective": (lambda v: v in FEEDBACK_OBJECTIVES, "latency, energy or area"),
        "feedback_period_steps": (
            lambda v: v is None or (is_int(v) and 1 <= v <= 10**9),
            "an integer from 1 to 10**9",
        ),
        "feedback_per_row": (lambda v: isinstance(v, bool), "true or false"),
        "target_latency_us": (lambda v: is_num(v) and v > 0, "a number > 0 (us)"),
        "target_energy_uj": (lambda v: is_num(v) and v > 0, "a number > 0 (uJ)"),
    }
    for k, v in knobs.items():
        ok, allowed = checks[k]
        if not ok(v):
            raise InputError(where.format(k), v, allowed)


def check_train(spec) -> None:
    from codesign.training_config import TrainConfig

    fields = [f.name for f in dataclasses.fields(TrainConfig)]
    allowed = fields + list(FEEDBACK_KNOBS)
    for k in spec.train:
        if k not in allowed:
            raise InputError(f"train.{k}", spec.train[k], "a training knob: " + ", ".join(allowed))
    fixed = {k: v for k, v in spec.train.items() if k in fields}
    check_feedback({k: v for k, v in spec.train.items() if k in FEEDBACK_KNOBS}, "train.{}")
    train_config(fixed, "[train]")
    for p, knob in _axes(spec, "train", allowed, "knob"):
        for v in param_values(p):
            if knob in FEEDBACK_KNOBS:
                check_feedback({knob: v}, f'search."{p.name}"')
            else:
                train_config({**fixed, knob: v}, f'search."{p.name}"')


def train_config(knobs: dict, where: str):
    from codesign.training_config import TrainConfig

    try:
        return TrainConfig(**knobs)
    except InputError:
        raise
    except TypeError as exc:
        raise InputError.plain(f"{where}: {exc}") from None
