"""Run directories: atomic saves, --out checked before training, damaged files as one clean error;
device and validation split in the training report."""

import json
import os

import pytest
import torch

from accelerators import InputError
from codesign.cli.main import main
from codesign.training import TrainConfig, load_run, resolve_device, train

TINY = dict(dataset="digits", model="mlp", hidden_units=(16,), epochs=1, retrain_epochs=1,
            batch_size=128, lr=0.01)  # fmt: skip


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    torch.set_num_threads(1)
    r = train(TrainConfig(**TINY, val_fraction=0.2))
    d = tmp_path_factory.mktemp("runs") / "run"
    r.save(d)
    return r, d


def test_validation_split_reported(run):
    r, _ = run
    rep = r.report
    assert rep["n_val"] == round(0.2 * 1437) and 0.0 <= rep["val_accuracy"] <= 1.0
    assert all("val_accuracy" in s for s in rep["stages"])
    assert rep["device"] == "cpu"


def test_validation_split_is_fixed_by_the_data_not_the_seed():
    from codesign.data import load_dataset, split_validation

    d = load_dataset("digits")
    a = split_validation(d.x_train, d.y_train, 0.1)[3]
    b = split_validation(d.x_train, d.y_train, 0.1)[3]
    assert torch.equal(a, b) and len(a) == 144


def test_same_seed_same_device_same_report():
    a = train(TrainConfig(**TINY, seed=3, val_fraction=0.1)).report
    b = train(TrainConfig(**TINY, seed=3, val_fraction=0.1)).report
    for k in ("accuracy", "val_accuracy", "sparsity", "layers", "size_bits"):
        assert a[k] == b[k]


def test_device_auto_and_cuda_without_cuda():
    assert resolve_device("cpu").type == "cpu"
    assert resolve_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")
    if not torch.cuda.is_available():
        with pytest.raises(InputError, match="device = 'cuda'.*no CUDA device"):
            resolve_device("cuda")


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_cli_cuda_without_cuda_is_exit_2(capsys, monkeypatch):
    import codesign.training

    monkeypatch.setattr(codesign.training, "train", lambda *a, **k: pytest.fail("trained"))
    assert main(["train", "--dataset", "digits", "--device", "cuda"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "no CUDA device" in err


def test_save_is_atomic(run, tmp_path, monkeypatch):
    r, _ = run
    d = tmp_path / "atomic"
    r.save(d)
    before = {f: (d / f).read_bytes() for f in os.listdir(d)}

    def boom(*a, **k):
        raise OSError("disk full")

    monkeypatch.setattr(torch, "save", boom)
    with pytest.raises(OSError, match="disk full"):
        r.save(d, overwrite=True)
    assert {f: (d / f).read_bytes() for f in os.listdir(d)} == before  # no temp files, no damage


def test_out_checked_before_training(tmp_path, capsys, monkeypatch):
    import codesign.training

    monkeypatch.setattr(codesign.training, "train", lambda *a, **k: pytest.fail("trained"))
    blocker = tmp_path / "file"
    blocker.write_text("x")
    base = ["train", "--dataset", "digits", "--model", "mlp", "--hidden", "8"]
    for out in (blocker, blocker / "run"):
        assert main([*base, "--out", str(out)]) == 2
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and str(blocker) in err
    assert not (tmp_path / "file" / "run").exists()


def test_existing_run_refused_without_overwrite(run, capsys, monkeypatch):
    import codesign.training

    _, d = run
    monkeypatch.setattr(codesign.training, "train", lambda *a, **k: pytest.fail("trained"))
    assert main(["train", "--dataset", "digits", "--out", str(d)]) == 2
    assert "--overwrite" in capsys.readouterr().err


def _truncated_copy(run, tmp_path):
    _, d = run
    dst = tmp_path / "trunc"
    dst.mkdir()
    for f in ("model.pt", "report.json"):
        (dst / f).write_bytes((d / f).read_bytes())
    npz = (d / "ternary.npz").read_bytes()
    (dst / "ternary.npz").write_bytes(npz[: len(npz) // 2])
    return dst


@pytest.mark.parametrize(
    "argv",
    [
        ["train", "--show", "{d}"],
        ["simulate", "--weights", "{d}/ternary.npz"],
        ["size", "--weights", "{d}/ternary.npz", "--max-latency-us", "100", "--no-progress"],
    ],
)
def test_truncated_ternary_npz_is_one_clean_error(run, tmp_path, capsys, argv):
    d = _truncated_copy(run, tmp_path)
    assert main([a.format(d=d) for a in argv]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "not a valid ternary.npz" in err, err


def test_load_run_round_trip(run):
    r, d = run
    back = load_run(d)
    assert back.report == json.loads(json.dumps(r.report))
    assert back.config == r.config
