import random
import sqlite3

import optuna
import pandas.testing as pdt
import pytest
from optuna.distributions import FloatDistribution
from optuna.trial import TrialState, create_trial

from dashboards.data import METRICS, StudyLoadError, StudySource, frame_from_trials
from dashboards.demo import demo_trial, write_demo_study


def _metrics(acc=0.9, area=1.0):
    return {"accuracy": acc, "sparsity": 0.9, "area_mm2": area, "latency_us": 10.0,
            "energy_uj": 1.0, "cycles": 5000, "size_kib": 12.5}  # fmt: skip


def _trial(acc=0.9, area=1.0, user_attrs=None, state=TrialState.COMPLETE, reg=1e-3):
    attrs = {"metrics": _metrics(acc, area), "method": "sparse-ternary"}
    attrs.update(user_attrs or {})
    return create_trial(
        state=state,
        params={"train.reg_strength": reg},
        distributions={"train.reg_strength": FloatDistribution(1e-6, 1e-2, log=True)},
        values=[acc, area] if state == TrialState.COMPLETE else None,
        user_attrs=attrs,
    )


def _study(tmp_path, name="s"):
    url = f"sqlite:///{tmp_path / 'x.db'}"
    study = optuna.create_study(storage=url, study_name=name, directions=["maximize", "minimize"])
    study.set_user_attr("objectives", ["accuracy", "area_mm2"])
    return url, study


def test_frame_equals_optunas_own_reading(study_url):
    snap = StudySource(study_url).snapshot()
    trials = optuna.load_study(storage=study_url, study_name="demo").get_trials()
    pdt.assert_frame_equal(snap.frame, frame_from_trials(trials))
    assert snap.n_trials == 40 and snap.objectives == (
        "accuracy",
        "area_mm2",
        "latency_us",
        "energy_uj",
    )
    assert snap.n_failed == sum(t.state == TrialState.FAIL for t in trials) >= 1
    assert len(snap.frame) == 40 - snap.n_failed
    assert set(METRICS) <= set(snap.frame.columns)
    assert "hw.n_pe" in snap.params and "train.method" in snap.params
    assert set(snap.frame["method"]) == {"binary", "ternary", "sparse-ternary"}


def test_bulk_writer_matches_add_trials(tmp_path):
    a, b = f"sqlite:///{tmp_path / 'a.db'}", f"sqlite:///{tmp_path / 'b.db'}"
    write_demo_study(a, 12, seed=3, real_reports=False)
    write_demo_study(b, 12, seed=3, real_reports=False, bulk=True)
    ta = optuna.load_study(storage=a, study_name="demo").get_trials()
    tb = optuna.load_study(storage=b, study_name="demo").get_trials()
    fields = lambda t: (t.number, t.state, t.params, t.distributions, t.values, t.user_attrs)  # noqa: E731
    assert [fields(t) for t in ta] == [fields(t) for t in tb]


def test_refresh_is_incremental_and_keyed_by_trial_states(tmp_path):
    url, study = _study(tmp_path)
    study.add_trial(_trial(0.8))
    source = StudySource(url)
    first = source.snapshot()
    assert source.snapshot() is first  # nothing changed: same object, nothing re-read
    running = study.ask()  # a RUNNING trial changes the version but adds no row
    second = source.snapshot()
    assert second is not first and second.n_running == 1 and len(second.frame) == 1
    study.tell(running, [0.95, 2.0])  # finished without user attrs: counted as skipped
    study.add_trial(_trial(0.9, 0.5))
    third = source.snapshot()
    assert third.frame["trial"].tolist() == [0, 2] and third.n_skipped == 1
    assert third.frame["accuracy"].tolist() == [0.8, 0.9]


def test_malformed_trials_are_left_out_and_counted(tmp_path):
    url, study = _study(tmp_path)
    study.add_trial(_trial(0.9))
    study.add_trial(_trial(0.9, user_attrs={"metrics": "__import__('os').system('false')"}))
    study.add_trial(_trial(0.9, user_attrs={"metrics": {**_metrics(), "area_mm2": "big"}}))
    study.add_trial(_trial(0.9, user_attrs={"metrics": {**_metrics(), "latency_us": float("nan")}}))
    study.add_trial(_trial(0.9, user_attrs={"metrics": {**_metrics(), "cycles": True}}))
    study.add_trial(_trial(0.7, user_attrs={"method": 3}))  # odd method: shown as "unknown"
    study.add_trial(_trial(0.5, state=TrialState.FAIL, user_attrs={"error": "boom"}))
    snap = StudySource(url).snapshot()
    assert snap.frame["trial"].tolist() == [0, 5]
    assert snap.frame["method"].tolist() == ["sparse-ternary", "unknown"]
    assert (snap.n_skipped, snap.n_failed) == (4, 1)
    assert any("lack valid metrics" in n for n in snap.notes)


def test_missing_file_is_reported_and_not_created(tmp_path):
    path = tmp_path / "nope.db"
    with pytest.raises(StudyLoadError, match="file not found"):
        StudySource(f"sqlite:///{path}").snapshot()
    assert not path.exists()


def test_foreign_files_are_refused_and_left_untouched(tmp_path):
    text = tmp_path / "notes.db"
    text.write_text("hello")
    with pytest.raises(StudyLoadError, match="not a SQLite database"):
        StudySource(f"sqlite:///{text}").snapshot()
    other = tmp_path / "other.db"
    con = sqlite3.connect(other)
    con.execute("CREATE TABLE things (x)")
    con.commit()
    con.close()
    before = other.read_bytes()
    with pytest.raises(StudyLoadError, match="not an Optuna study storage"):
        StudySource(f"sqlite:///{other}").snapshot()
    assert other.read_bytes() == before
    with pytest.raises(StudyLoadError, match="not a storage URL"):
        StudySource("::nonsense::").snapshot()


def test_storage_without_study(tmp_path):
    url = f"sqlite:///{tmp_path / 'bare.db'}"
    optuna.storages.RDBStorage(url)  # creates Optuna's tables, no study
    with pytest.raises(StudyLoadError, match="holds no study"):
        StudySource(url).snapshot()


def test_study_choice(tmp_path):
    url, study = _study(tmp_path, "older")
    study.add_trial(_trial(0.5))
    newer = optuna.create_study(
        storage=url, study_name="newer", directions=["maximize", "minimize"]
    )
    newer.add_trial(_trial(0.6))
    newer.add_trial(_trial(0.7))
    assert StudySource(url).snapshot().study_name == "newer"
    assert StudySource(url).snapshot().objectives == ()  # not recorded on that study
    assert len(StudySource(url, "older").snapshot().frame) == 1
    with pytest.raises(StudyLoadError, match=r"no study named 'x' \(found: newer, older\)"):
        StudySource(url, "x").snapshot()


def test_trial_lookup_reads_full_attributes(study_url):
    source = StudySource(study_url)
    trial = source.trial(2)
    assert trial.number == 2 and "hw_report" in trial.user_attrs
    assert source.trial(10_000) is None


def test_demo_trials_follow_contract_3():
    t = demo_trial(1, random.Random(0))
    attrs = t.user_attrs
    assert set(attrs) == {
        "metrics",
        "hw_config",
        "train_config",
        "hw_report",
        "train_report",
        "method",
    }
    assert set(attrs["metrics"]) == set(METRICS)
    assert all(k.startswith(("train.", "hw.")) for k in t.params)
    layer = attrs["hw_report"]["layers"][0]
    assert len(layer["pe_busy_cycles"]) == attrs["hw_config"]["n_pe"]
