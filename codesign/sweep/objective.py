"""One trial: train (or take the cached network) and simulate it; returns contract-3 attributes.

:func:`evaluate_trial` is a plain top-level function of a picklable
:class:`TrialTask`, so it runs the same in-process, in a local worker process
or on a Dask worker. It never touches the study: the coordinator writes.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass

from codesign.study.contract import ATTR

from .cache import TrainCache, train_key
from .knobs import FEEDBACK_KNOBS
from .workloads import build_workload

__all__ = ["TrialTask", "evaluate_trial", "metrics_from"]


@dataclass(frozen=True)
class TrialTask:
    """What a worker needs for one trial."""

    spec: object  # a SweepSpec
    params: dict
    number: int = 0
    cache_dir: str = "runs/cache"


#: the dense baselines run on the same template with dense weight storage, no zero-skip
BASELINE_FORMATS = {"binary": "dense-binary", "ternary": "dense-ternary"}


def baseline_hw(hw, method: str):
    """The accelerator a trial of ``method`` is scored on: dense baselines get
    ``weight_format = dense-binary / dense-ternary`` and ``zero_skip = none``."""
    if method in BASELINE_FORMATS:
        return hw.replace(weight_format=BASELINE_FORMATS[method], zero_skip="none")
    return hw


def metrics_from(hw_report: dict, train_report: dict | None) -> dict:
    """Contract-3 ``metrics``; ``accuracy`` is None in a simulate-only sweep."""
    layers = hw_report["layers"]
    total = sum(lay["rows"] * lay["cols"] for lay in layers)
    nnz = sum(lay["nnz"] for lay in layers)
    sparsity = 1.0 - nnz / total if total else 0.0
    if train_report is not None and "sparsity" in train_report:
        sparsity = float(train_report["sparsity"])
    return {
        "accuracy": None if train_report is None else float(train_report["accuracy"]),
        "sparsity": sparsity,
        "area_mm2": float(hw_report["area_mm2"]),
        "latency_us": float(hw_report["latency_us"]),
        "energy_uj": float(hw_report["energy_uj"]),
        "cycles": int(hw_report["cycles"]),
        "size_kib": float(hw_report["weight_bits_stored"]) / 8192,  # stored, not retired
    }


def train_or_load(knobs: dict, hw, cache_dir: str) -> tuple[list, dict, dict, bool]:
    """``(layers, train_report, train_config_dict, cache_hit)`` for training knobs on ``hw``."""
    from codesign.training import TrainConfig, resolve_device, train

    fb = {k: knobs[k] for k in FEEDBACK_KNOBS if k in knobs}
    cfg = TrainConfig(**{k: v for k, v in knobs.items() if k not in FEEDBACK_KNOBS})
    # the device this worker trains on (auto resolved here): part of the cache key, as
    # CPU and CUDA runs of one seed need not give the same network
    cfg = dataclasses.replace(cfg, device=resolve_device(cfg.device).type)
    cfg_dict = cfg.to_dict()
    feedback_on = fb.get("feedback", "none") != "none"
    key = train_key(cfg_dict, fb if feedback_on else None, hw.to_dict() if feedback_on else None)
    cache = TrainCache(cache_dir)
    config_dict = {**cfg_dict, "feedback": {"feedback": "none", **fb}}
    cached = cache.load(key)
    if cached is not None:
        return *cached, config_dict, True
    provider = None
    if feedback_on:
        from codesign.hardware_cost import HardwareCost

        provider = HardwareCost(
            hw,
            fidelity=fb["feedback"],
            objective=fb.get("feedback_objective", "latency"),
            per_row=fb.get("feedback_per_row", False),
            per_column=fb.get("feedback_per_column", False),
            smoothing=fb.get("feedback_smoothing", 0.0),
            period_steps=fb.get("feedback_period_steps"),
            target_latency_us=fb.get("target_latency_us"),
            target_energy_uj=fb.get("target_energy_uj"),
        )
    result = train(cfg, cost_provider=provider, progress=False)
    cache.store(key, result)
    return list(result.layers), result.report, config_dict, False


def evaluate_trial(task: TrialTask) -> dict:
    """Run one trial; returns ``{"values": [...], "user_attrs": {...}}`` (contract 3)."""
    from accelerators import simulate, workload_from_tensors

    t0 = time.perf_counter()
    spec = task.spec
    hw = spec.hw_config(task.params)
    train_report, train_config, hit = None, None, None
    if spec.trains:
        knobs = spec.train_knobs(task.params)
        layers, train_report, train_config, hit = train_or_load(knobs, hw, task.cache_dir)
        workload = workload_from_tensors(layers)
        method = train_config.get("method", "sparse-ternary")
        hw = baseline_hw(hw, method)
    else:
        workload = build_workload(spec.workload_knobs(task.params))
        method = "sparse-ternary"
    report = simulate(workload, hw, fidelity=spec.fidelity).to_dict()
    metrics = metrics_from(report, train_report)
    attrs = {
        ATTR.METRICS: metrics,
        ATTR.HW_CONFIG: hw.to_dict(),
        ATTR.TRAIN_CONFIG: train_config,
        ATTR.HW_REPORT: report,
        ATTR.TRAIN_REPORT: train_report,
        ATTR.METHOD: method,
        ATTR.CACHE_HIT: hit,
        ATTR.WALL_S: time.perf_counter() - t0,
    }
    values = []
    for name in spec.objectives:
        v = metrics[name]
        if v is None or v != v:
            raise ValueError(f"objective {name} has no value ({v!r})")
        values.append(float(v))
    return {"values": values, "user_attrs": attrs}
