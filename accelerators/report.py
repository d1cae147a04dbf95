"""The simulation report: contract 2 of ``docs/contracts.md``.

:class:`Report` holds one inference's totals and a :class:`LayerReport` per layer;
``to_dict()`` is exactly the JSON shape of the contract. Units: cycles are clock
cycles, ``latency_us`` microseconds, ``area_mm2`` square millimetres, ``energy_uj``
microjoules, counts in actions or bits (names end in ``_bits``).

What each figure means:

- ``cycles`` / ``latency_us``: one inference in steady state, the weights already
  resident in the on-chip SRAMs (layers that do not fit stream from DRAM as part of
  it); ``first_inference_cycles`` / ``first_inference_latency_us``: the same
  inference when the resident weights must first be loaded from DRAM
  (:func:`accelerators.simulate.weight_load_cycles`).
- ``utilization``: useful work, nonzero weight x nonzero activation products over
  all lane-cycles (``n_pe x lanes_per_pe x cycles``); ``busy``: lane-cycles that
  retire any entry (padding, zero weights walked densely and zero activations
  pushed included) over the same. Always ``busy >= utilization``.
- ``energy_uj``: dynamic plus leakage energy of one steady-state inference;
  ``energy_dynamic_uj`` and ``energy_leakage_uj`` split it, and
  ``energy_breakdown_uj`` lists both kinds by component (leakage keys start with
  ``leakage_``).
- ``weight_bits_stored`` / ``weight_kib_stored``: the network's stored weight bits
  (:func:`accelerators.encoding.stored_bits`), per layer and in total.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["Report", "LayerReport", "STALL_CAUSES"]

STALL_CAUSES = ("imbalance", "column_lanes", "broadcast", "fifo", "dram", "readout")


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
    busy: float
    energy_uj: float
    pe_busy_cycles: list[int]
    dram_bound: bool
    padding_entries: int
    weight_bits_stored: int
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
            "busy": float(self.busy),
            "energy_uj": float(self.energy_uj),
            "pe_busy_cycles": [int(x) for x in self.pe_busy_cycles],
            "dram_bound": bool(self.dram_bound),
            "padding_entries": int(self.padding_entries),
            "weight_bits_stored": int(self.weight_bits_stored),
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
    busy: float
    stall_cycles: dict[str, int]
    area_mm2: float
    area_breakdown_mm2: dict[str, float]
    energy_uj: float
    energy_breakdown_uj: dict[str, float]
    energy_dynamic_uj: float
    energy_leakage_uj: float
    counts: dict[str, int]
    dram_bound: bool
    layers: list[LayerReport]
    hw: dict[str, Any]
    wall_s: float
    first_inference_cycles: int
    first_inference_latency_us: float
    weight_bits_stored: int
    cycles_lower: int | None = None
    cycles_upper: int | None = None
    events: int = 0  # SimPy events processed (0 for the analytical model)

    @property
    def weight_kib_stored(self) -> float:
        """:attr:`weight_bits_stored` in KiB (8192 bits)."""
        return self.weight_bits_stored / 8192

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"fidelity": self.fidelity, "cycles": int(self.cycles)}
        if self.cycles_lower is not None:
            d["cycles_lower"], d["cycles_upper"] = int(self.cycles_lower), int(self.cycles_upper)
        d.update(
            {
                "latency_us": float(self.latency_us),
                "first_inference_cycles": int(self.first_inference_cycles),
                "first_inference_latency_us": float(self.first_inference_latency_us),
                "throughput_inf_s": float(self.throughput_inf_s),
                "utilization": float(self.utilization),
                "busy": float(self.busy),
                "stall_cycles": {k: int(v) for k, v in self.stall_cycles.items()},
                "area_mm2": float(self.area_mm2),
                "area_breakdown_mm2": {k: float(v) for k, v in self.area_breakdown_mm2.items()},
                "energy_uj": float(self.energy_uj),
                "energy_breakdown_uj": {k: float(v) for k, v in self.energy_breakdown_uj.items()},
                "energy_dynamic_uj": float(self.energy_dynamic_uj),
                "energy_leakage_uj": float(self.energy_leakage_uj),
                "weight_bits_stored": int(self.weight_bits_stored),
                "weight_kib_stored": float(self.weight_kib_stored),
                "counts": {k: int(v) for k, v in self.counts.items()},
                "dram_bound": bool(self.dram_bound),
                "layers": [lr.to_dict() for lr in self.layers],
                "hw": dict(self.hw),
                "wall_s": float(self.wall_s),
            }
        )
        return d
