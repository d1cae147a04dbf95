"""``codesign train``: JSON output, run directory, and one-line errors with exit status 2."""

import json
import os

import pytest

from codesign.cli.main import main

TINY = [
    "train", "--dataset", "digits", "--model", "mlp", "--hidden", "16", "--epochs", "1",
    "--retrain-epochs", "1", "--batch-size", "128", "--threads", "1", "--lr", "0.01",
]  # fmt: skip


def test_train_json_and_run_dir(tmp_path, capsys):
    out = tmp_path / "run"
    assert main([*TINY, "--out", str(out), "--json"]) == 0
    cap = capsys.readouterr()
    report = json.loads(cap.out)
    assert report["method"] == "sparse-ternary" and report["dataset"] == "digits"
    assert [s["name"] for s in report["stages"]] == ["train", "prune", "retrain"]
    assert sorted(os.listdir(out)) == ["model.pt", "report.json", "ternary.npz"]
    assert json.loads((out / "report.json").read_text())["accuracy"] == report["accuracy"]
    assert "train 1/1" in cap.err  # progress bar on stderr
    assert main(["train", "--show", str(out), "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == report
    assert main(["train", "--show", str(out)]) == 0
    assert "sparse ternary" in capsys.readouterr().out


def test_train_table(capsys):
    assert main([*TINY, "--method", "ternary", "--no-progress"]) == 0
    cap = capsys.readouterr()
    assert "test accuracy %" in cap.out and "weight sparsity %" in cap.out and "KiB" in cap.out
    assert cap.err == ""  # --no-progress: no bars, no per-epoch lines


def _error(argv, capsys):
    code = main(argv)
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert len(err.splitlines()) == 1 and "Traceback" not in err
    return err


@pytest.mark.parametrize(
    "flag, value, needle",
    [
        ("--dataset", "imagenet", "dataset = 'imagenet'"),
        ("--model", "resnet", "model = 'resnet'"),
        ("--method", "int4", "method = 'int4'"),
        ("--epochs", "-1", "epochs = -1"),
        ("--reg-strength", "-0.5", "reg_strength = -0.5"),
        ("--capture", "-1", "capture = -1 "),
        (
            "--reg-update",
            "adamw",
            "reg_update = 'adamw' is not allowed: expected gradient | proximal",
        ),
        ("--hidden", "a,b", "--hidden = 'a,b'"),
    ],
)
def test_bad_values(flag, value, needle, capsys):
    assert needle in _error([*TINY, flag, value], capsys)


def test_smoothing_out_of_range(capsys):
    err = _error([*TINY, "--hw-feedback", "simpy", "--feedback-smoothing", "1.5"], capsys)
    assert "feedback_smoothing = 1.5" in err and "[0, 1)" in err


def test_data_dir_without_the_files(tmp_path, capsys):
    err = _error([*TINY, "--dataset", "mnist", "--data-dir", str(tmp_path)], capsys)
    assert "train-images-idx3-ubyte" in err and str(tmp_path) in err
    err = _error([*TINY, "--dataset", "cifar10", "--data-dir", str(tmp_path)], capsys)
    assert "data_batch_1" in err


def test_refuses_to_overwrite_a_run(tmp_path, capsys):
    out = tmp_path / "run"
    out.mkdir()
    (out / "report.json").write_text('{"keep": true}')
    err = _error([*TINY, "--out", str(out)], capsys)
    assert "already holds a run" in err and "--overwrite" in err
    assert (out / "report.json").read_text() == '{"keep": true}'
    assert not (out / "model.pt").exists()
    assert main([*TINY, "--out", str(out), "--overwrite", "--json"]) == 0
    assert "keep" not in (out / "report.json").read_text()


def test_corrupt_checkpoint(tmp_path, capsys):
    (tmp_path / "model.pt").write_bytes(b"\x00garbage")
    err = _error(["train", "--show", str(tmp_path)], capsys)
    assert "corrupt" in err and "model.pt" in err
    err = _error(["train", "--show", str(tmp_path / "missing")], capsys)
    assert "no checkpoint" in err
