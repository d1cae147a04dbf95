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
    "load_run",
    "train",
]

# Training needs torch: loaded on first use, so `codesign simulate` never imports it.
# TrainConfig and METHODS come from codesign.training_config, which needs no torch.
_TRAINING = ("TrainResult", "load_run", "train")
_CONFIG = ("METHODS", "TrainConfig")


def __getattr__(name: str):
    if name in _CONFIG:
        from . import training_config

        return getattr(training_config, name)
    if name in _TRAINING:
        from . import training

        return getattr(training, name)
    raise AttributeError(f"module 'codesign' has no attribute {name!r}")
