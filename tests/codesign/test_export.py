"""``codesign export``: every trial, flattened, round-trips through CSV and Parquet."""

import subprocess
import sys

import optuna
import pandas as pd
import pytest
from test_sweep_helpers import failing_on_n_pe_2, sim_sweep

from accelerators import InputError
from codesign.export import export_trials, trials_table
from codesign.sweep import load_spec, run_sweep


@pytest.fixture(scope="module")
def storage(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("export")
    url = f"sqlite:///{tmp}/tiny.db"
    run_sweep(load_spec(sim_sweep(tmp)), storage=url, progress=False, evaluate=failing_on_n_pe_2)
    return url


def test_table_has_one_row_per_trial_with_flat_columns(storage):
    df = trials_table(storage)
    study = optuna.load_study(study_name="tiny", storage=storage)
    assert len(df) == len(study.trials) == 8
    for col in (
        "number",
        "state",
        "params.hw.n_pe",
        "params.hw.lanes_per_pe",
        "objective.latency_us",
        "objective.area_mm2",
        "metrics.energy_uj",
        "metrics.size_kib",
        "hw.zero_skip",
        "error",
    ):
        assert col in df.columns, col
    for t in study.trials:
        row = df[df.number == t.number].iloc[0]
        assert row["state"] == t.state.name and row["params.hw.n_pe"] == t.params["hw.n_pe"]
        if t.state.name == "COMPLETE":
            assert row["objective.latency_us"] == t.values[0]
            assert row["metrics.cycles"] == t.user_attrs["metrics"]["cycles"]
        else:
            assert row["error"] == "RuntimeError: boom on n_pe=2"


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_round_trip(storage, tmp_path, fmt):
    out = tmp_path / f"trials.{fmt}"
    n = export_trials(storage, out, fmt)
    back = pd.read_csv(out) if fmt == "csv" else pd.read_parquet(out)
    want = trials_table(storage)
    assert n == len(back) == 8 and list(back.columns) == list(want.columns)
    for col in ("number", "params.hw.n_pe", "objective.latency_us", "metrics.area_mm2", "hw.n_pe"):
        pd.testing.assert_series_equal(
            back[col].astype(float), want[col].astype(float), check_names=False, rtol=1e-12
        )
    assert list(back["state"]) == list(want["state"])


def test_cli_export_and_bad_study(storage, tmp_path):
    out = tmp_path / "t.csv"
    cmd = [sys.executable, "-m", "codesign.cli.main", "export", "--storage", storage]
    ok = subprocess.run(cmd + ["--out", str(out)], capture_output=True, text=True)
    assert ok.returncode == 0 and "wrote 8 trials" in ok.stdout and out.is_file()
    bad = subprocess.run(
        cmd + ["--study", "nope", "--out", str(tmp_path / "u.csv")], capture_output=True, text=True
    )
    assert bad.returncode == 2 and "nope" in bad.stderr and bad.stderr.count("\n") == 1
    with pytest.raises(InputError, match="not found"):
        trials_table(f"sqlite:///{tmp_path}/missing.db")


def _digest(path) -> str:
    import hashlib

    return hashlib.sha256(open(path, "rb").read()).hexdigest()


def test_export_never_replaces_its_own_study_and_needs_overwrite_for_other_files(storage, tmp_path):
    db = storage[len("sqlite:///") :]
    before = _digest(db)
    for out, overwrite in ((db, False), (db, True)):
        with pytest.raises(InputError, match="own storage"):
            export_trials(storage, out, "csv", overwrite=overwrite)
    assert _digest(db) == before
    mine = tmp_path / "ternary.npz"
    mine.write_bytes(b"precious")
    with pytest.raises(InputError, match="--overwrite"):
        export_trials(storage, mine, "csv")
    assert mine.read_bytes() == b"precious"
    with pytest.raises(InputError, match="directory"):
        export_trials(storage, tmp_path, "csv", overwrite=True)
    assert export_trials(storage, mine, "csv", overwrite=True) == 8
    assert pd.read_csv(mine)["number"].tolist() == list(range(8))
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".export-")] == []


def test_csv_cells_a_spreadsheet_would_run_are_written_inert(tmp_path):
    """A study holding formula-like text (a third party's trial, a crafted error message)
    exports a CSV no spreadsheet runs; numbers, negative ones included, stay numbers."""
    url = f"sqlite:///{tmp_path}/tiny.db"
    run_sweep(load_spec(sim_sweep(tmp_path)), storage=url, progress=False)
    study = optuna.load_study(study_name="tiny", storage=url)
    dist = optuna.distributions.CategoricalDistribution(["=1+1", "-2"])
    study.add_trial(
        optuna.trial.create_trial(
            state=optuna.trial.TrialState.FAIL,
            params={"hw.zero_skip": "=1+1"},
            distributions={"hw.zero_skip": dist},
            user_attrs={"error": '=HYPERLINK("http://x","y")', "method": "@SUM(1)"},
        )
    )
    out = tmp_path / "t.csv"
    export_trials(url, out, "csv")
    back = pd.read_csv(out)
    last = back.iloc[-1]
    assert last["error"] == '\'=HYPERLINK("http://x","y")' and last["method"] == "'@SUM(1)"
    assert last["params.hw.zero_skip"] == "'=1+1"
    assert back["number"].tolist() == list(range(9))  # numbers untouched
    assert (back["objective.latency_us"].dropna() > 0).all()
    parquet = tmp_path / "t.parquet"
    export_trials(url, parquet, "parquet")
    assert pd.read_parquet(parquet).iloc[-1]["error"] == '=HYPERLINK("http://x","y")'
