"""Hardware models of the sparse ternary accelerator.

Imports numpy, simpy and networkx only: no torch, Dash or Optuna.
"""

from ._errors import InputError
from .config import HardwareConfig, load_hw, parse_overrides, preset_names
from .costs import TechTable, area_breakdown_mm2, energy_breakdown_uj, load_tech, scale_to_node
from .encoding import (
    dense_bits,
    encoded_bits,
    encoded_entries,
    pe_column_entries,
    stored_bits,
    stored_weight_bits,
)
from .report import LayerReport, Report
from .simulate import FIDELITIES, simulate, weight_bits_stored
from .tensors import LayerTensor, load_ternary_npz, save_ternary_npz
from .workload import (
    load_workload,
    workload_from_shapes,
    workload_from_tensors,
    workload_summary,
)

__all__ = [
    "TechTable",
    "area_breakdown_mm2",
    "energy_breakdown_uj",
    "load_tech",
    "scale_to_node",
    "FIDELITIES",
    "HardwareConfig",
    "LayerReport",
    "Report",
    "load_hw",
    "load_workload",
    "parse_overrides",
    "preset_names",
    "simulate",
    "workload_from_shapes",
    "workload_from_tensors",
    "workload_summary",
    "InputError",
    "LayerTensor",
    "dense_bits",
    "encoded_bits",
    "encoded_entries",
    "load_ternary_npz",
    "pe_column_entries",
    "save_ternary_npz",
    "stored_bits",
    "stored_weight_bits",
    "weight_bits_stored",
]
