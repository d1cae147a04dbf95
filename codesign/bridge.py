"""From a torch model to the network as the hardware sees it.

:func:`ternary_layers` turns every quantized layer (in execution order) into an
:class:`accelerators.LayerTensor`: its int8 weights in {-1, 0, +1}, its scale,
its kind, how many output pixels a convolution repeats over, and the measured
fraction of nonzero input activations. Names are the module names
(``fc1``, ``conv3`` ...), the same keys the regularizer coefficients use.

>>> import torch
>>> from codesign.models import build_model
>>> net = build_model("mlp", (1, 8, 8), 10, hidden_units=(16,))
>>> [(lt.name, lt.weight.shape, lt.out_pixels) for lt in ternary_layers(net)]
[('fc1', (16, 64), 1), ('fc2', (10, 16), 1)]
"""

from __future__ import annotations

import torch
from torch import nn

from accelerators import LayerTensor

from .layers import quant_layers

__all__ = ["ternary_layers"]


@torch.no_grad()
def ternary_layers(model: nn.Module, sample_input: torch.Tensor | None = None) -> list[LayerTensor]:
    """The model's quantized layers as :class:`accelerators.LayerTensor`, in execution order.

    With ``sample_input`` (a batch), the model runs once in eval mode to measure
    each layer's ``act_density`` (nonzero fraction of its input, floored at the
    smallest positive value so a dead layer stays valid) and, for convolutions,
    ``out_pixels`` (H_out * W_out). Without it ``act_density`` is 1.0 and
    ``out_pixels`` is 1 for every layer (convolutions then need a sample).
    """
    named = quant_layers(model)
    density = {name: 1.0 for name, _ in named}
    pixels = {name: 1 for name, _ in named}
    order = [name for name, _ in named]
    if sample_input is not None:
        seen: list[str] = []
        hooks = []

        def hook(name):
            def fn(mod, inputs, output):
                x = inputs[0]
                density[name] = max(float((x != 0).float().mean()), 1.0 / max(x.numel(), 1))
                if output.ndim == 4:
                    pixels[name] = int(output.shape[2] * output.shape[3])
                seen.append(name)

            return fn

        for name, layer in named:
            hooks.append(layer.register_forward_hook(hook(name)))
        was_training = model.training
        model.eval()
        try:
            model(sample_input)
        finally:
            model.train(was_training)
            for h in hooks:
                h.remove()
        order = [n for n in dict.fromkeys(seen)] + [n for n in order if n not in seen]
    layers = dict(named)
    return [
        LayerTensor(
            name,
            layers[name].ternary_weight().cpu().numpy(),
            float(layers[name].scale),
            layers[name].kind,
            pixels[name],
            density[name],
        )
        for name in order
    ]
