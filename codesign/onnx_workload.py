"""An ONNX network's weight layers as the accelerator's :class:`accelerators.LayerTensor` list.

Torch-free unless a calibration batch is given (then :mod:`codesign.onnx_model`
runs the network to measure activation densities). Reading the file is
:mod:`codesign.onnx_import`; the weight and density rules are in its docstring.
Kept apart from the reader so that the reader never imports the torch model
(which imports the reader): the import graph has no cycle.
"""

from __future__ import annotations

import os

import numpy as np

from accelerators import InputError, LayerTensor

from .onnx_import import OnnxNet, read_onnx

__all__ = ["ternarize_array", "workload_from_onnx"]


def ternarize_array(
    w: np.ndarray, threshold: float = 0.05, rule: str = "max"
) -> tuple[np.ndarray, float]:
    """``(q int8 in {-1, 0, +1}, scale)`` of a float weight array.

    Weights already of the form ``s * q`` (one ``s > 0``) are returned as they
    are; others are ternarized by ``rule`` (module docstring).

    >>> q, s = ternarize_array(np.array([0.5, 0.0, -0.5, 0.5]))
    >>> q.tolist(), s
    ([1, 0, -1, 1], 0.5)
    >>> q, s = ternarize_array(np.array([1.0, 0.02, -0.6, 0.3]), threshold=0.25)
    >>> q.tolist(), round(s, 4)
    ([1, 0, -1, 1], 0.6333)
    """
    w = np.asarray(w, dtype=np.float64)
    a = np.abs(w)
    nz = a[a > 0]
    if nz.size and np.allclose(nz, nz[0], rtol=1e-5, atol=0):
        return np.sign(w).astype(np.int8), float(nz[0])
    if rule == "twn":
        delta = 0.7 * float(a.mean()) if a.size else 0.0
    elif rule == "max":
        delta = threshold * float(a.max()) if a.size else 0.0
    else:
        raise InputError("threshold_rule", rule, "max | twn")
    q = (np.sign(w) * (a > delta)).astype(np.int8)
    kept = a[q != 0]
    return q, float(kept.mean()) if kept.size else 0.0


def workload_from_onnx(
    path: str | os.PathLike | OnnxNet,
    threshold: float = 0.05,
    rule: str = "max",
    sparsity: float = 0.9,
    seed: int = 0,
    act_density: float | None = None,
    calibration=None,
) -> list[LayerTensor]:
    """The ONNX network's weight layers as :class:`accelerators.LayerTensor`, in graph order.

    ``calibration``: an (N, C, H, W) batch (numpy or torch) to measure each
    layer's activation density (needs torch). ``act_density`` overrides every
    layer's density; without either, the file's metadata or 1.0. ``sparsity``
    and ``seed`` only matter for weights that are graph inputs (random ternary).
    ``path`` may also be an :class:`OnnxNet` already read.
    Pass the result to :func:`accelerators.workload_from_tensors` or
    :func:`accelerators.simulate`.
    """
    net = path if isinstance(path, OnnxNet) else read_onnx(path)
    if calibration is not None:
        from .onnx_model import calibrated_density

        density = calibrated_density(net, calibration)
    else:
        density = dict(net.act_density)
    if not 0.0 <= sparsity < 1.0:
        raise InputError("sparsity", sparsity, "a fraction in [0, 1)")
    rng = np.random.default_rng(seed)
    out = []
    for lay in net.layers:
        if lay.weight is not None:
            q, scale = ternarize_array(lay.weight, threshold, rule)
        else:
            from accelerators.workload import random_ternary

            q = random_ternary(lay.shape, float(sparsity), rng, name=f"{lay.name}.shape")
            scale = 1.0
        d = act_density if act_density is not None else density.get(lay.name, 1.0)
        out.append(
            LayerTensor(lay.name, q.reshape(lay.shape), scale, lay.kind, lay.out_pixels, float(d))
        )
    return out
