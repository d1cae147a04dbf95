"""Trainable torch models from ONNX files and from your own ``torch.nn.Module``.

- :func:`model_from_onnx`: a module that runs the ONNX graph in torch, its
  Gemm / MatMul / Conv layers as :class:`~codesign.layers.TernaryLinear` /
  :class:`~codesign.layers.TernaryConv2d` (weights copied when the file has
  them; names as :func:`codesign.onnx_import.read_onnx` gives them), batch
  norms as trainable batch norms, other constants (biases, normalisation) as
  fixed buffers. Reshapes use the shapes ONNX shape inference found; a final
  ``Softmax`` / ``LogSoftmax`` is dropped (training uses logits).
- :func:`ternarize_module`: swaps every ``nn.Linear`` / ``nn.Conv2d`` of a
  module for its ternary twin, weights and biases copied.
- :func:`calibrated_density`: each layer's input activation density on a batch.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from accelerators import InputError

from .layers import QuantMixin, TernaryConv2d, TernaryLinear
from .onnx_import import OnnxNet, read_onnx

__all__ = [
    "OnnxModule",
    "calibrated_density",
    "model_for_config",
    "model_from_onnx",
    "ternarize_module",
]

_SHAPE_ONLY = ("Shape", "Gather", "Concat", "Constant", "Cast", "DequantizeLinear")


class _BatchNorm(nn.Module):
    """Batch norm over dimension 1 of (N, C) or (N, C, H, W), initialised from ONNX."""

    def __init__(self, scale, bias, mean, var, eps: float, momentum: float = 0.1):
        super().__init__()
        self.weight = nn.Parameter(torch.as_tensor(np.array(scale, dtype=np.float32)))
        self.bias = nn.Parameter(torch.as_tensor(np.array(bias, dtype=np.float32)))
        self.register_buffer("running_mean", torch.as_tensor(np.array(mean, dtype=np.float32)))
        self.register_buffer("running_var", torch.as_tensor(np.array(var, dtype=np.float32)))
        self.eps, self.momentum = float(eps), momentum

    def forward(self, x):
        return F.batch_norm(
            x,
            self.running_mean,
            self.running_var,
            self.weight,
            self.bias,
            self.training,
            self.momentum,
            self.eps,
        )


class OnnxModule(nn.Module):
    """Runs an :class:`~codesign.onnx_import.OnnxNet`'s nodes in order (see the module docstring)."""

    def __init__(self, net: OnnxNet, mode: str, threshold: float, rule: str, with_weights: bool):
        super().__init__()
        self.net_nodes = net.nodes
        self.shapes = net.shapes
        self.input_name = (
            next(i for n in net.nodes for i in n.input if i not in net.constants)
            if net.nodes
            else ""
        )
        q = {"mode": mode, "threshold": threshold, "rule": rule}
        self.file_input_shape = tuple(net.input_shape)
        self._by_output: dict[str, str] = {}
        consts = net.constants
        for lay in net.layers:
            if lay.kind == "linear":
                m = TernaryLinear(lay.shape[1], lay.shape[0], **q)
            else:
                t, left, b, r = lay.padding
                pad = (t, left) if (t, left) == (b, r) else 0
                m = TernaryConv2d(
                    lay.shape[1],
                    lay.shape[0],
                    (lay.shape[2], lay.shape[3]),
                    stride=lay.stride,
                    padding=pad,
                    dilation=lay.dilation,
                    **q,
                )
                m.extra_pad = None if pad else (left, r, t, b)
            if with_weights and lay.weight is not None:
                with torch.no_grad():
                    m.weight.copy_(torch.tensor(np.array(lay.weight, dtype=np.float32)))
            if lay.name in dir(self):
                raise InputError.plain(f"ONNX layer name {lay.name!r} clashes with the module")
            self.add_module(lay.name, m)
            self._by_output[lay.output_name] = lay.name
        self.bns = nn.ModuleDict()
        self._consts: dict[str, str] = {}
        for i, n in enumerate(net.nodes):
            if n.op_type == "BatchNormalization":
                eps = next((a.f for a in n.attribute if a.name == "epsilon"), 1e-5)
                params = [consts.get(name) for name in n.input[1:5]]
                if any(p is None for p in params):
                    raise InputError.plain(
                        f"BatchNormalization {n.name!r}: parameters are not constants"
                    )
                self.bns[f"bn{i}"] = _BatchNorm(*params, eps=eps)
            elif n.op_type in ("Add", "Sub", "Mul", "Div", "Pad", "Clip"):
                for name in n.input[1:]:
                    if name in consts and name not in self._consts:
                        key = f"c{len(self._consts)}"
                        self.register_buffer(
                            key, torch.as_tensor(np.array(consts[name], dtype=np.float32))
                        )
                        self._consts[name] = key
        self._const_arrays = {k: v for k, v in consts.items()}
        self.output_name = net.nodes[-1].output[0] if net.nodes else ""

    def _c(self, name):
        return getattr(self, self._consts[name])

    def forward(self, x):
        if tuple(x.shape[1:]) != self.file_input_shape:
            x = x.reshape(x.shape[0], *self.file_input_shape)
        vals = {self.input_name: x}
        last = x
        for i, n in enumerate(self.net_nodes):
            op = n.op_type
            if op in _SHAPE_ONLY:
                continue
            if n.output[0] in self._by_output:
                m = getattr(self, self._by_output[n.output[0]])
                h = vals[n.input[0]]
                if isinstance(m, TernaryConv2d) and m.extra_pad is not None:
                    h = F.pad(h, m.extra_pad)
                y = m(h)
            else:
                h = vals.get(n.input[0]) if n.input else None
                y = self._free(i, n, h, vals)
            vals[n.output[0]] = y
            last = y
        return last

    def _free(self, i, n, h, vals):
        op = n.op_type
        a = {at.name: at for at in n.attribute}
        if op in ("Relu",):
            return F.relu(h)
        if op == "LeakyRelu":
            return F.leaky_relu(h, a["alpha"].f if "alpha" in a else 0.01)
        if op in ("Identity", "Dropout", "Softmax", "LogSoftmax"):
            return h
        if op in ("Reshape", "Flatten", "Squeeze", "Unsqueeze"):
            shape = self.shapes.get(n.output[0])
            if shape is None:
                if op == "Flatten":
                    return torch.flatten(h, 1)
                raise InputError.plain(f"{op} {n.name!r}: output shape unknown")
            return h.reshape(h.shape[0], *shape[1:])
        if op == "MaxPool" or op == "AveragePool":
            k = tuple(a["kernel_shape"].ints)
            s = tuple(a["strides"].ints) if "strides" in a else k
            pads = tuple(a["pads"].ints) if "pads" in a else (0, 0, 0, 0)
            if pads[:2] != pads[2:]:
                h = F.pad(h, (pads[1], pads[3], pads[0], pads[2]))
                pads = (0, 0, 0, 0)
            fn = F.max_pool2d if op == "MaxPool" else F.avg_pool2d
            return fn(h, k, s, padding=pads[:2])
        if op == "GlobalAveragePool":
            return h.mean(dim=(2, 3), keepdim=True)
        if op == "GlobalMaxPool":
            return h.amax(dim=(2, 3), keepdim=True)
        if op == "BatchNormalization":
            return self.bns[f"bn{i}"](h)
        if op == "Clip":
            lo = self._c(n.input[1]) if len(n.input) > 1 and n.input[1] else None
            hi = self._c(n.input[2]) if len(n.input) > 2 and n.input[2] else None
            return torch.clamp(h, lo, hi)
        if op == "Pad":
            pads = np.array(self._const_arrays[n.input[1]]).astype(int).tolist()
            half = len(pads) // 2
            torch_pads = []
            for d in reversed(range(half)):
                torch_pads += [pads[d], pads[d + half]]
            return F.pad(h, torch_pads)
        if op in ("Add", "Sub", "Mul", "Div"):
            x0 = self._c(n.input[0]) if n.input[0] in self._consts else vals[n.input[0]]
            x1 = self._c(n.input[1]) if n.input[1] in self._consts else vals[n.input[1]]
            return {"Add": torch.add, "Sub": torch.sub, "Mul": torch.mul, "Div": torch.div}[op](
                x0, x1
            )
        raise InputError.plain(f"operator {op} {n.name!r} cannot run in the imported model")


def model_from_onnx(
    path_or_net,
    mode: str = "sparse-ternary",
    threshold: float = 0.05,
    rule: str = "max",
    with_weights: bool = True,
) -> OnnxModule:
    """A trainable torch module from an ONNX file (or an already read :class:`OnnxNet`)."""
    net = path_or_net if isinstance(path_or_net, OnnxNet) else read_onnx(path_or_net)
    return OnnxModule(net, mode, threshold, rule, with_weights)


def model_for_config(config, input_shape, n_classes: int, with_weights: bool = True) -> nn.Module:
    """``model_from_onnx(config.onnx)`` checked against the data set's input shape and classes."""
    net = read_onnx(config.onnx)
    want = tuple(int(v) for v in input_shape)
    got = tuple(net.input_shape)
    if got != want and int(np.prod(got)) != int(np.prod(want)):
        raise InputError(
            "onnx", config.onnx, f"a network whose input is {want} (the data set's), not {got}"
        )
    model = OnnxModule(net, config.method, config.threshold, config.rule, with_weights)
    out = net.shapes.get(net.nodes[-1].output[0])
    if out is not None and out[-1] != n_classes:
        raise InputError("onnx", config.onnx, f"a network with {n_classes} outputs, not {out[-1]}")
    return model


def ternarize_module(module: nn.Module, mode: str, threshold: float, rule: str) -> nn.Module:
    """See :func:`_swap`; raises ``InputError`` when ``module`` has no weight layer at all."""
    _swap(module, mode, threshold, rule)
    if not any(isinstance(m, QuantMixin) for m in module.modules()):
        raise InputError(
            "model", type(module).__name__, "a module with nn.Linear or nn.Conv2d layers"
        )
    return module


def _swap(module: nn.Module, mode: str, threshold: float, rule: str) -> None:
    """Replace every ``nn.Linear`` / ``nn.Conv2d`` in ``module`` by its ternary twin (in place).

    Weights and biases are copied; layers that are already quantized are left
    as they are. Layer names are the module paths (``named_modules``).

    >>> net = nn.Sequential(nn.Flatten(), nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2))
    >>> net = ternarize_module(net, "sparse-ternary", 0.05, "max")
    >>> [type(m).__name__ for m in net]
    ['Flatten', 'TernaryLinear', 'ReLU', 'TernaryLinear']
    """
    q = {"mode": mode, "threshold": threshold, "rule": rule}
    for name, child in list(module.named_children()):
        if isinstance(child, QuantMixin):
            continue
        if isinstance(child, nn.Linear):
            new = TernaryLinear(
                child.in_features, child.out_features, bias=child.bias is not None, **q
            )
        elif isinstance(child, nn.Conv2d):
            if child.groups != 1 or child.padding_mode != "zeros":
                raise InputError(
                    f"model.{name}",
                    f"groups={child.groups}",
                    "Conv2d with groups = 1, zero padding",
                )
            new = TernaryConv2d(
                child.in_channels,
                child.out_channels,
                child.kernel_size,
                bias=child.bias is not None,
                stride=child.stride,
                padding=child.padding,
                dilation=child.dilation,
                **q,
            )
        else:
            _swap(child, mode, threshold, rule)
            continue
        with torch.no_grad():
            new.weight.copy_(child.weight)
            if child.bias is not None:
                new.bias.copy_(child.bias)
        setattr(module, name, new)


def calibrated_density(net: OnnxNet, batch) -> dict[str, float]:
    """Each weight layer's fraction of nonzero inputs on ``batch`` (N, C, H, W or as the file's input)."""
    from .bridge import ternary_layers

    model = OnnxModule(net, "sparse-ternary", 0.05, "max", with_weights=True)
    x = torch.as_tensor(np.asarray(batch, dtype=np.float32))
    want = tuple(net.input_shape)
    if x.ndim < 2 or int(np.prod(x.shape[1:])) != int(np.prod(want)):
        raise InputError("calibration", tuple(x.shape), f"a batch of inputs of shape {want}")
    return {lt.name: lt.act_density for lt in ternary_layers(model, x)}
