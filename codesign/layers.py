"""Thin quantized wrappers over ``nn.Linear`` and ``nn.Conv2d``.

Each layer keeps float latent weights (trained by the optimizer), a persistent
pruning ``mask`` buffer (saved in the state dict; 1 = kept, 0 = pruned for good)
and a ``mode``:

=================  ==============================================================
``fp32``           the float weights (times the mask)
``binary``         ``mean|w| * sign(w)`` (BinaryConnect style)
``ternary``        ``scale * q``, ``q`` in {-1, 0, +1} by the threshold rule
``sparse-ternary`` the same quantizer; the mode that pruning and retraining use
=================  ==============================================================

Gradients reach the latent weights straight through the quantizer and are
multiplied by the mask, so pruned weights get no gradient and stay exactly 0
(:meth:`QuantMixin.apply_mask_` re-zeroes them after each optimizer step, too).
The layers report what the hardware needs: :meth:`~QuantMixin.ternary_weight`,
:attr:`~QuantMixin.scale`, :attr:`~QuantMixin.nnz` and :attr:`~QuantMixin.weight_shape`.

>>> import torch
>>> layer = TernaryLinear(4, 2, mode="ternary", threshold=0.5)
>>> with torch.no_grad():
...     _ = layer.weight.copy_(torch.tensor([[1.0, -0.25, 0.75, 0.0], [-1.0, 0.5, 0.25, 0.0]]))
>>> layer.ternary_weight().tolist(), layer.scale, layer.nnz
([[1, 0, 1, 0], [-1, 0, 0, 0]], 0.9166666865348816, 3)
>>> layer.prune_(); layer.mask.tolist()
[[1.0, 0.0, 1.0, 0.0], [1.0, 0.0, 0.0, 0.0]]
"""

from __future__ import annotations

import torch
from torch import nn

from accelerators import InputError

from .quant import RULES, binary_quantize, ternary_quantize

__all__ = ["MODES", "QuantMixin", "TernaryLinear", "TernaryConv2d", "quant_layers"]

MODES = ("fp32", "binary", "ternary", "sparse-ternary")


class _MaskedSTE(torch.autograd.Function):
    """Forward: the quantized weight; backward: the gradient times the mask (straight through)."""

    @staticmethod
    def forward(ctx, w, wq, mask):
        ctx.save_for_backward(mask)
        return wq

    @staticmethod
    def backward(ctx, grad):
        (mask,) = ctx.saved_tensors
        return grad * mask, None, None


class QuantMixin:
    """Shared quantization behaviour of :class:`TernaryLinear` and :class:`TernaryConv2d`."""

    weight: nn.Parameter
    mask: torch.Tensor

    def _init_quant(self, mode: str, threshold: float, rule: str) -> None:
        if mode not in MODES:
            raise InputError("mode", mode, " | ".join(MODES))
        if rule not in RULES:
            raise InputError("threshold_rule", rule, " | ".join(RULES))
        if not 0.0 <= threshold < 1.0:
            raise InputError("threshold", threshold, "a fraction of max|W| in [0, 1)")
        self.mode, self.threshold, self.rule = mode, float(threshold), rule
        self.register_buffer("mask", torch.ones_like(self.weight))

    # --- quantization ---------------------------------------------------------------
    def quantized(self) -> tuple[torch.Tensor, float]:
        """``(q int8, scale)`` of the current weights in this layer's mode."""
        if self.mode == "binary":
            return binary_quantize(self.weight)
        if self.mode == "fp32":
            wm = self.weight.detach() * self.mask
            return torch.sign(wm).to(torch.int8), 1.0
        q, self.last_delta, scale = ternary_quantize(
            self.weight, self.threshold, self.rule, self.mask
        )
        return q, scale

    last_delta: float | None = None  # the threshold of the latest forward pass (a cache)

    def effective_weight(self) -> torch.Tensor:
        """The weight used in the forward pass; gradients reach ``weight`` times the mask."""
        if self.mode == "fp32":
            return self.weight * self.mask
        q, scale = self.quantized()
        return _MaskedSTE.apply(self.weight, (scale * q).to(self.weight.dtype), self.mask)

    def ternary_weight(self) -> torch.Tensor:
        """int8 tensor in {-1, 0, +1} (binary: {-1, +1}; fp32: the sign pattern, dense)."""
        return self.quantized()[0]

    @property
    def scale(self) -> float:
        """The layer's quantization scale (weights are ``scale * ternary_weight()``)."""
        return self.quantized()[1]

    @property
    def nnz(self) -> int:
        """Nonzero weights as the forward pass uses them."""
        return int(torch.count_nonzero(self.ternary_weight()))

    @property
    def weight_shape(self) -> tuple[int, ...]:
        return tuple(self.weight.shape)

    # --- pruning --------------------------------------------------------------------
    @torch.no_grad()
    def prune_(self) -> None:
        """Quantization pruning: weights that quantize to 0 are masked for good."""
        self.mask.mul_((self.ternary_weight() != 0).to(self.mask.dtype))
        self.weight.mul_(self.mask)

    @torch.no_grad()
    def apply_mask_(self) -> None:
        """Re-zero pruned weights (after an optimizer step)."""
        self.weight.mul_(self.mask)

    def extra_repr(self) -> str:  # pragma: no cover - cosmetic
        return f"{super().extra_repr()}, mode={self.mode}, threshold={self.threshold}, rule={self.rule}"


class TernaryLinear(QuantMixin, nn.Linear):
    """``nn.Linear`` with quantized weights (see the module docstring)."""

    kind = "linear"

    def __init__(
        self,
        in_features: int,
        out_features: int,
        bias: bool = False,
        mode: str = "sparse-ternary",
        threshold: float = 0.05,
        rule: str = "max",
    ):
        nn.Linear.__init__(self, in_features, out_features, bias=bias)
        self._init_quant(mode, threshold, rule)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return nn.functional.linear(x, self.effective_weight(), self.bias)


class TernaryConv2d(QuantMixin, nn.Conv2d):
    """``nn.Conv2d`` with quantized weights (see the module docstring)."""

    kind = "conv2d"

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int = 3,
        bias: bool = False,
        mode: str = "sparse-ternary",
        threshold: float = 0.05,
        rule: str = "max",
        **kwargs,
    ):
        nn.Conv2d.__init__(self, in_channels, out_channels, kernel_size, bias=bias, **kwargs)
        self._init_quant(mode, threshold, rule)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self._conv_forward(x, self.effective_weight(), self.bias)


def quant_layers(model: nn.Module) -> list[tuple[str, QuantMixin]]:
    """``(name, layer)`` for every quantized layer of ``model``, in definition order."""
    return [(n, m) for n, m in model.named_modules() if isinstance(m, QuantMixin)]
