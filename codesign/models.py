"""The networks: FINN-like ``lfc`` / ``mlp`` and ``cnv``, a small ``cnn``, every weight layer quantized.

Choices (documented in ``docs/train.md``):

- **All** weight layers are quantized, the first and the last too (FINN
  quantizes them as well), so the whole network runs on the accelerator.
- Weight layers have no bias; each is followed by batch norm (the classifier
  too, as in FINN), then ReLU (not after the classifier). Activations stay
  float: this package studies weight quantization and sparsity; ReLU makes the
  activation sparsity the hardware can skip real and measurable.
- ``lfc``: MLP 784-1024-1024-1024-10 for 28x28 inputs; in general
  ``C*H*W`` inputs (``digits``: 64), three hidden layers of 1024, one output per class.
- ``mlp``: the same with hidden widths of your choice (``hidden_units``).
- ``cnv``: FINN's CNV, no padding: conv3x3 64, 64, maxpool 2, 128, 128, maxpool 2,
  256, 256, then FC 512, 512, classes. It needs 32x32 inputs; smaller images
  (28x28 MNIST, 8x8 digits) are zero-padded to 32x32, centred.
- ``cnn``: a small CNN for fast experiments: conv3x3 (no padding) with the
  channel widths ``hidden_units`` (default ``CNN_CONV`` = 16, 32), a 2x2 maxpool
  after the last conv, then FC ``CNN_FC`` (128) and FC classes. On 28x28 inputs
  with (16, 32): 28 -> 26 -> 24 -> pool 12, so fc1 has 32 * 12 * 12 = 4608
  inputs. Needs inputs of at least ``2 * len(hidden_units) + 2`` pixels a side.

Layer names (``fc1``, ``conv1`` ...) are the keys of regularizer coefficients and of
:class:`accelerators.LayerTensor` names.

>>> import torch
>>> net = build_model("mlp", (1, 8, 8), 10, hidden_units=(16,))
>>> [name for name, _ in net.named_children()]
['flatten', 'fc1', 'bn1', 'act1', 'fc2', 'bn2']
>>> net(torch.zeros(3, 1, 8, 8)).shape
torch.Size([3, 10])
"""

from __future__ import annotations

from collections import OrderedDict

from torch import nn

from accelerators import InputError

from .layers import TernaryConv2d, TernaryLinear
from .training_config import MODELS

__all__ = ["MODELS", "LFC_HIDDEN", "CNN_CONV", "CNN_FC", "build_model"]

LFC_HIDDEN = (1024, 1024, 1024)
CNN_CONV = (16, 32)
CNN_FC = 128
CNV_CONV = (64, 64, "M", 128, 128, "M", 256, 256)
CNV_FC = (512, 512)


def _add_fc_stack(layers: OrderedDict, widths: tuple[int, ...], q: dict) -> OrderedDict:
    """Append ternary FC ``fc{i}`` + batch norm ``bn{i}`` (+ ReLU ``act{i}`` but last)."""
    for i in range(1, len(widths)):
        layers[f"fc{i}"] = TernaryLinear(widths[i - 1], widths[i], **q)
        layers[f"bn{i}"] = nn.BatchNorm1d(widths[i])
        if i < len(widths) - 1:
            layers[f"act{i}"] = nn.ReLU()
    return layers


def _mlp(in_features: int, hidden: tuple[int, ...], n_classes: int, q: dict) -> nn.Sequential:
    layers: OrderedDict[str, nn.Module] = OrderedDict(flatten=nn.Flatten())
    widths = (in_features, *hidden, n_classes)
    return nn.Sequential(_add_fc_stack(layers, widths, q))


def _cnv(channels: int, size: int, n_classes: int, q: dict) -> nn.Sequential:
    layers: OrderedDict[str, nn.Module] = OrderedDict()
    if size < 32:
        lo = (32 - size) // 2
        layers["pad"] = nn.ZeroPad2d((lo, 32 - size - lo, lo, 32 - size - lo))
    c, n_conv, n_pool = channels, 0, 0
    for item in CNV_CONV:
        if item == "M":
            n_pool += 1
            layers[f"pool{n_pool}"] = nn.MaxPool2d(2)
            continue
        n_conv += 1
        layers[f"conv{n_conv}"] = TernaryConv2d(c, item, 3, **q)
        layers[f"cbn{n_conv}"] = nn.BatchNorm2d(item)
        layers[f"cact{n_conv}"] = nn.ReLU()
        c = item
    layers["flatten"] = nn.Flatten()
    widths = (c, *CNV_FC, n_classes)  # 32 -> 30 -> 28 -> 14 -> 12 -> 10 -> 5 -> 3 -> 1
    return nn.Sequential(_add_fc_stack(layers, widths, q))


def _cnn(input_shape, conv: tuple[int, ...], n_classes: int, q: dict) -> nn.Sequential:
    c, h, w = input_shape
    layers: OrderedDict[str, nn.Module] = OrderedDict()
    for i, width in enumerate(conv, start=1):
        layers[f"conv{i}"] = TernaryConv2d(c, width, 3, **q)
        layers[f"cbn{i}"] = nn.BatchNorm2d(width)
        layers[f"cact{i}"] = nn.ReLU()
        c, h, w = width, h - 2, w - 2
    layers["pool1"] = nn.MaxPool2d(2)
    layers["flatten"] = nn.Flatten()
    widths = (c * (h // 2) * (w // 2), CNN_FC, n_classes)
    return nn.Sequential(_add_fc_stack(layers, widths, q))


def build_model(
    name: str,
    input_shape: tuple[int, int, int],
    n_classes: int,
    mode: str = "sparse-ternary",
    threshold: float = 0.05,
    rule: str = "max",
    hidden_units: tuple[int, ...] | None = None,
) -> nn.Sequential:
    """A network for inputs of ``input_shape`` = (C, H, W) and ``n_classes`` outputs.

    ``hidden_units``: the hidden widths of ``mlp`` (default ``LFC_HIDDEN``) or
    the conv channel widths of ``cnn`` (default ``CNN_CONV``); ``lfc`` and
    ``cnv`` have fixed widths and ignore it.
    """
    q = {"mode": mode, "threshold": threshold, "rule": rule}
    c, h, w = input_shape
    if name == "lfc":
        return _mlp(c * h * w, LFC_HIDDEN, n_classes, q)
    if name == "mlp":
        return _mlp(c * h * w, tuple(hidden_units or LFC_HIDDEN), n_classes, q)
    if name == "cnn":
        conv = tuple(hidden_units or CNN_CONV)
        if min(h, w) < 2 * len(conv) + 2:
            raise InputError(
                "model",
                name,
                f"inputs of at least {2 * len(conv) + 2}x{2 * len(conv) + 2} for cnn with "
                f"{len(conv)} convs (got {h}x{w})",
            )
        return _cnn(input_shape, conv, n_classes, q)
    if name == "cnv":
        if h != w or h > 32:
            raise InputError("model", name, f"square inputs up to 32x32 for cnv (got {h}x{w})")
        return _cnv(c, h, n_classes, q)
    raise InputError("model", name, " | ".join(MODELS))
