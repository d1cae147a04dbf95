"""Training-backed sweeps: trained networks are cached by their training parameters."""

import os

import optuna
import pytest
from optuna.trial import TrialState
from test_sweep_helpers import write_sweep

from codesign.sweep import load_spec, run_sweep

SWEEP = """
[study]
name = "{name}"
objectives = ["accuracy", "latency_us", "energy_uj"]
sampler = "grid"
fidelity = "analytical"

[train]
dataset = "digits"
model = "mlp"
hidden_units = [32]
epochs = 1
retrain_epochs = 0
feedback = "{feedback}"

[search]
"hw.n_pe" = [4, 8]
"train.reg_strength" = [0.001]
"""


def _run(tmp_path, name, feedback="none"):
    spec = load_spec(write_sweep(tmp_path, SWEEP.format(name=name, feedback=feedback), name))
    url = f"sqlite:///{tmp_path}/{name}.db"
    s = run_sweep(spec, storage=url, cache_dir=str(tmp_path / "cache"), progress=False)
    return s, optuna.load_study(study_name=name, storage=url).get_trials()


def _cache_dirs(tmp_path):
    root = tmp_path / "cache"
    return {d: os.stat(root / d).st_mtime_ns for d in os.listdir(root)} if root.exists() else {}


@pytest.mark.slow
def test_hardware_only_differences_reuse_one_trained_network(tmp_path):
    s, trials = _run(tmp_path, "plain")
    assert s.trials_done == 2
    assert sorted(t.user_attrs["cache_hit"] for t in trials) == [False, True]
    dirs = _cache_dirs(tmp_path)
    assert len(dirs) == 1  # one training for two hardware points
    a, b = trials
    assert a.user_attrs["metrics"]["accuracy"] == b.user_attrs["metrics"]["accuracy"]
    assert a.user_attrs["train_report"]["accuracy"] == a.values[0]
    assert a.user_attrs["train_config"]["reg_strength"] == 0.001
    assert a.user_attrs["method"] == "sparse-ternary"
    assert 0 <= a.user_attrs["metrics"]["sparsity"] <= 1 and a.user_attrs["metrics"]["size_kib"] > 0
    # a new study with the same training params trains nothing: the cache dir is untouched
    _, again = _run(tmp_path, "plain2")
    assert all(t.user_attrs["cache_hit"] for t in again) and _cache_dirs(tmp_path) == dirs

    # with hardware feedback, training depends on the hardware: one network per hw point
    s, fb = _run(tmp_path, "fb", feedback="analytical")
    assert s.trials_done == 2 and all(t.state == TrialState.COMPLETE for t in fb)
    assert len(_cache_dirs(tmp_path)) == 3
    for t in fb:
        assert not t.user_attrs["cache_hit"]
        periods = t.user_attrs["train_report"]["feedback"]
        assert periods and {"cycles", "latency_us", "energy_uj", "coefficients"} <= set(periods[0])


def test_dense_baselines_are_scored_with_dense_storage_and_no_zero_skip(tmp_path):
    body = SWEEP.format(name="base", feedback="none").replace(
        '"hw.n_pe" = [4, 8]', '"hw.n_pe" = [4]\n"train.method" = ["ternary"]'
    )
    spec = load_spec(write_sweep(tmp_path, body, "base"))
    url = f"sqlite:///{tmp_path}/base.db"
    run_sweep(spec, storage=url, cache_dir=str(tmp_path / "cache"), progress=False)
    (t,) = optuna.load_study(study_name="base", storage=url).get_trials()
    assert t.user_attrs["method"] == "ternary"
    assert t.user_attrs["hw_config"]["weight_format"] == "dense-ternary"
    assert t.user_attrs["hw_config"]["zero_skip"] == "none"
    assert t.user_attrs["hw_report"]["hw"]["weight_format"] == "dense-ternary"
    # 2 bits per weight: (32*64 + 10*32) * 2 / 8 / 1024 KiB
    assert t.user_attrs["metrics"]["size_kib"] == pytest.approx((32 * 64 + 10 * 32) * 2 / 8192)


def _one_point(tmp_path, name, device_line=""):
    body = SWEEP.format(name=name, feedback="none").replace('"hw.n_pe" = [4, 8]', '"hw.n_pe" = [4]')
    body = body.replace('feedback = "none"', f'feedback = "none"\n{device_line}')
    return write_sweep(tmp_path, body, name)


@pytest.mark.slow
def test_sweep_device_cpu_reaches_training_and_auto_continues_the_study(tmp_path, capsys):
    import json

    import torch

    from codesign.cli.main import main

    path = _one_point(tmp_path, "dev", 'device = "cuda"')  # --device overrides the file
    url = f"sqlite:///{tmp_path}/dev.db"
    cache = str(tmp_path / "cache")
    argv = ["sweep", path, "--storage", url, "--cache-dir", cache, "--no-progress", "--json"]
    assert main([*argv, "--device", "cpu"]) == 0
    assert json.loads(capsys.readouterr().out)["trials_done"] == 1
    (t,) = optuna.load_study(study_name="dev", storage=url).get_trials()
    assert t.user_attrs["train_config"]["device"] == "cpu"
    assert t.user_attrs["train_report"]["device"] == "cpu"
    if torch.cuda.is_available():
        return
    # the same study continues with device auto (here: the CPU), reusing the CPU network
    spec = load_spec(_one_point(tmp_path, "dev"))
    s = run_sweep(spec, storage=url, cache_dir=cache, progress=False, device="auto")
    assert s.trials_done == 1  # the grid point is already done: nothing new to run
    assert len(_cache_dirs(tmp_path)) == 1


def test_sweep_device_cuda_without_cuda_is_one_line_and_exit_2(tmp_path, capsys):
    import torch

    from codesign.cli.main import main

    if torch.cuda.is_available():
        pytest.skip("CUDA is available here")
    path = _one_point(tmp_path, "nocuda")
    url = f"sqlite:///{tmp_path}/nocuda.db"
    assert main(["sweep", path, "--storage", url, "--device", "cuda", "--no-progress"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "cuda" in err[0] and "device" in err[0], err
    assert not (tmp_path / "nocuda.db").exists()  # refused before any study is made
    # the file's key is checked the same way
    assert (
        main(["sweep", _one_point(tmp_path, "nocuda2", 'device = "cuda"'), "--storage", url]) == 2
    )
    assert "cuda" in capsys.readouterr().err


def test_sweep_device_is_not_part_of_the_study_identity(tmp_path):
    spec = load_spec(_one_point(tmp_path, "ident", 'device = "cpu"'))
    assert spec.with_device("cuda").train["device"] == "cuda"
    assert spec.with_device(None).train["device"] == "cpu"  # the file's
    assert spec.with_device("cuda").identity() == spec.identity()
    assert load_spec(_one_point(tmp_path, "ident2")).with_device(None).train["device"] == "auto"
