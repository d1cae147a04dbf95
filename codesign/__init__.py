"""codesign: train sparse ternary networks and co-design the accelerators that run them."""

from accelerators import InputError

from .feedback import CostProvider, Feedback, UniformCost
from .hardware_cost import HardwareCost

__all__ = [
    "METHODS",
    "CostProvider",
    "Feedback",
    "HardwareCost",
    "InputError",
    "TrainConfig",
    "TrainResult",
    "UniformCost",
    "export_onnx",
    "load_run",
    "model_from_onnx",
    "train",
    "workload_from_onnx",
]

# Training needs torch: loaded on first use, so `codesign simulate` never imports it.
# TrainConfig and METHODS come from codesign.training_config, which needs no torch.
_TRAINING = ("TrainResult", "load_run", "train")
_CONFIG = ("METHODS", "TrainConfig")
_LAZY = {  # name -> module: ONNX reading needs no torch; the torch model and export do
    "workload_from_onnx": "onnx_workload",
    "model_from_onnx": "onnx_model",
    "export_onnx": "onnx_export",
}


def __getattr__(name: str):
    if name in _CONFIG:
        from . import training_config

        return getattr(training_config, name)
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    if name in _TRAINING:
        from . import training

        return getattr(training, name)
    raise AttributeError(f"module 'codesign' has no attribute {name!r}")
