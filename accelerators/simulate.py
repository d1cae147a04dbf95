"""``simulate(workload, config, fidelity) -> Report``: the one entry point.

``fidelity="simpy"`` runs the SimPy model (:mod:`accelerators.sim`, exact for the
template); ``"analytical"`` its vectorized twin (:mod:`accelerators.analytical`,
an estimate with ``cycles_lower`` / ``cycles_upper``). Both count the same
actions; area and energy come from :mod:`accelerators.costs` (counts x cost per
action, the technology table ``tech`` or the bundled 45 nm one).

>>> from accelerators import simulate, workload_from_shapes, load_hw
>>> g = workload_from_shapes([{"kind": "linear", "in": 8, "out": 4}], sparsity=0.5)
>>> r = simulate(g, load_hw("edge"))
>>> r.fidelity, r.cycles > 0, r.to_dict()["layers"][0]["rows"]
('simpy', True, 4)
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Sequence

import networkx as nx

from . import costs
from ._errors import InputError
from .analytical import analytical_layers
from .config import HardwareConfig, load_hw
from .report import STALL_CAUSES, LayerReport, Report
from .sim.accelerator import run_simpy
from .stats import config_stats, layer_stored_bits
from .tensors import LayerTensor
from .workload import workload_from_tensors

__all__ = ["simulate", "FIDELITIES", "weight_bits_stored", "weight_load_cycles"]

FIDELITIES = ("simpy", "analytical")


def _as_workload(workload) -> nx.DiGraph:
    if isinstance(workload, nx.DiGraph):
        if "order" not in workload.graph:
            raise InputError("workload", "a graph without 'order'", "a workload graph")
        return workload
    if isinstance(workload, Sequence) and workload and isinstance(workload[0], LayerTensor):
        return workload_from_tensors(list(workload))
    raise InputError(
        "workload", type(workload).__name__, "a workload graph or a list of LayerTensor"
    )


def simulate(
    workload: nx.DiGraph | Sequence[LayerTensor],
    config: HardwareConfig | str | os.PathLike | None = None,
    fidelity: str = "simpy",
    tech: costs.TechTable | str | os.PathLike | None = None,
    seed: int = 0,
    timing_memo: dict | None = None,
) -> Report:
    """One inference of ``workload`` on ``config`` (a config, preset name or TOML path).

    ``seed`` draws the activation zero patterns of activation skipping.
    ``timing_memo`` (SimPy only): see :func:`accelerators.sim.run_simpy`.
    """
    if fidelity not in FIDELITIES:
        raise InputError("fidelity", fidelity, " | ".join(FIDELITIES))
    g = _as_workload(workload)
    cfg = load_hw(config)
    if not isinstance(tech, costs.TechTable):
        tech = costs.load_tech(tech)
    t0 = time.perf_counter()
    events = 0
    _check_fits_dram(g, cfg)
    if fidelity == "simpy":
        sink, _, events = run_simpy(g, cfg, seed, timing_memo)
        records = list(sink.layers.values())
    else:
        records = analytical_layers(g, cfg, seed)
    wall = time.perf_counter() - t0
    return _report(records, cfg, tech, fidelity, wall, events)


def weight_bits_stored(g: nx.DiGraph, cfg: HardwareConfig) -> dict[str, int]:
    """Stored weight bits of every layer of ``g`` on ``cfg``, by layer name, in execution
    order (:func:`accelerators.encoding.stored_bits`: the one definition; weights and,
    for ``eie``, column pointers; no scales).

    >>> from accelerators import workload_from_shapes, HardwareConfig
    >>> g = workload_from_shapes([{"kind": "linear", "in": 4, "out": 2}], sparsity=0.0)
    >>> weight_bits_stored(g, HardwareConfig(zero_skip="none", weight_format="dense-binary"))
    {'linear0': 8}
    """
    return {
        name: layer_stored_bits(config_stats(g, name, cfg), g.nodes[name]["tensor"].rows, cfg)
        for name in g.graph["order"]
    }


def _check_fits_dram(g: nx.DiGraph, cfg: HardwareConfig) -> None:
    """Refuse a network whose stored weights do not fit even in DRAM."""
    mib = sum(weight_bits_stored(g, cfg).values()) / 8 / 2**20
    if mib > cfg.dram_mib:
        raise InputError(
            "dram_mib", cfg.dram_mib, f">= {mib:.4g} MiB: the network's stored weights do not fit"
        )


def weight_load_cycles(resident_bits: int, cfg: HardwareConfig) -> int:
    """Cycles to load ``resident_bits`` of weights from DRAM into the on-chip SRAMs before
    the first inference: ``dram_latency_cycles + ceil(bits / (8 x dram_bytes_per_cycle))``
    (0 when nothing is resident). The DRAM channel is the one the weight stream uses.

    >>> from accelerators import HardwareConfig
    >>> weight_load_cycles(8 * 1024, HardwareConfig(dram_bytes_per_cycle=16.0))  # 100 + 64
    164
    """
    if resident_bits <= 0:
        return 0
    return cfg.dram_latency_cycles + math.ceil(resident_bits / (8 * cfg.dram_bytes_per_cycle))


def _report(records, cfg: HardwareConfig, tech, fidelity: str, wall: float, events: int) -> Report:
    area = costs.area_breakdown_mm2(cfg, tech)
    area_total = sum(area.values())
    lane_slots = cfg.n_pe * cfg.lanes_per_pe
    layers, counts = [], {}
    stalls = dict.fromkeys(STALL_CAUSES, 0)
    cycles = lower = upper = resident_bits = 0
    for rec in records:
        lt, plan = rec.plan.tensor, rec.plan
        c = {k: int(v) for k, v in rec.counts.items()}
        for k, v in c.items():
            counts[k] = counts.get(k, 0) + v
        for k in STALL_CAUSES:
            stalls[k] += rec.stall_cycles[k]
        cycles += rec.cycles
        lower += getattr(rec, "cycles_lower", rec.cycles)
        upper += getattr(rec, "cycles_upper", rec.cycles)
        # loaded before the first inference: resident weights, every live-column mask
        resident_bits += plan.stored_bits if rec.resident else plan.stats.mask_bits
        energy = costs.energy_breakdown_uj(c, rec.cycles, cfg, tech, area_mm2=area)
        slots = lane_slots * rec.cycles
        layers.append(
            LayerReport(
                name=lt.name,
                kind=lt.kind,
                shape=list(lt.weight.shape),
                rows=lt.rows,
                cols=lt.cols,
                out_pixels=lt.out_pixels,
                nnz=lt.nnz,
                sparsity=lt.sparsity,
                cycles=rec.cycles,
                stall_cycles=dict(rec.stall_cycles),
                utilization=c["useful_adds"] / slots if slots else 0.0,
                busy=c["adds"] / slots if slots else 0.0,
                energy_uj=sum(energy.values()),
                pe_busy_cycles=list(rec.pe_busy_cycles),
                dram_bound=not rec.resident,
                padding_entries=c["padding_entries"],
                weight_bits_stored=plan.stored_bits,
                cycles_lower=getattr(rec, "cycles_lower", None),
                cycles_upper=getattr(rec, "cycles_upper", None),
                counts=c,
            )
        )
    energy = costs.energy_breakdown_uj(counts, cycles, cfg, tech, area_mm2=area)
    latency_us = cycles / cfg.clock_mhz
    first_cycles = cycles + weight_load_cycles(resident_bits, cfg)
    analytical = fidelity == "analytical"
    slots = lane_slots * cycles
    stored = sum(lr.weight_bits_stored for lr in layers)
    leak = sum(v for k, v in energy.items() if k in costs.LEAKAGE_COMPONENTS)
    return Report(
        fidelity=fidelity,
        cycles=cycles,
        latency_us=latency_us,
        throughput_inf_s=1e6 / latency_us if latency_us else 0.0,
        utilization=counts.get("useful_adds", 0) / slots if slots else 0.0,
        busy=counts.get("adds", 0) / slots if slots else 0.0,
        stall_cycles=stalls,
        area_mm2=area_total,
        area_breakdown_mm2=area,
        energy_uj=sum(energy.values()),
        energy_breakdown_uj=energy,
        energy_dynamic_uj=sum(energy.values()) - leak,
        energy_leakage_uj=leak,
        counts=counts,
        dram_bound=any(lr.dram_bound for lr in layers),
        layers=layers,
        hw=cfg.to_dict(),
        wall_s=wall,
        first_inference_cycles=first_cycles,
        first_inference_latency_us=first_cycles / cfg.clock_mhz,
        weight_bits_stored=stored,
        cycles_lower=lower if analytical else None,
        cycles_upper=upper if analytical else None,
        events=events,
    )
