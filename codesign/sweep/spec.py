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
    # feedback_period_steps, feedback_per_row, feedback_per_column, feedback_smoothing,
    # target_latency_us, target_energy_uj

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
from dataclasses import dataclass, field
from typing import Any

from accelerators import InputError
from accelerators._files import read_toml
from codesign.study.contract import section as _section
from codesign.training_config import DEVICES, MAX_SEED, Rule, check_rule

from .checks import (
    check_hw,
    check_train,
    check_workload,
    check_workload_params,
    unknown_keys,
)
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
from .param import Param, parse_param

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

#: the [study] table's scalar keys: (rule, default). ``name``, ``objectives`` and
#: ``trials`` have defaults that depend on the rest of the file (see parse_spec).
STUDY_FIELDS: dict[str, tuple[Rule, Any]] = {
    "sampler": (Rule("choice", choices=tuple(SAMPLERS)), "tpe"),
    "seed": (Rule("int", 0, MAX_SEED), 0),
    "fidelity": (Rule("choice", choices=tuple(FIDELITIES)), "analytical"),
    "storage": (Rule("str"), None),
    "population": (Rule("int", 2, 10_000), None),
}
_STUDY_KEYS = ("name", "objectives", "trials", *STUDY_FIELDS)


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
    raw = read_toml(path, "sweep file")
    default_name = os.path.splitext(os.path.basename(path))[0]
    base_dir = os.path.dirname(os.path.abspath(path))
    return parse_spec(raw, default_name=default_name, base_dir=base_dir)


def parse_spec(raw: dict, default_name: str = "sweep", base_dir: str = ".") -> SweepSpec:
    """Validate a parsed sweep file (a dict as TOML gives it)."""
    unknown_keys(raw, ("study", "train", "workload", "hw", "search"), "")
    for key in raw:
        if not isinstance(raw[key], dict):
            raise InputError(key, raw[key], "a table ([" + key + "])")
    study = dict(raw.get("study", {}))
    unknown_keys(study, _STUDY_KEYS, "study")
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

    knobs = {}
    for key, (rule, default) in STUDY_FIELDS.items():
        value = study.get(key, default)
        knobs[key] = value if value is None else check_rule(f"study.{key}", value, rule)
    sampler, seed, fidelity = knobs["sampler"], knobs["seed"], knobs["fidelity"]
    storage, population = knobs["storage"], knobs["population"]
    if storage is not None and "://" not in storage:
        raise InputError("study.storage", storage, "a database URL such as sqlite:///runs/x.db")

    hw = dict(raw.get("hw", {}))
    hw.setdefault("preset", "default")
    if not isinstance(hw["preset"], str):
        raise InputError("hw.preset", hw["preset"], "a preset name or a path to a TOML file")
    train = dict(raw["train"]) if trains else None
    workload = None if trains else check_workload(dict(raw["workload"]), base_dir)
    params = tuple(parse_param(k, v) for k, v in raw.get("search", {}).items())

    trials = study.get("trials")
    if sampler == "grid":
        n_grid = math.prod(p.grid_size() for p in params)
        if n_grid > MAX_GRID_POINTS:
            raise InputError(
                "[search]", f"{n_grid:.3g} grid points", f"at most {MAX_GRID_POINTS} grid points"
            )
        trials = n_grid if trials is None else trials
    if trials is None:
        raise InputError.plain(
            f"study.trials is missing: sampler {sampler} needs trials = N "
            f"(an integer in 1..{MAX_TRIALS}); only grid counts its own points"
        )
    trials = check_rule("study.trials", trials, Rule("int", 1, MAX_TRIALS))
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
    check_hw(spec)
    if trains:
        check_train(spec)
    else:
        for p in params:
            if not p.name.startswith(("hw.", "workload.")):
                raise InputError(
                    f'search."{p.name}"',
                    "",
                    "hw.<field> or workload.sparsity in a simulate-only sweep",
                )
        check_workload_params(spec)
    return spec


def _names(d) -> str:
    return ", ".join(d)
