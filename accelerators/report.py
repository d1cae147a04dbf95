"""The simulation report: contract 2 of ``docs/contracts.md``.

:class:`Report` holds one inference's totals and a :class:`LayerReport` per layer;
``to_dict()`` is exactly the JSON shape of the contract. Units: cycles are clock
cycles, ``latency_us`` microseconds, ``area_mm2`` square millimetres, ``energy_uj``
microjoules, counts in actions or bits (names end in ``_bits``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["Report", "LayerReport", "STALL_CAUSES"]

STALL_CAUSES = ("imbalance", "dram", "readout")


@dataclass
class LayerReport:
    name: str
    kind: str
    shape: list[int]
    rows: int
    cols: int
    out_pixels: int
    nnz: int
    sparsity: float
    cycles: int
    stall_cycles: dict[str, int]
    utilization: float
    energy_uj: float
    pe_busy_cycles: list[int]
    dram_bound: bool
    padding_entries: int
    cycles_lower: int | None = None
    cycles_upper: int | None = None
    counts: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        d = {
            "name": self.name,
            "kind": self.kind,
            "shape": [int(x) for x in self.shape],
            "rows": int(self.rows),
            "cols": int(self.cols),
            "out_pixels": int(self.out_pixels),
            "nnz": int(self.nnz),
            "sparsity": float(self.sparsity),
            "cycles": int(self.cycles),
            "stall_cycles": {k: int(v) for k, v in self.stall_cycles.items()},
            "utilization": float(self.utilization),
            "energy_uj": float(self.energy_uj),
            "pe_busy_cycles": [int(x) for x in self.pe_busy_cycles],
            "dram_bound": bool(self.dram_bound),
            "padding_entries": int(self.padding_entries),
        }
        if self.cycles_lower is not None:
            d["cycles_lower"], d["cycles_upper"] = int(self.cycles_lower), int(self.cycles_upper)
        return d


@dataclass
class Report:
    """One inference of a workload on one hardware config (contract 2)."""

    fidelity: str
    cycles: int
    latency_us: float
    throughput_inf_s: float
    utilization: float
    stall_cycles: dict[str, int]
    area_mm2: float
    area_breakdown_mm2: dict[str, float]
    energy_uj: float
    energy_breakdown_uj: dict[str, float]
    counts: dict[str, int]
    dram_bound: bool
    layers: list[LayerReport]
    hw: dict[str, Any]
    wall_s: float
    cycles_lower: int | None = None
    cycles_upper: int | None = None
    events: int = 0  # SimPy events processed (0 for the analytical model)

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"fidelity": self.fidelity, "cycles": int(self.cycles)}
        if self.cycles_lower is not None:
            d["cycles_lower"], d["cycles_upper"] = int(self.cycles_lower), int(self.cycles_upper)
        d.update(
            {
                "latency_us": float(self.latency_us),
                "throughput_inf_s": float(self.throughput_inf_s),
                "utilization": float(self.utilization),
                "stall_cycles": {k: int(v) for k, v in self.stall_cycles.items()},
                "area_mm2": float(self.area_mm2),
                "area_breakdown_mm2": {k: float(v) for k, v in self.area_breakdown_mm2.items()},
                "energy_uj": float(self.energy_uj),
                "energy_breakdown_uj": {k: float(v) for k, v in self.energy_breakdown_uj.items()},
                "counts": {k: int(v) for k, v in self.counts.items()},
                "dram_bound": bool(self.dram_bound),
                "layers": [lr.to_dict() for lr in self.layers],
                "hw": dict(self.hw),
                "wall_s": float(self.wall_s),
            }
        )
        return d
