"""Data loaders on tiny files written here in the exact standard formats (IDX, CIFAR-10 batches)."""

import gzip
import os
import pickle
import struct

import numpy as np
import pytest

from accelerators import InputError
from codesign.data import load_dataset, read_cifar_batch, read_idx


def _idx_bytes(arr: np.ndarray) -> bytes:
    arr = np.asarray(arr, dtype=np.uint8)
    head = struct.pack(">BBBB", 0, 0, 0x08, arr.ndim) + struct.pack(f">{arr.ndim}I", *arr.shape)
    return head + arr.tobytes()


def _write(path, data: bytes, gz: bool):
    if gz:
        path += ".gz"
        with gzip.open(path, "wb") as f:
            f.write(data)
    else:
        with open(path, "wb") as f:
            f.write(data)
    return path


def _idx_dir(tmp_path, gz=True, n_train=6, n_test=4):
    rng = np.random.default_rng(1)
    xs = {
        "train": rng.integers(0, 256, (n_train, 28, 28)),
        "t10k": rng.integers(0, 256, (n_test, 28, 28)),
    }
    ys = {"train": np.arange(n_train) % 10, "t10k": (np.arange(n_test) + 3) % 10}
    for split in ("train", "t10k"):
        _write(str(tmp_path / f"{split}-images-idx3-ubyte"), _idx_bytes(xs[split]), gz)
        _write(str(tmp_path / f"{split}-labels-idx1-ubyte"), _idx_bytes(ys[split]), gz)
    return xs, ys


@pytest.mark.parametrize("gz", [True, False])
@pytest.mark.parametrize("name", ["mnist", "fashion-mnist"])
def test_idx_data_set(tmp_path, gz, name):
    xs, ys = _idx_dir(tmp_path, gz)
    d = load_dataset(name, str(tmp_path))
    assert d.x_train.shape == (6, 1, 28, 28) and d.x_test.shape == (4, 1, 28, 28)
    assert d.input_shape == (1, 28, 28) and d.n_classes == 10
    assert d.y_train.tolist() == ys["train"].tolist()
    assert d.y_test.tolist() == ys["t10k"].tolist()
    assert d.x_train[2, 0, 5, 7].item() == pytest.approx(xs["train"][2, 5, 7] / 255)


def test_idx_bad_magic(tmp_path):
    path = _write(
        str(tmp_path / "x"), b"\x00\x00\x08\x02" + struct.pack(">II", 1, 1) + b"\x05", False
    )
    with pytest.raises(InputError, match="magic number 0x00000802, expected 0x00000803"):
        read_idx(path, 3)


def test_idx_truncated(tmp_path):
    data = _idx_bytes(np.zeros((2, 3, 3)))[:-1]
    path = _write(str(tmp_path / "x"), data, True)
    with pytest.raises(InputError, match="2x3x3 = 18 bytes of data, file holds 17"):
        read_idx(path, 3)


def test_idx_not_gzip(tmp_path):
    path = _write(str(tmp_path / "x.gz"), b"plain bytes", False)
    with pytest.raises(InputError, match="cannot read"):
        read_idx(path, 1)


def test_idx_missing_file_names_what_and_where(tmp_path):
    _idx_dir(tmp_path)
    os.remove(tmp_path / "t10k-labels-idx1-ubyte.gz")
    with pytest.raises(InputError, match=r"t10k-labels-idx1-ubyte or t10k-labels-idx1-ubyte.gz in"):
        load_dataset("mnist", str(tmp_path))


def test_idx_count_mismatch(tmp_path):
    _idx_dir(tmp_path)
    _write(str(tmp_path / "train-labels-idx1-ubyte"), _idx_bytes(np.zeros(5)), True)
    with pytest.raises(InputError, match="train images \\(6\\) and labels \\(5\\)"):
        load_dataset("mnist", str(tmp_path))


def test_mnist_needs_a_data_dir(tmp_path):
    with pytest.raises(InputError, match="data_dir"):
        load_dataset("mnist")
    with pytest.raises(InputError, match="not found"):
        load_dataset("mnist", str(tmp_path / "nowhere"))


def _cifar_dir(root, n=3):
    rng = np.random.default_rng(2)
    root.mkdir(parents=True, exist_ok=True)
    batches = {}
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        data = rng.integers(0, 256, (n, 3072), dtype=np.uint8)
        labels = [int(v) for v in rng.integers(0, 10, n)]
        d = {
            b"batch_label": name.encode(),
            b"labels": labels,
            b"data": data,
            b"filenames": [b"f.png"] * n,
        }
        with open(root / name, "wb") as f:
            pickle.dump(d, f, protocol=2)
        batches[name] = (data, labels)
    return batches


@pytest.mark.parametrize("nested", [False, True])
def test_cifar10(tmp_path, nested):
    root = tmp_path / "cifar-10-batches-py" if nested else tmp_path
    batches = _cifar_dir(root)
    d = load_dataset("cifar10", str(tmp_path))
    assert d.x_train.shape == (15, 3, 32, 32) and d.x_test.shape == (3, 3, 32, 32)
    data, labels = batches["data_batch_2"]
    assert d.y_train[3:6].tolist() == labels
    # channel-major layout: value 1024 of a row is the first green pixel
    assert d.x_train[3, 1, 0, 0].item() == pytest.approx(data[0, 1024] / 255)
    assert d.x_test[1, 2, 31, 31].item() == pytest.approx(batches["test_batch"][0][1, 3071] / 255)


def test_cifar_missing_batch(tmp_path):
    _cifar_dir(tmp_path)
    os.remove(tmp_path / "data_batch_4")
    with pytest.raises(InputError, match="data_batch_1.*test_batch.*cifar-10-batches-py"):
        load_dataset("cifar10", str(tmp_path))


def test_cifar_bad_shape(tmp_path):
    path = tmp_path / "b"
    with open(path, "wb") as f:
        pickle.dump({b"data": np.zeros((2, 100), np.uint8), b"labels": [0, 1]}, f, protocol=2)
    with pytest.raises(InputError, match=r"expected uint8 \(N, 3072\)"):
        read_cifar_batch(str(path))


class _Evil:
    def __reduce__(self):
        return (os.system, ("echo pwned",))


def test_cifar_refuses_arbitrary_pickles(tmp_path):
    path = tmp_path / "b"
    with open(path, "wb") as f:
        pickle.dump({b"data": _Evil(), b"labels": []}, f)
    with pytest.raises(InputError, match="not allowed"):
        read_cifar_batch(str(path))


def test_bundled_sets_have_fixed_splits():
    d = load_dataset("digits")
    assert d.x_train.shape == (1437, 1, 8, 8) and d.x_test.shape == (360, 1, 8, 8)
    assert 0.0 <= float(d.x_train.min()) and float(d.x_train.max()) == 1.0
    again = load_dataset("digits")
    assert d.y_test.tolist() == again.y_test.tolist()
    m = load_dataset("mnist5k")
    assert m.x_train.shape == (4000, 1, 28, 28) and m.x_test.shape == (1000, 1, 28, 28)
    assert sorted(set(m.y_test.tolist())) == list(range(10))


def test_unknown_dataset():
    with pytest.raises(InputError, match="dataset = 'imagenet'"):
        load_dataset("imagenet")


@pytest.mark.skipif(
    not os.path.isdir("/usr/share/datasets/fashion-mnist"),
    reason="Debian's dataset-fashion-mnist is not installed",
)
def test_debian_fashion_mnist_is_the_default_directory():
    d = load_dataset("fashion-mnist")
    assert d.x_train.shape == (60000, 1, 28, 28) and d.x_test.shape == (10000, 1, 28, 28)
    assert d.y_train.bincount().tolist() == [6000] * 10


def _learnable_idx_dir(tmp_path, n_train=60, n_test=20):
    """IDX files whose class is written in the image (a bright row per class): learnable."""
    rng = np.random.default_rng(3)
    for split, n in (("train", n_train), ("t10k", n_test)):
        y = np.arange(n) % 10
        x = rng.integers(0, 40, (n, 28, 28))
        x[np.arange(n), 2 + 2 * y, :] = 255
        _write(str(tmp_path / f"{split}-images-idx3-ubyte"), _idx_bytes(x), False)
        _write(str(tmp_path / f"{split}-labels-idx1-ubyte"), _idx_bytes(y), True)


def test_train_lfc_on_mnist_files(tmp_path, capsys):
    """``--dataset mnist --data-dir D`` trains the seed paper's LFC (784-1024-1024-1024-10)."""
    import json

    from codesign.cli.main import main

    _learnable_idx_dir(tmp_path)
    argv = ["train", "--dataset", "mnist", "--data-dir", str(tmp_path), "--model", "lfc"]
    argv += ["--epochs", "3", "--retrain-epochs", "1", "--batch-size", "20", "--threads", "1"]
    argv += ["--lr", "0.01", "--json"]
    assert main(argv) == 0
    rep = json.loads(capsys.readouterr().out)
    assert [lay["shape"] for lay in rep["layers"]] == [
        [1024, 784],
        [1024, 1024],
        [1024, 1024],
        [10, 1024],
    ]
    assert rep["dataset"] == "mnist" and rep["accuracy"] >= 0.5  # chance is 0.1


@pytest.mark.slow
def test_train_cnv_on_cifar10_files(tmp_path, capsys):
    """``--dataset cifar10 --data-dir D`` trains the seed paper's CNV on 32x32x3 batches."""
    import json

    from codesign.cli.main import main

    _cifar_dir(tmp_path, n=4)
    argv = ["train", "--dataset", "cifar10", "--data-dir", str(tmp_path), "--model", "cnv"]
    argv += ["--epochs", "1", "--retrain-epochs", "0", "--batch-size", "10", "--threads", "1"]
    argv += ["--json"]
    assert main(argv) == 0
    rep = json.loads(capsys.readouterr().out)
    convs = [(lay["shape"], lay["out_pixels"]) for lay in rep["layers"] if lay["kind"] == "conv2d"]
    assert convs == [
        ([64, 3, 3, 3], 900),
        ([64, 64, 3, 3], 784),
        ([128, 64, 3, 3], 144),
        ([128, 128, 3, 3], 100),
        ([256, 128, 3, 3], 9),
        ([256, 256, 3, 3], 1),
    ]
    assert [lay["shape"] for lay in rep["layers"] if lay["kind"] == "linear"] == [
        [512, 256],
        [512, 512],
        [10, 512],
    ]
    assert len(rep["stages"]) == 3 and rep["n_weights"] > 1_000_000
