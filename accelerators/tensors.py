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

import math
import os
import zipfile
from dataclasses import dataclass, field

import numpy as np

from ._errors import InputError

__all__ = ["LayerTensor", "save_ternary_npz", "load_ternary_npz"]

KINDS = ("linear", "conv2d")
MAX_WEIGHTS = 2**28  # weights of one layer (256 MiB as int8)
MAX_LAYERS = 10_000  # layers of one network
MAX_PIXELS = 16_777_216  # output pixels of one layer (a 4096 x 4096 feature map)


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
        px = self.out_pixels
        if isinstance(px, float | np.floating) and float(px).is_integer():
            px = int(px)
        if (
            isinstance(px, bool)
            or not isinstance(px, int | np.integer)
            or not 1 <= px <= MAX_PIXELS
        ):
            raise InputError(f"{self.name}.out_pixels", px, f"an integer in 1..{MAX_PIXELS:,}")
        d = self.act_density
        if isinstance(d, bool) or not isinstance(d, int | float | np.number) or not 0.0 < d <= 1.0:
            raise InputError(f"{self.name}.act_density", self.act_density, "a fraction in (0, 1]")
        sc = self.scale
        if isinstance(sc, bool) or not isinstance(sc, int | float | np.number):
            raise InputError(f"{self.name}.scale", sc, "a finite number >= 0")
        if not np.isfinite(sc) or sc < 0:
            raise InputError(f"{self.name}.scale", self.scale, "a finite number >= 0")
        object.__setattr__(self, "weight", w.astype(np.int8, copy=False))
        object.__setattr__(self, "out_pixels", int(px))

    @property
    def matrix(self) -> np.ndarray:
        """The weights as the (rows=out, cols=in*kh*kw) matrix the PEs hold."""
        return self.weight.reshape(self.weight.shape[0], -1)

    @property
    def rows(self) -> int:
        return int(self.weight.shape[0])

    @property
    def cols(self) -> int:
        return math.prod(self.weight.shape[1:])

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


def _declared_count(path: str, member: str) -> int:
    """Elements the ``.npy`` header of ``member`` declares, read without its data."""
    with zipfile.ZipFile(path) as zf, zf.open(member) as f:
        version = np.lib.format.read_magic(f)
        if version == (1, 0):
            shape, _, _ = np.lib.format.read_array_header_1_0(f)
        else:
            shape, _, _ = np.lib.format.read_array_header_2_0(f)
    return math.prod(shape)


def load_ternary_npz(path: str | os.PathLike) -> list[LayerTensor]:
    """Read a ``ternary.npz``; any problem with the file is one :class:`InputError`.

    A missing path, a directory, an unreadable, empty, truncated or non-npz file,
    missing keys, arrays of the wrong dtype, shape or length, and bad layer values
    all raise :class:`InputError` naming the file and the problem.
    """
    name = os.fspath(path)
    if not os.path.exists(name):
        raise InputError.plain(f"weights file {name!r} not found")
    if os.path.isdir(name):
        raise InputError.plain(f"weights file {name!r} is a directory, not a file")

    def bad(problem: str) -> InputError:
        return InputError.plain(f"weights file {name!r} is not a valid ternary.npz: {problem}")

    try:
        z = np.load(name, allow_pickle=False)
        if not isinstance(z, np.lib.npyio.NpzFile):
            raise bad("it holds a single array, not the keys of a ternary.npz")
        with z:
            missing = [k for k in _META_KEYS if k not in z.files]
            if missing:
                raise bad(f"keys {missing} are missing (expected {', '.join(_META_KEYS)}, w0..)")
            meta = {k: z[k] for k in _META_KEYS}
            n = _check_meta(meta, bad)
            absent = [f"w{i}" for i in range(n) if f"w{i}" not in z.files]
            if absent:
                shown = ", ".join(absent[:5]) + (
                    f" ... ({len(absent)} in all)" if len(absent) > 5 else ""
                )
                raise bad(f"weight arrays {shown} are missing ({n} layers named)")
            for i in range(n):  # before numpy allocates what a header claims
                count = _declared_count(name, f"w{i}.npy")
                if count > MAX_WEIGHTS:
                    raise bad(f"w{i} claims {count:,} weights (at most {MAX_WEIGHTS:,})")
            weights = [z[f"w{i}"] for i in range(n)]
    except InputError:
        raise
    except ValueError as exc:
        if "pickle" in str(exc):  # numpy's guess for a file that is no npz/npy at all
            raise bad("it is not an npz archive") from None
        raise bad(f"ValueError: {exc}") from None
    except (OSError, EOFError, KeyError, zipfile.BadZipFile) as exc:
        raise bad(f"{type(exc).__name__}: {exc}") from None
    layers = []
    for i, w in enumerate(weights):
        if w.dtype.kind not in "iub" and not (w.dtype.kind == "f" and np.isfinite(w).all()):
            raise bad(f"w{i} has dtype {w.dtype}, expected int8 values in {{-1, 0, +1}}")
        try:
            layers.append(
                LayerTensor(
                    str(meta["names"][i]),
                    w,
                    float(meta["scale"][i]),
                    str(meta["kinds"][i]),
                    int(meta["out_pixels"][i]),
                    float(meta["act_density"][i]),
                )
            )
        except InputError as exc:
            raise bad(str(exc)) from None
    return layers


_META_KEYS = ("names", "kinds", "scale", "out_pixels", "act_density")


def _check_meta(meta: dict[str, np.ndarray], bad) -> int:
    """The number of layers, after checking every metadata array's kind and length."""
    kinds = {"names": "U", "kinds": "U", "scale": "f", "out_pixels": "iu", "act_density": "f"}
    for key, want in kinds.items():
        arr = meta[key]
        if arr.ndim != 1:
            raise bad(f"{key} has shape {arr.shape}, expected one dimension")
        if arr.dtype.kind not in want:
            raise bad(f"{key} has dtype {arr.dtype}, expected {'str' if want == 'U' else want}")
    lengths = {k: len(v) for k, v in meta.items()}
    if len(set(lengths.values())) != 1:
        raise bad(f"arrays of different lengths {lengths}")
    n = lengths["names"]
    if n == 0:
        raise bad("it holds no layers")
    if n > MAX_LAYERS:
        raise bad(f"it names {n:,} layers (at most {MAX_LAYERS:,})")
    return n
