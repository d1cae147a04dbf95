"""Hardware models of the sparse ternary accelerator.

Imports numpy, simpy and networkx only: no torch, Dash or Optuna.
"""

from ._errors import InputError
from .tensors import LayerTensor, load_ternary_npz, save_ternary_npz

__all__ = ["InputError", "LayerTensor", "load_ternary_npz", "save_ternary_npz"]
