"""Read a network from an ONNX file: its Gemm / MatMul / Conv layers as the accelerator sees them.

No torch here (``codesign simulate --onnx`` runs without the training stack);
:mod:`codesign.onnx_model` builds a trainable torch model from the same parse.

What is read (:func:`read_onnx`):

- **Weight layers** in graph order: ``Gemm`` (``transB`` honoured; ``alpha``,
  ``beta`` must be 1), ``MatMul`` with a constant right operand, ``Conv``
  (``group = 1``; strides, pads, dilations). Their weights come from an
  initializer, a ``Constant`` node, or ``DequantizeLinear(int8, scale, 0)`` of
  one (how a quantized export stores ternary weights). Biases are ignored: the
  template has none (the readout's scale and activation stand for batch norm).
- **Free operators** (cost nothing on the template, skipped and listed in
  ``notes``): reshapes, flatten, pooling, ReLU, batch norm, dropout, softmax,
  padding, element-wise ops with a constant (normalisation, bias adds), and
  the weight path's own ``DequantizeLinear`` / ``Cast``.
- Anything else is an error naming every unsupported operator.
- **Shapes** come from ONNX shape inference. Only the batch dimension may be
  symbolic; any other dynamic dimension is an error (the output pixels of a
  convolution must be known).

Weights (:func:`codesign.onnx_workload.workload_from_onnx`): values already in {-s, 0, +s} for one
``s`` (QONNX / Brevitas ternary exports, this project's export) are taken as
they are (``scale = s``); other float weights are ternarized with the
configured rule (``max``: ``delta = threshold * max|W|``; ``twn``:
``0.7 * mean|W|``; ``q = sign(w)`` where ``|w| > delta``, scale = mean of the
surviving ``|w|``), as :func:`codesign.quant.ternary_quantize` does. A graph
whose weights are inputs rather than constants gives random ternary weights
of the given ``sparsity`` (a what-if, as ``--workload``).

Activation density: from a calibration batch (runs the network through
:mod:`codesign.onnx_model`, needs torch), else from the file's
``codesign.act_density`` metadata (written by :mod:`codesign.onnx_export`),
else ``act_density`` (default 1.0).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field

import numpy as np

from accelerators import InputError

__all__ = [
    "FREE_OPS",
    "OnnxLayer",
    "OnnxNet",
    "read_onnx",
    "skipped_summary",
]

WEIGHT_OPS = ("Gemm", "MatMul", "Conv")
FREE_OPS = (
    "Reshape",
    "Flatten",
    "Squeeze",
    "Unsqueeze",
    "Identity",
    "Dropout",
    "Relu",
    "Clip",
    "LeakyRelu",
    "MaxPool",
    "AveragePool",
    "GlobalAveragePool",
    "GlobalMaxPool",
    "BatchNormalization",
    "Softmax",
    "LogSoftmax",
    "Pad",
    "Add",
    "Sub",
    "Mul",
    "Div",
    "Constant",
    "Shape",
    "Gather",
    "Concat",
    "Cast",
    "DequantizeLinear",
)
#: element-wise ops that are free only with one constant operand (normalisation, bias)
_CONST_OPERAND = ("Add", "Sub", "Mul", "Div")
META_DENSITY = "codesign.act_density"


@dataclass
class OnnxLayer:
    """One weight layer: ``weight`` (out, in[, kh, kw]) float or None when not constant."""

    name: str
    kind: str  # linear | conv2d
    shape: tuple[int, ...]
    weight: np.ndarray | None = field(default=None, repr=False)
    out_pixels: int = 1
    stride: tuple[int, int] = (1, 1)
    padding: tuple[int, int, int, int] = (0, 0, 0, 0)  # top, left, bottom, right
    dilation: tuple[int, int] = (1, 1)
    input_name: str = ""
    output_name: str = ""


@dataclass
class OnnxNet:
    """The parse of an ONNX file: weight layers, graph input shape, notes, raw nodes."""

    path: str
    layers: list[OnnxLayer]
    input_shape: tuple[int, ...]  # without the batch dimension
    notes: list[str]
    act_density: dict[str, float]
    nodes: list = field(default_factory=list, repr=False)
    constants: dict[str, np.ndarray] = field(default_factory=dict, repr=False)
    shapes: dict[str, tuple] = field(default_factory=dict, repr=False)


def _onnx():
    try:
        import onnx
    except ModuleNotFoundError:
        raise InputError.plain(
            "reading ONNX needs the 'onnx' package: pip install 'codesign[onnx]'"
        ) from None
    return onnx


def _load(path: str):
    onnx = _onnx()
    if not os.path.isfile(path):
        raise InputError.plain(f"ONNX file {path!r} not found")
    try:
        model = onnx.load(path)
        onnx.checker.check_model(model)
    except Exception as exc:  # protobuf DecodeError, ValidationError, ...
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
        raise InputError.plain(
            f"ONNX file {path!r} is truncated or not a valid ONNX model: {first}"
        ) from None
    try:
        return onnx.shape_inference.infer_shapes(model, strict_mode=True)
    except Exception as exc:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
        raise InputError.plain(f"ONNX file {path!r}: shape inference failed: {first}") from None


def _dims(vi, path: str, allow_batch: bool = True) -> tuple | None:
    t = vi.type.tensor_type
    if not t.HasField("shape"):
        return None
    dims = []
    for i, d in enumerate(t.shape.dim):
        if d.HasField("dim_value") and d.dim_value > 0:
            dims.append(int(d.dim_value))
        elif i == 0 and allow_batch:
            dims.append(None)  # a symbolic batch dimension is fine
        else:
            label = d.dim_param or "?"
            raise InputError.plain(
                f"ONNX file {path!r} has a dynamic shape: {vi.name!r} dimension {i} is "
                f"{label!r}; only the batch dimension may be symbolic (export with fixed sizes)"
            )
    return tuple(dims)


def _attrs(node) -> dict:
    from onnx import helper

    return {a.name: helper.get_attribute_value(a) for a in node.attribute}


def skipped_summary(notes: list[str]) -> str:
    """``"Flatten x1, Relu x3"``: the free operators a parse skipped, counted.

    >>> skipped_summary(["Relu 'a': free", "Flatten 'f': free", "Relu 'b': free"])
    'Flatten x1, Relu x2'
    """
    counts: dict[str, int] = {}
    for n in notes:
        op = n.split()[0]
        counts[op] = counts.get(op, 0) + 1
    return ", ".join(f"{op} x{c}" for op, c in sorted(counts.items()))


def read_onnx(path: str | os.PathLike) -> OnnxNet:
    """Parse ``path``; a bad file or unsupported operators -> one ``InputError``."""
    from onnx import numpy_helper

    path = os.fspath(path)
    model = _load(path)
    g = model.graph
    consts = {t.name: numpy_helper.to_array(t) for t in g.initializer}
    for n in g.node:
        if n.op_type == "Constant":
            a = _attrs(n)
            if "value" in a:
                consts[n.output[0]] = numpy_helper.to_array(a["value"])
    unsupported = sorted(
        {n.op_type for n in g.node if n.op_type not in WEIGHT_OPS + FREE_OPS}
        | {
            n.op_type
            for n in g.node
            if n.op_type in _CONST_OPERAND and not any(i in consts for i in n.input)
        }
    )
    if unsupported:
        raise InputError.plain(
            f"ONNX file {path!r} has operators codesign cannot map onto the accelerator: "
            f"{', '.join(unsupported)} (supported: {', '.join(WEIGHT_OPS)}; free: "
            "reshape/flatten, pooling, ReLU, batch norm, element-wise ops with a constant)"
        )
    shapes: dict[str, tuple] = {}
    graph_inputs = [i for i in g.input if i.name not in consts]
    for vi in list(graph_inputs) + list(g.value_info) + list(g.output):
        s = _dims(vi, path)
        if s is not None:
            shapes[vi.name] = s
    if len(graph_inputs) < 1:
        raise InputError.plain(f"ONNX file {path!r} has no graph input")
    in_shape = shapes.get(graph_inputs[0].name)
    if in_shape is None:
        raise InputError.plain(
            f"ONNX file {path!r}: the input {graph_inputs[0].name!r} has no shape"
        )
    # DequantizeLinear of a constant -> a constant
    for n in g.node:
        if n.op_type == "DequantizeLinear" and n.input[0] in consts:
            x = consts[n.input[0]].astype(np.float64)
            scale = consts.get(n.input[1]) if len(n.input) > 1 else None
            zp = consts.get(n.input[2]) if len(n.input) > 2 and n.input[2] else None
            if scale is None or np.asarray(scale).size != 1:
                continue  # per-channel scales: left to the ternarizer through its float value
            zero = 0.0 if zp is None else float(np.asarray(zp).ravel()[0])
            consts[n.output[0]] = ((x - zero) * float(np.asarray(scale).ravel()[0])).astype(
                np.float32
            )
        elif n.op_type == "Cast" and n.input[0] in consts:
            consts[n.output[0]] = consts[n.input[0]].astype(np.float32)
    layers: list[OnnxLayer] = []
    notes: list[str] = []
    counts = {"linear": 0, "conv2d": 0}
    for n in g.node:
        if n.op_type not in WEIGHT_OPS:
            if n.op_type not in ("Constant", "DequantizeLinear", "Cast"):
                notes.append(
                    f"{n.op_type} {n.name or n.output[0]!r}: free on this template, skipped"
                )
            continue
        a = _attrs(n)
        wname = n.input[1]
        w = consts.get(wname)
        wshape = tuple(w.shape) if w is not None else shapes.get(wname)
        if wshape is None:
            init_in = [i for i in g.input if i.name == wname]
            wshape = _dims(init_in[0], path, allow_batch=False) if init_in else None
        if wshape is None:
            raise InputError.plain(
                f"ONNX file {path!r}: weight {wname!r} of {n.op_type} has no shape"
            )
        if w is not None and np.issubdtype(w.dtype, np.floating) and not np.isfinite(w).all():
            # ternarized, NaN would read as 0 and inf take every other weight to 0
            raise InputError.plain(
                f"ONNX file {path!r}: weight {wname!r} of {n.op_type} holds "
                f"{int((~np.isfinite(w)).sum()):,} NaN or infinite values; expected finite numbers"
            )
        if n.op_type == "Conv":
            if int(a.get("group", 1)) != 1:
                raise InputError.plain(
                    f"ONNX file {path!r}: Conv {n.name!r} has group {a['group']}; "
                    "only group = 1 maps onto the accelerator"
                )
            if len(wshape) != 4:
                raise InputError.plain(f"ONNX file {path!r}: Conv {n.name!r} is not 2-D")
            out = shapes.get(n.output[0])
            if out is None or len(out) != 4:
                raise InputError.plain(
                    f"ONNX file {path!r}: the output shape of Conv {n.name!r} is unknown"
                )
            pads = tuple(int(p) for p in a.get("pads", (0, 0, 0, 0)))
            kind = "conv2d"
            lay = OnnxLayer(
                "",
                kind,
                tuple(int(d) for d in wshape),
                w,
                int(out[2] * out[3]),
                tuple(int(s) for s in a.get("strides", (1, 1))),
                (pads[0], pads[1], pads[2], pads[3]),
                tuple(int(d) for d in a.get("dilations", (1, 1))),
            )
        else:
            if len(wshape) != 2:
                raise InputError.plain(
                    f"ONNX file {path!r}: {n.op_type} {n.name!r} has a {len(wshape)}-D weight"
                )
            trans = n.op_type == "Gemm" and int(a.get("transB", 0)) == 1
            if n.op_type == "Gemm" and (
                int(a.get("transA", 0)) or float(a.get("alpha", 1.0)) != 1.0
            ):
                raise InputError.plain(
                    f"ONNX file {path!r}: Gemm {n.name!r} with transA or alpha != 1 is not supported"
                )
            if w is not None and not trans:
                w = w.T
            shape = tuple(int(d) for d in (wshape if trans else wshape[::-1]))
            kind = "linear"
            lay = OnnxLayer("", kind, shape, w)
        counts[kind] += 1
        lay.name = (n.name if n.name and n.name.isidentifier() else None) or (
            f"{'fc' if kind == 'linear' else 'conv'}{counts[kind]}"
        )
        lay.input_name, lay.output_name = n.input[0], n.output[0]
        layers.append(lay)
    if not layers:
        raise InputError.plain(f"ONNX file {path!r} has no Gemm, MatMul or Conv layer")
    density: dict[str, float] = {}
    for p in model.metadata_props:
        if p.key == META_DENSITY:
            try:
                density = {str(k): float(v) for k, v in json.loads(p.value).items()}
            except (ValueError, AttributeError, RecursionError):
                density = {}
    return OnnxNet(path, layers, tuple(in_shape[1:]), notes, density, list(g.node), consts, shapes)
