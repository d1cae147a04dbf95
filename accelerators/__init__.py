"""Hardware models of the sparse ternary accelerator.

Imports numpy, simpy and networkx only: no torch, Dash or Optuna.
"""

from ._errors import InputError
from .encoding import dense_bits, encoded_bits, encoded_entries, pe_column_entries
from .tensors import LayerTensor, load_ternary_npz, save_ternary_npz

__all__ = [
    "InputError",
    "LayerTensor",
    "dense_bits",
    "encoded_bits",
    "encoded_entries",
    "load_ternary_npz",
    "pe_column_entries",
    "save_ternary_npz",
]
