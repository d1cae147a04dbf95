"""The study contract (contract 3 of docs/contracts.md): the one place its names live.

A sweep writes a study with these names, ``codesign export`` flattens it, and
the dashboard reads it; all three import them from here. Torch-free and
Optuna-free, so anyone can import it.

>>> OBJECTIVES["accuracy"], OBJECTIVES["latency_us"]
('maximize', 'minimize')
>>> set(OBJECTIVES) <= set(METRICS)
True
>>> section({"hw.n_pe": 8, "train.lr": 0.1}, "hw")
{'n_pe': 8}
"""

from __future__ import annotations

__all__ = [
    "ATTR",
    "DEFAULT_REQUIRED",
    "METRICS",
    "METRIC_LABELS",
    "OBJECTIVES",
    "PARAM_PREFIXES",
    "STUDY_ATTR",
    "direction_signs",
    "section",
]

#: objective name -> Optuna direction; every objective is also a metric
OBJECTIVES = {
    "accuracy": "maximize",
    "area_mm2": "minimize",
    "latency_us": "minimize",
    "energy_uj": "minimize",
}

#: the keys of a trial's ``metrics`` attribute, always all present (``accuracy`` is None in a
#: simulate-only sweep). ``latency_us`` is steady state (weights resident on chip);
#: ``size_kib`` is the weight storage the PEs hold (KiB, stored bits / 8192).
METRICS = ("accuracy", "sparsity", "area_mm2", "latency_us", "energy_uj", "cycles", "size_kib")

#: what a person reads for each metric (units in parentheses)
METRIC_LABELS = {
    "accuracy": "test accuracy (0..1)",
    "sparsity": "weight sparsity (0..1)",
    "area_mm2": "area (mm^2)",
    "latency_us": "latency, steady state (us)",
    "energy_uj": "energy, steady state (uJ)",
    "cycles": "cycles",
    "size_kib": "weight storage (KiB)",
}

#: what a shown trial must hold as finite numbers when the study records no known objectives
DEFAULT_REQUIRED = ("area_mm2", "latency_us", "energy_uj")

#: swept parameter names start with one of these (``workload.*`` in simulate-only sweeps)
PARAM_PREFIXES = ("train.", "hw.", "workload.")


class ATTR:
    """Keys of a trial's user attributes."""

    METRICS = "metrics"
    HW_CONFIG = "hw_config"
    TRAIN_CONFIG = "train_config"
    HW_REPORT = "hw_report"
    TRAIN_REPORT = "train_report"
    METHOD = "method"
    CACHE_HIT = "cache_hit"
    WALL_S = "wall_s"
    ERROR = "error"
    INTERRUPTED = "interrupted"  # FAIL: its sweep process died while it ran
    REQUEUED = "requeued"  # FAIL: its parameters were queued again (not a final result)
    DUPLICATE_OF = "duplicate_of"  # PRUNED: the same point as this earlier trial number


class STUDY_ATTR:
    """Keys of a study's user attributes."""

    OBJECTIVES = "objectives"
    SWEEP = "sweep"
    SWEEP_IDENTITY = "sweep_identity"


def direction_signs(objectives) -> list[float]:
    """+1 for an objective to minimize, -1 for one to maximize (multiply to minimize all).

    >>> direction_signs(["accuracy", "area_mm2"])
    [-1.0, 1.0]
    """
    return [1.0 if OBJECTIVES[o] == "minimize" else -1.0 for o in objectives]


def section(params: dict, prefix: str) -> dict:
    """The parameters under ``prefix.`` with the prefix taken off."""
    pre = prefix + "."
    return {k[len(pre) :]: v for k, v in params.items() if k.startswith(pre)}
