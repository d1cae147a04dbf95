"""codesign: train sparse ternary networks and co-design the accelerators that run them."""

from accelerators import InputError

from .feedback import CostProvider, Feedback, UniformCost
from .hardware_cost import HardwareCost

__all__ = ["CostProvider", "Feedback", "HardwareCost", "InputError", "UniformCost"]
