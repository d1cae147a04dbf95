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
