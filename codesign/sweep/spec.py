"""The sweep file: what ``codesign sweep SWEEP.toml`` reads, validated before any trial.

A sweep file is TOML with these tables (every key is checked; an unknown one
is an error that names it)::

    [study]
    name = "quickstart"            # study name; storage defaults to sqlite:///runs/<name>.db
    objectives = ["accuracy", "latency_us", "area_mm2"]   # any subset of OBJECTIVES
    sampler = "tpe"                # grid | random | tpe | nsga2
    trials = 8                     # total finished trials wanted (grid: default all points)
    seed = 0                       # sampler seed
    fidelity = "analytical"        # simulator used to score each trial: simpy | analytical
    storage = "sqlite:///runs/quickstart.db"   # optional; --storage overrides
    population = 8                 # nsga2 only: population size

    [train]                        # fixed training knobs (TrainConfig fields) ...
    dataset = "digits"
    model = "mlp-small"
    epochs = 1
    feedback = "none"              # ... and hardware feedback: none | simpy | analytical
    feedback_objective = "latency" # latency | energy | area
    device = "auto"                # auto (CUDA when available) | cpu | cuda; --device overrides
    # feedback_period_steps, feedback_per_row, target_latency_us, target_energy_uj

    [workload]                     # instead of [train]: simulate-only hardware sweep
    shapes = "lfc"                 # or a list of layer shapes, or: weights = "run/ternary.npz"
    sparsity = 0.9
    seed = 0

    [hw]                           # the base accelerator: a preset plus field overrides
    preset = "default"
    clock_mhz = 250

    [search]                       # the search space; names are train.<knob>, hw.<field>
    "train.reg_strength" = { low = 1e-5, high = 1e-3, log = true }
    "hw.n_pe" = [8, 16, 32]        # a list is a categorical choice (and a grid axis)
    "hw.lanes_per_pe" = { low = 1, high = 4 }          # int range (step 1)
    "workload.sparsity" = [0.8, 0.9, 0.95]             # simulate-only what-if

A range ``{low, high}`` is an integer range when both ends are integers,
otherwise a float range; ``step`` and ``log`` are optional. The grid sampler
needs every axis to be a list or an integer/stepped range.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import math
import os
import tomllib
from dataclasses import dataclass, field
from typing import Any

from accelerators import InputError
from codesign.study.contract import section as _section
from codesign.training_config import DEVICES

from .knobs import (
    FEEDBACK_KNOBS,
    FEEDBACK_OBJECTIVES,
    FEEDBACKS,
    FIDELITIES,
    MAX_GRID_POINTS,
    MAX_TRIALS,
    OBJECTIVES,
    SAMPLERS,
)

__all__ = [
    "FEEDBACKS",
    "FEEDBACK_KNOBS",
    "FEEDBACK_OBJECTIVES",
    "FIDELITIES",
    "OBJECTIVES",
    "SAMPLERS",
    "Param",
    "SweepSpec",
    "load_spec",
    "parse_spec",
]

_STUDY_KEYS = (
    "name",
    "objectives",
    "sampler",
    "trials",
    "seed",
    "fidelity",
    "storage",
    "population",
)
_WORKLOAD_KEYS = ("shapes", "sparsity", "seed", "weights")
_RANGE_KEYS = ("low", "high", "step", "log")


@dataclass(frozen=True)
class Param:
    """One axis of the search space: ``choices`` (categorical) or a ``low..high`` range."""

    name: str
    choices: tuple | None = None
    low: float | int | None = None
    high: float | int | None = None
    step: float | int | None = None
    log: bool = False

    @property
    def is_int(self) -> bool:
        return self.choices is None and all(
            isinstance(v, int) and not isinstance(v, bool) for v in (self.low, self.high)
        )

    def distribution(self):
        """The Optuna distribution of this axis."""
        import optuna.distributions as d

        if self.choices is not None:
            return d.CategoricalDistribution(list(self.choices))
        if self.is_int:
            return d.IntDistribution(self.low, self.high, log=self.log, step=int(self.step or 1))
        return d.FloatDistribution(float(self.low), float(self.high), log=self.log, step=self.step)

    def grid_size(self) -> int:
        """How many points :meth:`grid_values` has, without listing them."""
        if self.choices is not None:
            return len(self.choices)
        if self.is_int:
            return (self.high - self.low) // int(self.step or 1) + 1
        if self.step is None:
            return len(self.grid_values())  # raises: a float range needs a step
        return int(math.floor((self.high - self.low) / self.step + 1e-9)) + 1

    def grid_values(self) -> tuple:
        """The axis as a list of points (choices, or a stepped range)."""
        if self.choices is not None:
            return self.choices
        if self.is_int:
            return tuple(range(self.low, self.high + 1, int(self.step or 1)))
        if self.step is None:
            raise InputError(
                f'search."{self.name}"',
                {"low": self.low, "high": self.high},
                "a list or a range with a step for the grid sampler",
            )
        n = int(math.floor((self.high - self.low) / self.step + 1e-9)) + 1
        return tuple(round(self.low + i * self.step, 12) for i in range(n))

    def to_dict(self) -> dict:
        if self.choices is not None:
            return {"choices": list(self.choices)}
        out = {"low": self.low, "high": self.high, "log": self.log}
        if self.step is not None:
            out["step"] = self.step
        return out


@dataclass(frozen=True)
class SweepSpec:
    """A validated sweep file. Build it with :func:`load_spec` or :func:`parse_spec`."""

    name: str
    objectives: tuple[str, ...]
    sampler: str
    trials: int
    seed: int = 0
    fidelity: str = "analytical"
    storage: str | None = None
    population: int | None = None
    hw: dict[str, Any] = field(default_factory=lambda: {"preset": "default"})
    train: dict[str, Any] | None = None
    workload: dict[str, Any] | None = None
    params: tuple[Param, ...] = ()

    @property
    def trains(self) -> bool:
        """True when trials train a network (a [train] table), False for simulate-only."""
        return self.train is not None

    @property
    def directions(self) -> list[str]:
        return [OBJECTIVES[o] for o in self.objectives]

    def distributions(self) -> dict:
        return {p.name: p.distribution() for p in self.params}

    def grid(self) -> list[dict]:
        """Every grid point, in a fixed order (the last axis varies fastest)."""
        axes = [p.grid_values() for p in self.params]
        return [
            dict(zip([p.name for p in self.params], pt, strict=True))
            for pt in itertools.product(*axes)
        ]

    def hw_config(self, params: dict | None = None):
        """The trial's HardwareConfig: the [hw] preset, its overrides, then ``hw.*`` params."""
        from accelerators import load_hw

        base = dict(self.hw)
        cfg = load_hw(base.pop("preset", "default"))
        over = {**base, **_section(params or {}, "hw")}
        return cfg.replace(**over) if over else cfg

    def train_knobs(self, params: dict | None = None) -> dict:
        """The trial's training knobs: [train] values, then ``train.*`` params."""
        return {**(self.train or {}), **_section(params or {}, "train")}

    def workload_knobs(self, params: dict | None = None) -> dict:
        return {**(self.workload or {}), **_section(params or {}, "workload")}

    def to_dict(self) -> dict:
        """JSON-ready form, stored in the study so a rerun can check it is the same sweep."""
        out = dataclasses.asdict(self)
        out["objectives"] = list(self.objectives)
        out["params"] = {p.name: p.to_dict() for p in self.params}
        return json.loads(json.dumps(out))

    def identity(self) -> dict:
        """What must match for a rerun to continue a study (not trials, storage or name,
        nor ``train.device``: where training runs; each trial records the device it used)."""
        d = self.to_dict()
        for k in ("trials", "storage", "name"):
            d.pop(k)
        if d.get("train"):
            d["train"].pop("device", None)
        return d

    def with_device(self, device: str | None) -> SweepSpec:
        """This sweep training on ``device`` (``auto`` | ``cpu`` | ``cuda``; None: as the
        file says, else ``auto``). A simulate-only sweep is returned as it is."""
        if not self.trains:
            return self
        device = device or self.train.get("device", "auto")
        if device not in DEVICES:
            raise InputError("--device", device, " | ".join(DEVICES))
        return dataclasses.replace(self, train={**self.train, "device": device})


def load_spec(path: str | os.PathLike) -> SweepSpec:
    """Read and validate a sweep file; any problem is one :class:`InputError`."""
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise InputError.plain(f"sweep file {path!r} not found")
    try:
        with open(path, "rb") as f:
            raw = tomllib.loads(f.read().decode("utf-8"))
    except OSError as exc:
        raise InputError.plain(f"sweep file {path!r} cannot be read: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise InputError.plain(f"sweep file {path!r} is not UTF-8 text") from None
    except tomllib.TOMLDecodeError as exc:
        raise InputError.plain(f"sweep file {path!r} is not valid TOML: {exc}") from None
    default_name = os.path.splitext(os.path.basename(path))[0]
    base_dir = os.path.dirname(os.path.abspath(path))
    return parse_spec(raw, default_name=default_name, base_dir=base_dir)


def _unknown(table: dict, allowed, where: str) -> None:
    for key in table:
        if key not in allowed:
            raise InputError(f"{where}.{key}" if where else key, table[key], _known(allowed, where))


def _known(allowed, where: str) -> str:
    return f"a known key{' in [' + where + ']' if where else ''}: " + ", ".join(allowed)


def _is_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_num(v) -> bool:
    """A finite number (TOML's inf and nan are not)."""
    return isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)


def parse_spec(raw: dict, default_name: str = "sweep", base_dir: str = ".") -> SweepSpec:
    """Validate a parsed sweep file (a dict as TOML gives it)."""
    _unknown(raw, ("study", "train", "workload", "hw", "search"), "")
    for key in raw:
        if not isinstance(raw[key], dict):
            raise InputError(key, raw[key], "a table ([" + key + "])")
    study = dict(raw.get("study", {}))
    _unknown(study, _STUDY_KEYS, "study")
    if ("train" in raw) == ("workload" in raw):
        raise InputError.plain(
            "a sweep file needs exactly one of [train] (train and simulate each trial) "
            "or [workload] (simulate-only hardware sweep)"
        )
    trains = "train" in raw

    name = study.get("name", default_name)
    if not isinstance(name, str) or not name or "/" in name:
        raise InputError("study.name", name, "a non-empty name without '/'")

    objectives = study.get("objectives", ["accuracy", "latency_us"] if trains else ["latency_us"])
    if not isinstance(objectives, list) or not objectives:
        raise InputError(
            "study.objectives", objectives, "a non-empty list of " + _names(OBJECTIVES)
        )
    for o in objectives:
        if o not in OBJECTIVES:
            raise InputError("study.objectives", o, "one of " + _names(OBJECTIVES))
    if len(set(objectives)) != len(objectives):
        raise InputError("study.objectives", objectives, "each objective at most once")
    if not trains and "accuracy" in objectives:
        raise InputError(
            "study.objectives",
            "accuracy",
            "area_mm2, latency_us or energy_uj in a simulate-only sweep",
        )

    sampler = study.get("sampler", "tpe")
    if sampler not in SAMPLERS:
        raise InputError("study.sampler", sampler, "one of " + ", ".join(SAMPLERS))
    seed = study.get("seed", 0)
    if not _is_int(seed) or not 0 <= seed < 2**32:
        raise InputError("study.seed", seed, "an integer from 0 to 2**32 - 1")
    fidelity = study.get("fidelity", "analytical")
    if fidelity not in FIDELITIES:
        raise InputError("study.fidelity", fidelity, "simpy or analytical")
    storage = study.get("storage")
    if storage is not None and (not isinstance(storage, str) or "://" not in storage):
        raise InputError("study.storage", storage, "a database URL such as sqlite:///runs/x.db")
    population = study.get("population")
    if population is not None and (not _is_int(population) or not 2 <= population <= 10_000):
        raise InputError("study.population", population, "an integer from 2 to 10000")

    hw = dict(raw.get("hw", {}))
    hw.setdefault("preset", "default")
    if not isinstance(hw["preset"], str):
        raise InputError("hw.preset", hw["preset"], "a preset name or a path to a TOML file")
    train = dict(raw["train"]) if trains else None
    workload = None if trains else _check_workload(dict(raw["workload"]), base_dir)
    params = tuple(_parse_param(k, v) for k, v in raw.get("search", {}).items())

    trials = study.get("trials")
    if sampler == "grid":
        n_grid = math.prod(p.grid_size() for p in params)
        if n_grid > MAX_GRID_POINTS:
            raise InputError(
                "[search]", f"{n_grid:.3g} grid points", f"at most {MAX_GRID_POINTS} grid points"
            )
        trials = n_grid if trials is None else trials
    if not _is_int(trials) or not 1 <= trials <= MAX_TRIALS:
        raise InputError(
            "study.trials", trials, f"an integer from 1 to {MAX_TRIALS} (finished trials wanted)"
        )
    if sampler == "grid":
        trials = min(trials, n_grid)
    elif params and all(p.choices is not None or p.is_int for p in params):
        # a finite space: no more distinct points than it holds (trials count distinct points)
        trials = min(trials, math.prod(p.grid_size() for p in params))

    spec = SweepSpec(
        name=name,
        objectives=tuple(objectives),
        sampler=sampler,
        trials=trials,
        seed=seed,
        fidelity=fidelity,
        storage=storage,
        population=population,
        hw=hw,
        train=train,
        workload=workload,
        params=params,
    )
    _check_hw(spec)
    if trains:
        _check_train(spec)
    else:
        for p in params:
            if not p.name.startswith(("hw.", "workload.")):
                raise InputError(
                    f'search."{p.name}"',
                    "",
                    "hw.<field> or workload.sparsity in a simulate-only sweep",
                )
        _check_workload_params(spec)
    return spec


def _names(d) -> str:
    return ", ".join(d)


def _parse_param(name: str, value) -> Param:
    where = f'search."{name}"'
    if not name.startswith(("hw.", "train.", "workload.")) or name.count(".") != 1:
        raise InputError(where, value, "a name train.<knob>, hw.<field> or workload.sparsity")
    if isinstance(value, list):
        if not value:
            raise InputError(where, value, "a non-empty list of choices")
        if len({json.dumps(v) for v in value}) != len(value):
            raise InputError(where, value, "a list without repeated choices")
        for v in value:
            if not isinstance(v, str | int | float | bool):
                raise InputError(where, v, "choices that are strings, numbers or booleans")
            if isinstance(v, float) and not math.isfinite(v):
                raise InputError(where, v, "finite numbers (no inf or nan)")
        return Param(name, choices=tuple(value))
    if isinstance(value, dict):
        _unknown(value, _RANGE_KEYS, where)
        low, high = value.get("low"), value.get("high")
        step, log = value.get("step"), value.get("log", False)
        if not _is_num(low) or not _is_num(high):
            raise InputError(where, value, "a range with finite numeric low and high")
        if max(abs(low), abs(high)) > 1e15:
            raise InputError(where, value, "a range within -1e15..1e15")
        if not low < high:
            raise InputError(where, value, "a non-empty range: low < high")
        if not isinstance(log, bool):
            raise InputError(f"{where}.log", log, "true or false")
        if step is not None and (not _is_num(step) or step <= 0):
            raise InputError(f"{where}.step", step, "a finite number > 0")
        if step is not None and _is_int(low) and _is_int(high) and not _is_int(step):
            raise InputError(f"{where}.step", step, "an integer step for an integer range")
        if log and (low <= 0 or step is not None):
            raise InputError(where, value, "a log range with low > 0 and no step")
        return Param(name, low=low, high=high, step=step, log=log)
    raise InputError(where, value, "a list of choices or a table {low, high[, step][, log]}")


def _param_values(p: Param) -> tuple:
    """The values to validate an axis with: all choices, or the range's ends."""
    return p.choices if p.choices is not None else (p.low, p.high)


def _check_hw(spec: SweepSpec) -> None:
    from accelerators import HardwareConfig

    fields = [f.name for f in dataclasses.fields(HardwareConfig)]
    for k in spec.hw:
        if k != "preset" and k not in fields:
            raise InputError(
                f"hw.{k}", spec.hw[k], "preset or a HardwareConfig field: " + ", ".join(fields)
            )
    base = spec.hw_config()  # validates the preset and overrides
    for p in spec.params:
        if not p.name.startswith("hw."):
            continue
        fname = p.name[3:]
        if fname not in fields:
            raise InputError(
                f'search."{p.name}"', "", "hw.<field> with a field from: " + ", ".join(fields)
            )
        for v in _param_values(p):
            try:
                base.replace(**{fname: v})
            except InputError as exc:
                raise InputError(f'search."{p.name}"', v, exc.allowed or str(exc)) from None


def _check_workload(w: dict, base_dir: str) -> dict:
    _unknown(w, _WORKLOAD_KEYS, "workload")
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
        if not _is_num(w["sparsity"]) or not 0 <= w["sparsity"] < 1:
            raise InputError("workload.sparsity", w["sparsity"], "a fraction in [0, 1)")
        if not _is_int(w["seed"]) or not 0 <= w["seed"] < 2**32:
            raise InputError("workload.seed", w["seed"], "an integer from 0 to 2**32 - 1")
    return w


def _check_workload_params(spec: SweepSpec) -> None:
    for p in spec.params:
        if not p.name.startswith("workload."):
            continue
        if p.name != "workload.sparsity" or spec.workload.get("weights"):
            raise InputError(f'search."{p.name}"', "", "workload.sparsity, with [workload] shapes")
        for v in _param_values(p):
            if not _is_num(v) or not 0 <= v < 1:
                raise InputError(f'search."{p.name}"', v, "a fraction in [0, 1)")
    # build the base workload once so a bad shapes value fails now, not in a trial
    from .workloads import build_workload

    build_workload(spec.workload_knobs())


def _check_feedback(knobs: dict, where: str) -> None:
    checks = {
        "feedback": (lambda v: v in FEEDBACKS, "none, simpy or analytical"),
        "feedback_objective": (lambda v: v in FEEDBACK_OBJECTIVES, "latency, energy or area"),
        "feedback_period_steps": (
            lambda v: v is None or (_is_int(v) and 1 <= v <= 10**9),
            "an integer from 1 to 10**9",
        ),
        "feedback_per_row": (lambda v: isinstance(v, bool), "true or false"),
        "target_latency_us": (lambda v: _is_num(v) and v > 0, "a number > 0 (us)"),
        "target_energy_uj": (lambda v: _is_num(v) and v > 0, "a number > 0 (uJ)"),
    }
    for k, v in knobs.items():
        ok, allowed = checks[k]
        if not ok(v):
            raise InputError(where.format(k), v, allowed)


def _check_train(spec: SweepSpec) -> None:
    from codesign.training import TrainConfig

    fields = [f.name for f in dataclasses.fields(TrainConfig)]
    allowed = fields + list(FEEDBACK_KNOBS)
    for k in spec.train:
        if k not in allowed:
            raise InputError(f"train.{k}", spec.train[k], "a training knob: " + ", ".join(allowed))
    fixed = {k: v for k, v in spec.train.items() if k in fields}
    _check_feedback({k: v for k, v in spec.train.items() if k in FEEDBACK_KNOBS}, "train.{}")
    _train_config(fixed, "[train]")
    for p in spec.params:
        if not p.name.startswith("train."):
            continue
        knob = p.name[6:]
        if knob not in allowed:
            raise InputError(
                f'search."{p.name}"', "", "train.<knob> with a knob from: " + ", ".join(allowed)
            )
        for v in _param_values(p):
            if knob in FEEDBACK_KNOBS:
                _check_feedback({knob: v}, f'search."{p.name}"')
            else:
                _train_config({**fixed, knob: v}, f'search."{p.name}"')


def _train_config(knobs: dict, where: str):
    from codesign.training import TrainConfig

    try:
        return TrainConfig(**knobs)
    except InputError:
        raise
    except TypeError as exc:
        raise InputError.plain(f"{where}: {exc}") from None
