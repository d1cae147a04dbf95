import sqlite3

import optuna
import pandas.testing as pdt
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from optuna.distributions import FloatDistribution
from optuna.trial import TrialState, create_trial

from codesign.study import METRICS
from dashboards.data import StudyLoadError, StudySource, frame_from_trials


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
    trials = optuna.load_study(storage=study_url, study_name="train").get_trials()
    pdt.assert_frame_equal(snap.frame, frame_from_trials(trials, snap.objectives))
    assert snap.n_trials == 36 and snap.objectives == ("accuracy", "latency_us", "area_mm2")
    assert len(snap.frame) == 36 and snap.n_failed == 0
    assert set(METRICS) <= set(snap.frame.columns)
    assert "hw.n_pe" in snap.params and "train.method" in snap.params
    assert set(snap.frame["method"]) == {"binary", "ternary", "sparse-ternary"}


def test_journal_storage_reads_like_sqlite(journal_study_url, hw_study_url):
    """Every storage the sweep writes: the same sweep in a journal file and in SQLite."""
    j, s = StudySource(journal_study_url).snapshot(), StudySource(hw_study_url).snapshot()
    assert j.n_trials == s.n_trials == 16 and j.params == s.params
    cols = [c for c in s.frame.columns if c != "trial"]
    pdt.assert_frame_equal(
        j.frame[cols].reset_index(drop=True), s.frame[cols].reset_index(drop=True)
    )
    assert StudySource(journal_study_url).trial(3).user_attrs["hw_report"]["layers"]


def test_dashboard_never_writes_what_it_reads(tmp_path, journal_study_url):
    """Read-only: an empty file, an unrelated SQLite database and a journal are byte-identical
    after the app opened them; a missing journal file is not created."""
    from dashboards import create_app

    empty = tmp_path / "empty.db"
    empty.write_bytes(b"")
    other = tmp_path / "other.db"
    con = sqlite3.connect(other)
    con.execute("CREATE TABLE things (x)")
    con.commit()
    con.close()
    journal = journal_study_url[len("journal://") :]
    files = [empty, other, journal]
    before = [open(f, "rb").read() for f in files]
    for f in (empty, other):
        with pytest.raises(StudyLoadError):
            StudySource(f"sqlite:///{f}").snapshot()
        create_app(f"sqlite:///{f}")
    create_app(journal_study_url)
    assert [open(f, "rb").read() for f in files] == before
    missing = tmp_path / "none.log"
    with pytest.raises(StudyLoadError, match="not found"):
        StudySource(f"journal:///{missing}").snapshot()
    create_app(f"journal:///{missing}")
    assert not missing.exists()


def test_refresh_is_incremental_and_keyed_by_trial_states(tmp_path):
    url, study = _study(tmp_path)
    study.add_trial(_trial(0.8))
    source = StudySource(url)
    first = source.snapshot()
    assert source.snapshot() is first  # nothing changed: same object, nothing re-read
    running = study.ask()  # a RUNNING trial changes the version but adds no row
    second = source.snapshot()
    assert second is not first and second.n_running == 1 and len(second.frame) == 1
    assert source.snapshot() is second  # still running: re-read by number, nothing new
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
    with pytest.raises(StudyLoadError, match="not found"):
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
    with pytest.raises(StudyLoadError, match="storage URL"):
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
    with pytest.raises(StudyLoadError, match=r"no study named 'x' .*\(found: newer, older\)"):
        StudySource(url, "x").snapshot()


def test_trial_lookup_reads_full_attributes(study_url):
    source = StudySource(study_url)
    trial = source.trial(2)
    assert trial.number == 2 and "hw_report" in trial.user_attrs
    assert source.trial(10_000) is None


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    where=st.floats(0.0, 1.0, allow_nan=False),
    junk=st.binary(min_size=1, max_size=64),
)
def test_a_study_file_damaged_anywhere_reads_or_says_why_on_one_line(
    study_url, tmp_path_factory, where, junk
):
    """Any bytes overwritten anywhere in a real study file: the dashboard either reads it or
    raises StudyLoadError with one short line, never another exception."""
    src = study_url[len("sqlite:///") :]
    damaged = tmp_path_factory.mktemp("damaged") / "study.db"
    data = bytearray(open(src, "rb").read())
    at = min(int(where * len(data)), len(data) - len(junk))
    data[at : at + len(junk)] = junk
    damaged.write_bytes(bytes(data))
    try:
        StudySource(f"sqlite:///{damaged}").snapshot()
    except StudyLoadError as exc:
        text = str(exc)
        assert "\n" not in text and len(text) < 500, text
