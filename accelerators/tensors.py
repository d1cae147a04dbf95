"""Ternary layer tensors: the hand-off between a trained network and the hardware.

A :class:`LayerTensor` is one layer as the accelerator sees it: an int8 weight
tensor with values in {-1, 0, +1}, the layer's scale, and how many times the
matrix-vector work repeats (output pixels of a convolution, 1 for a dense
layer). ``ternary.npz`` files hold a list of them; ``codesign train`` writes
them and ``codesign simulate --weights`` reads them.

File format (``numpy.savez``), for layers numbered ``i = 0 .. n-1`` in execution order:

==================  ==========  ======================================================
key                 dtype       meaning
==================  ==========  ======================================================
``names``           str (n,)    layer names
``kinds``           str (n,)    ``linear`` or ``conv2d``
``w{i}``            int8        (out, in) or (out, in, kh, kw), values in {-1, 0, +1}
``scale``           float32 (n) the layer's ternary scale (weights are scale * w)
``out_pixels``      int64 (n)   matrix-vector repeats: H_out * W_out for conv, 1 for linear
``act_density``     float64 (n) fraction of the layer's input activations that are nonzero
==================  ==========  ======================================================
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import numpy as np

from ._errors import InputError

__all__ = ["LayerTensor", "save_ternary_npz", "load_ternary_npz"]

KINDS = ("linear", "conv2d")


@dataclass(frozen=True)
class LayerTensor:
    """One ternary layer.

    ``weight`` is int8 in {-1, 0, +1}: shape (out, in) for ``linear`` or
    (out, in, kh, kw) for ``conv2d``. ``out_pixels`` is how many times the
    matrix-vector product runs per inference. ``act_density`` (0..1] is the
    fraction of nonzero input activations, used by activation zero-skip.
    """

    name: str
    weight: np.ndarray = field(repr=False)
    scale: float = 1.0
    kind: str = "linear"
    out_pixels: int = 1
    act_density: float = 1.0

    def __post_init__(self) -> None:
        w = np.asarray(self.weight)
        if self.kind not in KINDS:
            raise InputError(f"{self.name}.kind", self.kind, " or ".join(KINDS))
        want_ndim = 2 if self.kind == "linear" else 4
        if w.ndim != want_ndim:
            raise InputError(
                f"{self.name}.weight.shape",
                tuple(w.shape),
                f"{want_ndim} dimensions for {self.kind}",
            )
        if w.size == 0:
            raise InputError(f"{self.name}.weight.shape", tuple(w.shape), "a non-empty tensor")
        if not np.isin(w, (-1, 0, 1)).all():
            bad = w[~np.isin(w, (-1, 0, 1))].flat[0]
            raise InputError(f"{self.name}.weight", bad.item(), "values in {-1, 0, +1}")
        if not (int(self.out_pixels) >= 1):
            raise InputError(f"{self.name}.out_pixels", self.out_pixels, "an integer >= 1")
        if not (0.0 < float(self.act_density) <= 1.0):
            raise InputError(f"{self.name}.act_density", self.act_density, "a fraction in (0, 1]")
        if not np.isfinite(self.scale) or self.scale < 0:
            raise InputError(f"{self.name}.scale", self.scale, "a finite number >= 0")
        object.__setattr__(self, "weight", w.astype(np.int8, copy=False))

    @property
    def matrix(self) -> np.ndarray:
        """The weights as the (rows=out, cols=in*kh*kw) matrix the PEs hold."""
        return self.weight.reshape(self.weight.shape[0], -1)

    @property
    def rows(self) -> int:
        return int(self.weight.shape[0])

    @property
    def cols(self) -> int:
        return int(np.prod(self.weight.shape[1:]))

    @property
    def nnz(self) -> int:
        """Nonzero weights in the tensor (counted once, not per pixel)."""
        return int(np.count_nonzero(self.weight))

    @property
    def sparsity(self) -> float:
        """Fraction of zero weights, 0..1."""
        return 1.0 - self.nnz / self.weight.size


def save_ternary_npz(path: str | os.PathLike, layers: list[LayerTensor]) -> None:
    """Write ``layers`` to ``path`` in the format of this module's docstring."""
    arrays: dict[str, np.ndarray] = {
        "names": np.array([lt.name for lt in layers]),
        "kinds": np.array([lt.kind for lt in layers]),
        "scale": np.array([lt.scale for lt in layers], dtype=np.float32),
        "out_pixels": np.array([lt.out_pixels for lt in layers], dtype=np.int64),
        "act_density": np.array([lt.act_density for lt in layers], dtype=np.float64),
    }
    for i, lt in enumerate(layers):
        arrays[f"w{i}"] = lt.weight
    np.savez(path, **arrays)


def load_ternary_npz(path: str | os.PathLike) -> list[LayerTensor]:
    """Read a ``ternary.npz``; a missing or malformed file is an :class:`InputError`."""
    if not os.path.isfile(path):
        raise InputError.plain(f"weights file {os.fspath(path)!r} not found")
    try:
        with np.load(path, allow_pickle=False) as z:
            names, kinds = z["names"], z["kinds"]
            scale, pixels, density = z["scale"], z["out_pixels"], z["act_density"]
            weights = [z[f"w{i}"] for i in range(len(names))]
    except (OSError, ValueError, KeyError) as exc:
        raise InputError.plain(
            f"weights file {os.fspath(path)!r} is not a ternary.npz "
            f"(expected keys names, kinds, scale, out_pixels, act_density, w0..): {exc}"
        ) from None
    return [
        LayerTensor(str(n), w, float(s), str(k), int(p), float(d))
        for n, k, w, s, p, d in zip(names, kinds, weights, scale, pixels, density, strict=True)
    ]
