"""The hardware workload of a simulate-only sweep, built once per process."""

from __future__ import annotations

import functools
import json

__all__ = ["build_workload"]


def build_workload(knobs: dict):
    """The hardware workload of a simulate-only sweep (cached per process)."""
    return _workload(json.dumps(knobs, sort_keys=True))


@functools.lru_cache(maxsize=8)
def _workload(key: str):
    from accelerators import load_ternary_npz, workload_from_shapes, workload_from_tensors

    knobs = json.loads(key)
    if knobs.get("weights"):
        return workload_from_tensors(load_ternary_npz(knobs["weights"]))
    shapes = knobs["shapes"]
    return workload_from_shapes(shapes, knobs["sparsity"], seed=knobs.get("seed", 0))
