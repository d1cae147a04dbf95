"""Simulate one network the way ``codesign simulate`` does, as a library (no printing, no torch).

- :func:`load_network`: the workload from ``--weights`` (a ternary.npz, damage
  as one clean error), ``--onnx`` (:func:`codesign.onnx_workload.workload_from_onnx`),
  a built-in shape name or a shape file.
- :func:`simulate_network`: the report dict (``Report.to_dict()``; with
  ``fidelity="both"`` SimPy, analytical and their error), plus
  ``weight_storage_kib`` and, with ``compare_baselines``, the same network as
  dense ternary and dense binary on the same template (``zero_skip = none``).
"""

from __future__ import annotations

import math
import os
from typing import Any

import accelerators
from accelerators import InputError
from accelerators.workload import BUILTIN_SHAPES

from .files import load_weights

__all__ = [
    "BASELINES",
    "FIDELITIES",
    "analytical_error",
    "load_network",
    "simulate_fidelity",
    "simulate_network",
    "weight_storage_kib",
]

FIDELITIES = ("simpy", "analytical", "both")
BASELINES = {"dense-ternary": "dense ternary", "dense-binary": "dense binary"}


def _stem(path: str) -> str:
    return os.path.splitext(os.path.basename(path))[0]


def load_network(
    weights: str | None = None,
    workload: str | None = None,
    onnx: str | None = None,
    sparsity: float = 0.9,
    seed: int = 0,
    threshold: float = 0.05,
    rule: str = "max",
):
    """The workload graph to simulate (one source; default the built-in ``lfc`` shapes).

    ``sparsity`` / ``seed``: the random weights of built-in shapes (and of an
    ONNX graph whose weights are inputs); ``threshold`` / ``rule``: how float
    ONNX weights are ternarized.
    """
    if sum(x is not None for x in (weights, workload, onnx)) > 1:
        raise InputError.plain("give one of --weights, --workload, --onnx")
    if isinstance(sparsity, bool) or not (
        isinstance(sparsity, int | float) and 0.0 <= sparsity < 1.0
    ):
        raise InputError("--sparsity", sparsity, "a fraction in [0, 1)")
    if weights is not None:
        return accelerators.workload_from_tensors(load_weights(weights), name=_stem(weights))
    if onnx is not None:
        from .onnx_import import read_onnx, skipped_summary
        from .onnx_workload import workload_from_onnx

        net = read_onnx(onnx)
        layers = workload_from_onnx(net, threshold, rule, sparsity=sparsity, seed=seed)
        g = accelerators.workload_from_tensors(layers, name=_stem(onnx))
        g.graph["notes"] = (
            [
                f"ONNX: skipped operators that cost nothing on this template: {skipped_summary(net.notes)}"
            ]
            if net.notes
            else []
        )
        return g
    name = workload or "lfc"
    if name in BUILTIN_SHAPES:
        return accelerators.workload_from_shapes(name, sparsity, seed=seed)
    if name.endswith(".npz"):
        return accelerators.workload_from_tensors(load_weights(name), name=_stem(name))
    return accelerators.load_workload(name)


def simulate_network(
    workload,
    cfg,
    fidelity: str = "simpy",
    tech=None,
    seed: int = 0,
    compare_baselines: bool = False,
    progress: bool = False,
) -> dict[str, Any]:
    """The report dict of ``workload`` on ``cfg`` (module docstring)."""
    if fidelity not in FIDELITIES:
        raise InputError("fidelity", fidelity, " | ".join(FIDELITIES))
    runs = {"main": cfg}
    if compare_baselines:
        for fmt in BASELINES:
            runs[fmt] = cfg.replace(zero_skip="none", weight_format=fmt)
    from tqdm import tqdm

    results: dict[str, dict[str, Any]] = {}
    bar = tqdm(
        runs.items(),
        desc="simulate",
        unit="run",
        disable=None if progress and len(runs) > 1 else True,
    )
    for key, c in bar:
        bar.set_postfix_str(key)
        results[key] = simulate_fidelity(workload, c, fidelity, tech, seed)
        results[key]["weight_storage_kib"] = weight_storage_kib(workload, c)
    out = dict(results["main"])
    if compare_baselines:
        out["baselines"] = {k: results[k] for k in BASELINES}
    return out


def simulate_fidelity(workload, cfg, fidelity: str, tech=None, seed: int = 0) -> dict[str, Any]:
    """``Report.to_dict()`` of one fidelity, or with ``both`` the two and their error."""

    def one(f: str) -> dict[str, Any]:
        return accelerators.simulate(workload, cfg, fidelity=f, tech=tech, seed=seed).to_dict()

    if fidelity != "both":
        return one(fidelity)
    s, a = one("simpy"), one("analytical")
    return {"simpy": s, "analytical": a, "analytical_error": analytical_error(s, a)}


def _rel(ref: float, est: float) -> float:
    if ref == 0:
        return 0.0 if est == 0 else math.inf
    return (est - ref) / ref


def analytical_error(simpy: dict[str, Any], analytical: dict[str, Any]) -> dict[str, Any]:
    """The analytical model's error against SimPy: ``(analytical - simpy) / simpy``.

    ``cycles_rel``, ``latency_us_rel``, ``energy_uj_rel`` (signed fractions),
    ``utilization_abs`` (difference of the 0..1 fractions), per-layer
    ``layers_cycles_rel`` and ``max_abs_layer_cycles_rel``, and ``within_bounds``:
    whether SimPy's cycles lie in the analytical ``[cycles_lower, cycles_upper]``.

    >>> s = {"cycles": 100, "latency_us": 0.2, "energy_uj": 1.0, "utilization": 0.5,
    ...      "layers": [{"name": "fc0", "cycles": 100}]}
    >>> a = {"cycles": 110, "latency_us": 0.22, "energy_uj": 1.0, "utilization": 0.45,
    ...      "cycles_lower": 90, "cycles_upper": 120, "layers": [{"name": "fc0", "cycles": 110}]}
    >>> e = analytical_error(s, a)
    >>> round(e["cycles_rel"], 3), round(e["utilization_abs"], 3), e["within_bounds"]
    (0.1, -0.05, True)
    """
    per_layer = {
        ls["name"]: _rel(ls["cycles"], la["cycles"])
        for ls, la in zip(simpy["layers"], analytical["layers"], strict=False)
    }
    lo = analytical.get("cycles_lower", analytical["cycles"])
    hi = analytical.get("cycles_upper", analytical["cycles"])
    return {
        "cycles_rel": _rel(simpy["cycles"], analytical["cycles"]),
        "latency_us_rel": _rel(simpy["latency_us"], analytical["latency_us"]),
        "energy_uj_rel": _rel(simpy["energy_uj"], analytical["energy_uj"]),
        "utilization_abs": analytical["utilization"] - simpy["utilization"],
        "layers_cycles_rel": per_layer,
        "max_abs_layer_cycles_rel": max((abs(v) for v in per_layer.values()), default=0.0),
        "within_bounds": bool(lo <= simpy["cycles"] <= hi),
    }


def weight_storage_kib(workload, cfg) -> float:
    """KiB of weight storage of ``workload`` in ``cfg``'s format: what a report's
    ``weight_kib_stored`` holds (:func:`accelerators.weight_bits_stored`, over
    :func:`accelerators.encoding.stored_bits`, the one definition; entry counts come
    from the workload's cached statistics)."""
    return sum(accelerators.weight_bits_stored(workload, cfg).values()) / 8192
