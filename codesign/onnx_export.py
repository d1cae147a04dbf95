"""Write a trained codesign network as an ONNX file that :mod:`codesign.onnx_import` reads back.

The graph is the inference network, layer by layer: each ternary layer is
``DequantizeLinear(q int8 in {-1, 0, +1}, scale, 0)`` feeding a ``Gemm``
(``transB = 1``) or a ``Conv`` named as the layer (``fc1``, ``conv2`` ...), so
the file holds the exact ternary weights at one byte each and any ONNX
runtime can run it; batch norms are ``BatchNormalization`` with their running
statistics; ``ReLU``, ``MaxPool2d``, ``Flatten`` and ``ZeroPad2d`` map to
their operators. Each layer's measured activation density goes into the
``codesign.act_density`` metadata entry (JSON), so a simulation of the file
gives the same cycles as one of the run's ``ternary.npz``.
"""

from __future__ import annotations

import json
import os

import numpy as np
from torch import nn

from accelerators import InputError, LayerTensor

from .files import atomic_path
from .layers import QuantMixin, TernaryConv2d
from .onnx_import import META_DENSITY

__all__ = ["export_onnx"]

OPSET = 17


def export_onnx(
    model: nn.Module,
    input_shape: tuple[int, ...],
    path: str | os.PathLike,
    layers: list[LayerTensor] | None = None,
) -> None:
    """Write ``model`` (an ``nn.Sequential`` of codesign layers) to ``path``, atomically.

    ``input_shape`` is (C, H, W) without the batch; ``layers`` (the run's
    :class:`~accelerators.LayerTensor` list) supplies the activation densities.
    """
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    if not isinstance(model, nn.Sequential):
        raise InputError("model", type(model).__name__, "an nn.Sequential of codesign layers")
    quant = [m for m in model.modules() if isinstance(m, QuantMixin)]
    if not quant:
        raise InputError("model", type(model).__name__, "a network with ternary layers")
    n_out = int(quant[-1].weight.shape[0])
    inits, nodes = [], []
    x = "input"
    for name, m in model.named_children():
        y = f"{name}_out"
        if isinstance(m, QuantMixin):
            q, scale = m.quantized()
            q_np = q.detach().cpu().numpy().astype(np.int8)
            inits += [
                numpy_helper.from_array(q_np, f"{name}_q"),
                numpy_helper.from_array(np.array(scale, dtype=np.float32), f"{name}_scale"),
                numpy_helper.from_array(np.array(0, dtype=np.int8), f"{name}_zero"),
            ]
            nodes.append(
                helper.make_node(
                    "DequantizeLinear",
                    [f"{name}_q", f"{name}_scale", f"{name}_zero"],
                    [f"{name}_w"],
                    name=f"{name}_dequant",
                )
            )
            if isinstance(m, TernaryConv2d):
                if m.groups != 1 or isinstance(m.padding, str):
                    raise InputError(name, m.padding, "a conv with groups = 1 and numeric padding")
                ph, pw = m.padding
                nodes.append(
                    helper.make_node(
                        "Conv",
                        [x, f"{name}_w"],
                        [y],
                        name=name,
                        kernel_shape=list(m.kernel_size),
                        strides=list(m.stride),
                        pads=[ph, pw, ph, pw],
                        dilations=list(m.dilation),
                    )
                )
            else:
                nodes.append(helper.make_node("Gemm", [x, f"{name}_w"], [y], name=name, transB=1))
            if m.bias is not None:
                raise InputError(name, "bias", "layers without bias (the template has none)")
        elif isinstance(m, nn.BatchNorm1d | nn.BatchNorm2d):
            for part, t in (
                ("scale", m.weight),
                ("bias", m.bias),
                ("mean", m.running_mean),
                ("var", m.running_var),
            ):
                arr = t.detach().cpu().numpy().astype(np.float32)
                inits.append(numpy_helper.from_array(arr, f"{name}_{part}"))
            nodes.append(
                helper.make_node(
                    "BatchNormalization",
                    [x] + [f"{name}_{p}" for p in ("scale", "bias", "mean", "var")],
                    [y],
                    name=name,
                    epsilon=float(m.eps),
                )
            )
        elif isinstance(m, nn.ReLU):
            nodes.append(helper.make_node("Relu", [x], [y], name=name))
        elif isinstance(m, nn.Flatten):
            nodes.append(helper.make_node("Flatten", [x], [y], name=name, axis=1))
        elif isinstance(m, nn.MaxPool2d):
            k = m.kernel_size if isinstance(m.kernel_size, tuple) else (m.kernel_size,) * 2
            s = m.stride if isinstance(m.stride, tuple) else (m.stride,) * 2
            nodes.append(
                helper.make_node(
                    "MaxPool", [x], [y], name=name, kernel_shape=list(k), strides=list(s)
                )
            )
        elif isinstance(m, nn.ZeroPad2d):
            left, right, top, bottom = m.padding
            inits.append(
                numpy_helper.from_array(
                    np.array([0, 0, top, left, 0, 0, bottom, right], dtype=np.int64), f"{name}_pads"
                )
            )
            nodes.append(helper.make_node("Pad", [x, f"{name}_pads"], [y], name=name))
        else:
            raise InputError(
                name,
                type(m).__name__,
                "a codesign layer, batch norm, ReLU, MaxPool2d, Flatten or ZeroPad2d",
            )
        x = y
    graph = helper.make_graph(
        nodes,
        "codesign",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", *map(int, input_shape)])],
        [helper.make_tensor_value_info(x, TensorProto.FLOAT, ["N", n_out])],
        initializer=inits,
    )
    onnx_model = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", OPSET)],
        producer_name="codesign",
    )
    onnx_model.ir_version = 8
    if layers:
        helper.set_model_props(
            onnx_model,
            {META_DENSITY: json.dumps({lt.name: float(lt.act_density) for lt in layers})},
        )
    onnx.checker.check_model(onnx_model)
    with atomic_path(path, suffix=".onnx") as tmp:
        onnx.save(onnx_model, tmp)
