"""Cost providers: where the threshold regularizer's per-layer coefficients come from.

Training asks its cost provider once per feedback period for coefficients.
:class:`UniformCost` gives every layer the same weight (the seed method);
the hardware-driven provider (``codesign.hardware_cost``) runs the simulator on
the current ternary network and returns each layer's marginal cost of one more
nonzero weight.

A provider sees the network as ``accelerators.LayerTensor`` objects (numpy only),
never as torch modules, so it needs no training stack.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field

import numpy as np

from accelerators import LayerTensor

__all__ = ["Feedback", "CostProvider", "UniformCost"]


@dataclass(frozen=True)
class Feedback:
    """One feedback period's answer.

    ``coefficients`` maps a layer name to a float (the whole layer) or to a
    float array of shape (rows,) (one coefficient per output row, so the
    regularizer can also even out PE load). Coefficients are dimensionless
    and normalised so that their weighted mean over all weights is 1.
    ``figures`` are what the provider measured (e.g. ``cycles``,
    ``latency_us``, ``energy_uj``), kept in the run report per period.
    """

    coefficients: dict[str, float | np.ndarray]
    figures: dict[str, float] = field(default_factory=dict)


class CostProvider(ABC):
    """Turns the current ternary network into regularizer coefficients.

    ``period_steps`` is the feedback period in optimizer steps; ``None`` means
    once per epoch.
    """

    period_steps: int | None = None
    name: str = "provider"

    @abstractmethod
    def feedback(self, layers: list[LayerTensor]) -> Feedback:
        """Coefficients for the next period, from the network as it is now."""


class UniformCost(CostProvider):
    """Every layer's coefficient is 1: the seed paper's regularizer."""

    name = "uniform"

    def feedback(self, layers: list[LayerTensor]) -> Feedback:
        return Feedback({lt.name: 1.0 for lt in layers})
