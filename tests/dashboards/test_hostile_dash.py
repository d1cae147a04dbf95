"""The dashboard attacked as a careless or hostile user would: odd studies, odd files, odd
command lines. Real SQLite studies (Optuna's public API, or raw SQLite for damage), real
callbacks, real processes."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request

import optuna
import pytest
from optuna.distributions import CategoricalDistribution, FloatDistribution
from optuna.trial import TrialState, create_trial

from codesign.cli._dash import _print_summary, _summary
from codesign.study.storages import _sqlite_tables, open_storage
from dashboards import analysis
from dashboards.callbacks import export_csv, front_view, poll, table_view
from dashboards.data import StudyLoadError, StudySource
from dashboards.views import detail_view, training_view
from dashboards.wiring import _analysis_view

optuna.logging.set_verbosity(optuna.logging.ERROR)

READER = """
import optuna, sys
optuna.logging.set_verbosity(optuna.logging.ERROR)
print(len(optuna.load_study(study_name="good", storage=sys.argv[1]).trials))
"""


def _x(trial):
    return trial.suggest_float("x", 0, 1)


def _metrics(**values) -> dict:
    out = {"accuracy": 0.9, "sparsity": 0.5, "area_mm2": 1.0, "latency_us": 10.0,
           "energy_uj": 1.0, "cycles": 100, "size_kib": 2.0}  # fmt: skip
    return {**out, **values}


def _trial(params: dict, dists: dict | None = None, state=TrialState.COMPLETE, **metrics):
    """A trial as ``codesign sweep`` records it (metrics and method as user attributes)."""
    dists = dists or {k: FloatDistribution(0, 1e9) for k in params}
    values = [1.0, 1.0] if state == TrialState.COMPLETE else None
    attrs = {"metrics": _metrics(**metrics), "method": "sparse-ternary"}
    return create_trial(state=state, params=params, distributions=dists, values=values,
                        user_attrs=attrs)  # fmt: skip


def _study(url: str, name: str, trials) -> optuna.Study:
    study = optuna.create_study(storage=url, study_name=name, directions=["maximize", "minimize"])
    study.set_user_attr("objectives", ["accuracy", "area_mm2"])
    for trial in trials:
        study.add_trial(trial)
    return study


def _dash(*args: str) -> list[str]:
    return [sys.executable, "-m", "codesign.cli.main", "dash", *args]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _read_elsewhere_and_check_the_wal_stays(url, path, n_trials):
    out = subprocess.run([sys.executable, "-c", READER, url], capture_output=True, text=True)
    assert out.returncode == 0 and out.stdout.strip() == str(n_trials), out.stderr
    # this process still holds its locks: the reader was not the last and kept both files
    assert os.path.exists(f"{path}-wal") and os.path.exists(f"{path}-shm")


def test_a_study_that_fails_to_open_leaves_the_other_connections_locks_alone(tmp_path):
    """howtocorrupt.html 2.2: closing any descriptor of a SQLite file drops the POSIX locks of
    every connection of this process to it. The page used to read a failing study file's
    header with open() to explain the failure: a reader closing in another process then took
    itself for the last connection and deleted the WAL and its -shm under this one."""
    path = tmp_path / "s.db"
    url = f"sqlite:///{path}"
    writer = optuna.create_study(study_name="good", storage=open_storage(url, write=True))
    writer.optimize(_x, n_trials=3)
    optuna.create_study(study_name="bad", storage=open_storage(url, write=True))
    good = StudySource(url, "good")
    assert good.snapshot().n_trials == 3  # the page's connections to the file, kept open
    con = sqlite3.connect(path)  # then one study of the file is damaged (bytes not UTF-8)
    with con:
        con.execute("INSERT INTO study_user_attributes (study_id, key, value_json) "
                    "VALUES (2, 'note', CAST(X'FFFE' AS TEXT))")  # fmt: skip
    con.close()
    writer.optimize(_x, n_trials=2)
    assert os.path.exists(f"{path}-wal") and os.path.exists(f"{path}-shm")
    with pytest.raises(StudyLoadError, match="damaged"):  # the picker opens the damaged study
        StudySource(url, "bad").snapshot()
    _read_elsewhere_and_check_the_wal_stays(url, path, 5)
    _sqlite_tables(str(path), url, "mode=ro&immutable=1")  # how a WAL file is told, read-only
    _read_elsewhere_and_check_the_wal_stays(url, path, 5)
    writer.optimize(_x, n_trials=1)
    assert good.snapshot().n_trials == 6


def _without_root(argv: list[str]) -> list[str]:
    """``argv`` run so that file permissions bind: as root (CI), without the capabilities
    that override them."""
    if os.geteuid() != 0:
        return argv
    if shutil.which("setpriv") is None:
        pytest.skip("running as root without setpriv: permissions do not bind")
    return ["setpriv", "--inh-caps=-all", "--bounding-set=-dac_override,-dac_read_search",
            "--", *argv]  # fmt: skip


def test_a_wal_study_in_a_read_only_directory_says_why_and_creates_nothing(tmp_path):
    folder = tmp_path / "ro"
    folder.mkdir()
    url = f"sqlite:///{folder / 's.db'}"
    storage = open_storage(url, write=True)
    optuna.create_study(study_name="s", storage=storage).optimize(_x, n_trials=2)
    storage.engine.dispose()  # the last connection closes: SQLite removes -wal and -shm
    assert sorted(os.listdir(folder)) == ["s.db"]  # WAL mode, closed: no -wal, no -shm
    folder.chmod(0o555)
    try:
        cmd = _without_root(_dash("--check", "--storage", url))
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    finally:
        folder.chmod(0o755)
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert "WAL mode" in out.stderr and "not writable" in out.stderr
    assert sorted(os.listdir(folder)) == ["s.db"]


def test_a_file_of_several_studies_is_served_newest_first_without_study(tmp_path):
    """docs/dashboard.md: without --study the newest study is shown (the page has a picker).
    The server used to refuse such a file: "--study = None is not allowed"."""
    url = f"sqlite:///{tmp_path / 'two.db'}"
    _study(url, "old", [_trial({"train.x": 0.5})])
    _study(url, "new", [_trial({"train.x": 0.5}), _trial({"train.x": 0.7}, area_mm2=2.0)])
    cmd = _dash("--storage", url, "--port", str(_free_port()), "--json")
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        first = proc.stdout.readline()  # the summary, printed just before serving
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=20)
    assert first, err
    summary = json.loads(first)
    assert (summary["study"], summary["n_shown"]) == ("new", 2)


@pytest.mark.parametrize("kind", ["sqlite", "journal"])
def test_a_study_file_replaced_while_served_is_read_anew(tmp_path, kind):
    """A sweep rerun from scratch (``rm runs/x.db*``, then ``codesign sweep``) while the page
    is open: the page's connections still read the deleted file, so it showed the old trials
    for ever, as live."""
    path = tmp_path / ("s.db" if kind == "sqlite" else "s.log")
    url = f"sqlite:///{path}" if kind == "sqlite" else f"journal:///{path}"

    def sweep(areas):
        storage = open_storage(url, write=True)
        _study(storage, "s", [_trial({"train.x": 0.5}, area_mm2=a) for a in areas])
        if kind == "sqlite":
            storage.engine.dispose()

    sweep([1.0, 2.0, 3.0])
    source = StudySource(url)
    assert source.snapshot().frame["area_mm2"].tolist() == [1.0, 2.0, 3.0]
    for f in tmp_path.iterdir():
        f.unlink()
    sweep([10.0, 11.0, 12.0, 13.0])
    snap = source.snapshot()
    assert snap.frame["area_mm2"].tolist() == [10.0, 11.0, 12.0, 13.0]
    assert source.trial(3).user_attrs["metrics"]["area_mm2"] == 13.0
    for f in tmp_path.iterdir():
        f.unlink()
    with pytest.raises(StudyLoadError, match="not found"):  # deleted: said, not the old study
        source.snapshot()


def test_analyses_take_a_knob_that_some_trials_lack_or_hold_none(tmp_path):
    """A categorical knob with a ``None`` choice, or set in some trials only (a conditional
    parameter): parallel coordinates and knob importance raised TypeError (pandas keeps
    NaN through ``astype(str)``, then ``sorted`` compares it with text)."""
    url = f"sqlite:///{tmp_path / 's.db'}"
    mode = CategoricalDistribution([None, "a", "b"])
    x = FloatDistribution(0, 1)
    trials = [_trial({"hw.mode": m, "train.x": v}, {"hw.mode": mode, "train.x": x}, area_mm2=a)
              for m, v, a in ((None, 0.1, 1.0), ("a", 0.2, 2.0), ("b", 0.3, 3.0))]  # fmt: skip
    trials.append(_trial({"train.x": 0.4}, {"train.x": x}, area_mm2=4.0))  # no hw.mode
    _study(url, "s", trials)
    snap = StudySource(url).snapshot()
    frame, on_front = snap.frame, snap.frame["trial"] < 2
    fig = analysis.plot_parallel(frame, snap.params, ["area_mm2"], on_front.to_numpy())
    dims = {d["label"]: d for d in fig.data[0]["dimensions"]}
    assert list(dims["hw.mode"]["ticktext"]) == ["(none)", "a", "b"]
    assert list(dims["hw.mode"]["values"]) == [0, 1, 2, 0]
    shares = analysis.importances(frame, snap.params, "area_mm2", maximize=False)
    assert set(shares) <= {"hw.mode", "train.x"} and abs(sum(shares.values()) - 1) < 1e-9


def _strict_json(text: str) -> dict:
    def refuse(constant):
        raise ValueError(f"{constant} is not JSON")

    return json.loads(text, parse_constant=refuse)


def test_check_json_is_valid_json_when_a_metric_is_null_in_every_trial(tmp_path):
    """A study whose hardware metrics are null in every trial (objectives: accuracy alone):
    ``--check --json`` printed ``"min_area_mm2": NaN``, which is not JSON, and the table
    ``min area nan mm^2``."""
    url = f"sqlite:///{tmp_path / 's.db'}"
    study = optuna.create_study(storage=url, study_name="s", direction="maximize")
    study.set_user_attr("objectives", ["accuracy"])
    null = {"area_mm2": None, "latency_us": None, "energy_uj": None}
    for acc in (0.5, 0.75):
        trial = _trial({"train.x": acc}, accuracy=acc, **null)
        study.add_trial(create_trial(params=trial.params, distributions=trial.distributions,
                                     value=acc, user_attrs=trial.user_attrs))  # fmt: skip
    out = subprocess.run(_dash("--check", "--json", "--storage", url), capture_output=True,
                         text=True, timeout=60)  # fmt: skip
    assert out.returncode == 0, out.stderr
    summary = _strict_json(out.stdout)
    assert summary["best_accuracy_pct"] == 75.0 and "min_area_mm2" not in summary
    out = subprocess.run(_dash("--check", "--storage", url), capture_output=True, text=True,
                         timeout=60)  # fmt: skip
    assert out.returncode == 0 and "nan" not in out.stdout and "75.00 %" in out.stdout


def test_every_trial_is_counted_pruned_ones_too(tmp_path):
    """A random sweep records a repeat of an earlier point as PRUNED: the page's status and
    ``--check`` left those out of every count, so the counts did not add up to the trials."""
    url = f"sqlite:///{tmp_path / 's.db'}"
    states = [TrialState.COMPLETE, TrialState.FAIL, TrialState.PRUNED, TrialState.PRUNED,
              TrialState.RUNNING, TrialState.WAITING]  # fmt: skip
    trials = [_trial({"train.x": 0.1 * i}, state=st) for i, st in enumerate(states)]
    _study(url, "s", [*trials, _trial({"train.x": 0.9}, area_mm2="big")])
    status = poll(StudySource(url), None, None)[1]
    assert status.startswith("study 's': 1 of 7 trials have results")
    assert (
        "1 failed" in status and "2 pruned" in status and "2 trial(s) running or queued" in status
    )
    summary = _summary(argparse.Namespace(storage=url, study=None, host="h", port=1))
    counted = ("n_shown", "n_failed", "n_pruned", "n_running", "n_skipped")
    assert [summary[k] for k in counted] == [1, 1, 2, 2, 1] and summary["n_trials"] == 7


#: markup Plotly reads in any title, label or hover text: a link, a line break, bold
MARKUP = "<a href='https://example.com/login'>x</a><br>hw.n_pe = 64 <b>&amp;</b>"


def _strings(fig) -> list[str]:
    """Every string of a figure (titles, names, labels, hover texts, category values)."""
    out, todo = [], [fig.to_plotly_json()]
    while todo:
        item = todo.pop()
        if isinstance(item, dict):
            todo += item.values()
        elif isinstance(item, list | tuple) or hasattr(item, "tolist"):
            todo += list(item.tolist() if hasattr(item, "tolist") else item)
        elif isinstance(item, str):
            out.append(item)
    return out


def _components(components) -> list:
    """Every component of a Dash tree."""
    found, todo = [], list(components)
    while todo:
        c = todo.pop()
        if isinstance(c, list | tuple):
            todo += c
        elif c is not None and not isinstance(c, str | int | float):
            found.append(c)
            todo.append(getattr(c, "children", None))
    return found


def _graphs(components) -> list:
    """The figures of every graph in a Dash tree."""
    return [c.figure for c in _components(components) if getattr(c, "figure", None) is not None]


def _markup_study(url: str) -> str:
    """A study whose name, method, knob, knob values, layer, stall cause and stage names are
    :data:`MARKUP`; returns the knob's name."""
    knob, dist = f"hw.{MARKUP}", CategoricalDistribution([MARKUP, "plain"])
    report = {"layers": [{"name": MARKUP, "cycles": 10, "stall_cycles": {MARKUP: 2},
                          "pe_busy_cycles": [1, 2]}]}  # fmt: skip
    trials = []
    for i, value in enumerate((MARKUP, "plain", MARKUP)):
        trial = _trial({knob: value, "train.x": 0.1 * i}, {knob: dist, "train.x": FloatDistribution(0, 1)},
                       area_mm2=1.0 + i, accuracy=0.9 - 0.1 * i)  # fmt: skip
        attrs = {
            **trial.user_attrs,
            "method": MARKUP,
            "hw_report": report,
            "train_report": {"stages": [{"name": MARKUP, "epochs": 1, "accuracy": 0.5}]},
        }
        trials.append(create_trial(params=trial.params, distributions=trial.distributions,
                                   values=trial.values, user_attrs=attrs))  # fmt: skip
    _study(url, MARKUP, trials)
    return knob


def test_markup_read_from_a_study_is_drawn_as_text_never_as_links_or_lines(tmp_path):
    """Plotly reads ``<a href>``, ``<br>``, ``<b>`` in every text it draws. A study name,
    method, knob or value, layer or stage name holding them drew a clickable link in the
    figure's title, or a made-up line ("hw.n_pe = 64") in a hover; Plotly shows the
    escaped characters as they are."""
    url = f"sqlite:///{tmp_path / 's.db'}"
    knob = _markup_study(url)
    source = StudySource(url)
    snap = source.snapshot()
    figs = [front_view(snap, tab, colour)[0] for tab in ("area_mm2", "3d")
            for colour in ("method", knob, "train.x")]  # fmt: skip
    figs += _graphs(detail_view(source, 0)) + _graphs(training_view(source, 0))
    on_front = snap.frame["trial"].to_numpy() < 2
    for which in ("parallel", "importance", "slices"):
        figs += _graphs([_analysis_view(which, snap, snap.frame, on_front, [], "area_mm2",
                                        "analysis-run")])  # fmt: skip
    assert len(figs) == 12  # 6 fronts, layer bars, PE heatmap, training, 3 analyses
    texts = [t for fig in figs for t in _strings(fig)]
    assert any("&lt;a href=" in t for t in texts)  # the markup is there, escaped
    for text in texts:
        assert "<a " not in text and "<b>" not in text and "<br>hw.n_pe" not in text, text


@pytest.mark.browser
def test_markup_in_a_study_is_shown_as_text_in_the_browser(dash_duo, tmp_path):
    """The page as drawn: the front's title and legend read the study's markup as text; the
    figure holds no link."""
    from dashboards import create_app

    url = f"sqlite:///{tmp_path / 's.db'}"
    _markup_study(url)
    dash_duo.start_server(create_app(url))
    dash_duo.wait_for_element("#front .scatterlayer .trace .points path", timeout=20)
    texts = dash_duo.driver.execute_script(
        "const f = document.querySelector('#front');"
        "return [f.querySelector('.gtitle').textContent,"
        "        Array.from(f.querySelectorAll('.legendtext')).map(t => t.textContent),"
        "        f.querySelectorAll('svg a').length];"
    )
    assert texts[0] == f"{MARKUP}: Accuracy vs area"
    assert f"{MARKUP} (front)" in texts[1] and texts[2] == 0


def test_a_study_deleted_and_made_again_while_served_is_read_anew(tmp_path):
    """``optuna delete-study`` then a new sweep under the same name, in the same file: the
    page kept the deleted study's trials (its id no longer exists, so nothing new came)."""
    url = f"sqlite:///{tmp_path / 's.db'}"
    _study(url, "s", [_trial({"train.x": 0.5}, area_mm2=a) for a in (1.0, 2.0)])
    _study(url, "other", [_trial({"train.x": 0.5})])
    source = StudySource(url, "s")
    assert source.snapshot().frame["area_mm2"].tolist() == [1.0, 2.0]
    optuna.delete_study(study_name="s", storage=url)
    with pytest.raises(StudyLoadError, match="no study named 's'.*found: other"):
        source.snapshot()
    _study(url, "s", [_trial({"train.x": 0.5}, area_mm2=a) for a in (5.0, 6.0, 7.0)])
    assert source.snapshot().frame["area_mm2"].tolist() == [5.0, 6.0, 7.0]


def test_a_report_holding_nan_or_infinity_opens_with_those_values_missing(tmp_path):
    """Optuna stores attributes as JSON that allows NaN and Infinity. A drill-down whose
    report held one raised (``int(nan)``), so the page kept the previous design's details."""
    url = f"sqlite:///{tmp_path / 's.db'}"
    nan, inf = float("nan"), float("inf")
    layer = {
        "name": "fc1",
        "cycles": nan,
        "nnz": inf,
        "shape": [inf, 3],
        "energy_uj": -inf,
        "stall_cycles": {"imbalance": nan, "column_lanes": 4},
        "pe_busy_cycles": [nan, 2],
    }
    stages = [{"name": "train", "epochs": nan, "accuracy": inf}, {"name": "prune", "epochs": 2}]
    feedback = [{"period": nan, "epoch": inf, "accuracy": 0.5, "latency_us": inf},
                {"period": 1, "epoch": 2, "accuracy": nan, "latency_us": 3.0}]  # fmt: skip
    trial = _trial({"train.x": 0.5})
    attrs = {**trial.user_attrs, "hw_report": {"layers": [layer]},
             "train_report": {"stages": stages, "feedback": feedback}}  # fmt: skip
    _study(url, "s", [create_trial(params=trial.params, distributions=trial.distributions,
                                   values=trial.values, user_attrs=attrs)])  # fmt: skip
    source = StudySource(url)
    detail = detail_view(source, 0)
    rows = [c for c in _components(detail) if getattr(c, "id", None) == "detail-layers"]
    assert len(rows) == 1 and len(_graphs(detail)) == 2  # the table, bars and heatmap
    assert len(_graphs(training_view(source, 0))) == 2  # training curves, feedback path


@pytest.mark.parametrize("refresh", ["0.0001", "0.09"])
def test_a_refresh_period_the_page_cannot_keep_is_refused(tmp_path, refresh):
    """``--refresh-s 0.0001`` became a 0 ms timer: every open page polled the study as fast
    as the browser could."""
    url = f"sqlite:///{tmp_path / 's.db'}"
    _study(url, "s", [_trial({"train.x": 0.5})])
    out = subprocess.run(_dash("--check", "--storage", url, "--refresh-s", refresh),
                         capture_output=True, text=True, timeout=60)  # fmt: skip
    assert out.returncode == 2 and out.stderr.count("\n") == 1, out.stderr
    assert "--refresh-s" in out.stderr and "[0.1, 86400]" in out.stderr


@pytest.mark.parametrize(("host", "url"), [("::", "http://[::]:8051/"),
                                           ("127.0.0.1", "http://127.0.0.1:8051/")])  # fmt: skip
def test_the_url_printed_for_an_ipv6_host_is_a_url(tmp_path, host, url):
    """``--host ::`` served, but printed ``serving on http://:::8051/``, which is no URL."""
    args = argparse.Namespace(storage=f"sqlite:///{tmp_path / 'none.db'}", study=None,
                              host=host, port=8051)  # fmt: skip
    assert _summary(args)["url"] == url


def _picker(app) -> tuple[list, str | None]:
    picker = next(c for c in app.layout()._traverse() if getattr(c, "id", None) == "study-picker")
    return [o["value"] for o in picker.options], picker.value


def test_the_study_picker_offers_studies_made_after_the_start(tmp_path):
    """The picker listed the studies of the storage when the app started: a sweep started
    afterwards (into a file not there yet, or beside the study shown) was never offered,
    even after a reload."""
    from dashboards import create_app

    url = f"sqlite:///{tmp_path / 's.db'}"
    app = create_app(url, refresh_s=60)  # no file yet: a sweep is about to start
    assert _picker(app) == ([], None)
    _study(url, "first", [_trial({"train.x": 0.5})])
    assert _picker(app) == (["first"], "first")
    started_on_first = create_app(url, refresh_s=60)
    _study(url, "second", [_trial({"train.x": 0.5})])
    assert _picker(app) == (["first", "second"], "second")  # no study at the start: the newest
    assert _picker(started_on_first) == (["first", "second"], "first")  # the one shown stays


@pytest.mark.parametrize("name", ["run#1.db", "100%41.db", "a b?.db"])
def test_a_study_file_whose_name_has_uri_characters_is_read_and_nothing_is_created(tmp_path, name):
    """The read-only check opened ``file:<path>?mode=ro`` unescaped: in ``run#1.db`` the
    ``#`` began the URI's fragment, so SQLite opened (and created, read-write) ``run`` and
    the study "held no study"; a ``%41`` was read as ``A``."""
    url = "sqlite:///" + str(tmp_path / name).replace("%", "%25").replace("?", "%3F")
    storage = open_storage(url, write=True)
    _study(storage, "s", [_trial({"train.x": 0.5})])
    storage.engine.dispose()
    assert sorted(os.listdir(tmp_path)) == [name]  # SQLAlchemy decoded the URL's %xx
    assert StudySource(url).snapshot().n_trials == 1
    assert sorted(os.listdir(tmp_path)) == sorted([name, f"{name}-shm", f"{name}-wal"])


def test_check_prints_a_study_name_that_holds_newlines_or_escapes_on_its_own_line(tmp_path, capsys):
    """``--check`` printed the study's name and knobs as they were: a newline in them forged
    lines of the summary, an escape sequence drove the terminal (here: clear the screen)."""
    url = f"sqlite:///{tmp_path / 's.db'}"
    name = "s\nbest accuracy 99.99 %\x1b[2J\u202e"
    knob = "train.x\nmin area      0.0001 mm^2"
    _study(url, name, [_trial({knob: 0.5}, area_mm2=2.0)])
    _print_summary(_summary(argparse.Namespace(storage=url, study=None, host="h", port=1)))
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in lines] == [
        "storage",
        "study",
        "objectives",
        "trials",
        "params",
        "best",
        "min",
        "min",
        "min",
    ]
    assert "\x1b" not in "".join(lines) and "\u202e" not in "".join(lines)
    assert lines[1] == "study         s\\nbest accuracy 99.99 %\\x1b[2J\\u202e"


def test_debug_mode_serves(tmp_path):
    """``--debug`` (Werkzeug's reloader): the reloader binds the port and runs the command
    again in a child, which took the port for a busy one and exited: nothing was served."""
    url = f"sqlite:///{tmp_path / 's.db'}"
    _study(url, "s", [_trial({"train.x": 0.5})])
    port = _free_port()
    proc = subprocess.Popen(
        _dash("--storage", url, "--port", str(port), "--debug"),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )  # its own group: the reloader's child too
    try:
        layout, deadline = None, time.time() + 120
        while layout is None and proc.poll() is None and time.time() < deadline:
            try:
                with urllib.request.urlopen(
                    f"http://127.0.0.1:{port}/_dash-layout", timeout=5
                ) as r:
                    layout = r.read().decode()
            except (urllib.error.URLError, ConnectionError):
                time.sleep(0.5)
    finally:
        with contextlib.suppress(ProcessLookupError):  # (the group is gone if it failed)
            os.killpg(proc.pid, signal.SIGTERM)
        _, err = proc.communicate(timeout=20)
    assert layout is not None and '"front"' in layout, err[-500:]


def test_the_design_table_sorts_a_knob_whose_choices_are_of_several_types(tmp_path):
    """A categorical knob with choices ``["auto", 4, 8]``: sorting the design table on it
    raised TypeError (``str < int``), so the table stayed as it was."""
    url = f"sqlite:///{tmp_path / 's.db'}"
    lanes = CategoricalDistribution(["auto", 4, 8])
    _study(url, "s", [_trial({"hw.lanes": v}, {"hw.lanes": lanes}, area_mm2=a)
                      for v, a in ((8, 1.0), ("auto", 2.0), (4, 3.0))])  # fmt: skip
    snap = StudySource(url).snapshot()
    for direction, order in (("asc", [4, 8, "auto"]), ("desc", ["auto", 8, 4])):
        sort = [{"column_id": "hw.lanes", "direction": direction}]
        data = table_view(snap, "area_mm2", sort_by=sort)[0]
        assert [r["hw.lanes"] for r in data] == order


def test_a_poll_of_a_grid_sweep_with_every_point_queued_is_a_few_queries(tmp_path):
    """A grid sweep queues every point as WAITING. Each poll re-read every queued trial with
    its own queries: 1,000 queued points took 6.7 s a poll, longer than the poll period."""
    from sqlalchemy import event

    url = f"sqlite:///{tmp_path / 's.db'}"
    queued = [create_trial(state=TrialState.WAITING, params={"hw.x": float(i)},
                           distributions={"hw.x": FloatDistribution(0, 1e3)})
              for i in range(300)]  # fmt: skip
    study = _study(url, "s", [_trial({"hw.x": 0.5}), *queued])
    source = StudySource(url)
    assert source.snapshot().n_running == 300
    statements = []
    event.listen(source.store.storage.engine, "before_cursor_execute",
                 lambda *args: statements.append(args[2]))  # fmt: skip
    assert source.snapshot().n_running == 300  # nothing changed
    assert len(statements) < 20, len(statements)
    trial = study.ask()  # a worker claims the first queued point and finishes it
    study.tell(trial, [0.9, 1.0])
    statements.clear()
    snap = source.snapshot()
    assert (snap.n_running, snap.n_skipped) == (299, 1) and len(statements) < 20


def test_a_journal_replaced_by_a_file_that_takes_its_inode_is_read_anew(tmp_path):
    """ext4 gives a deleted file's inode to the next file made: a journal deleted and made
    again at once looked like the same file, and its old reader went on from its old offset
    in the new one ("cannot be read: 0")."""
    url = f"journal:///{tmp_path / 's.log'}"
    _study(open_storage(url, write=True), "s", [_trial({"train.x": 0.5}, area_mm2=1.0)])
    new = tmp_path / "new"
    new.mkdir()
    _study(open_storage(f"journal:///{new / 's.log'}", write=True), "s",
           [_trial({"train.x": 0.5}, area_mm2=a) for a in (5.0, 6.0)])  # fmt: skip
    source = StudySource(url)
    assert source.snapshot().frame["area_mm2"].tolist() == [1.0]
    (tmp_path / "s.log").unlink()
    shutil.copyfile(new / "s.log", tmp_path / "s.log")  # the next file made
    assert source.snapshot().frame["area_mm2"].tolist() == [5.0, 6.0]


def test_the_front_csv_download_writes_formula_like_text_inert(tmp_path):
    """A method or knob value that starts like a spreadsheet formula is downloaded with a
    leading ', as ``codesign export`` writes it; numbers stay numbers."""
    import io

    import pandas as pd

    url = f"sqlite:///{tmp_path}/s.db"
    knob, dist = "hw.kind", CategoricalDistribution(["=1+1", "-x"])
    trials = []
    for i, value in enumerate(("=1+1", "-x")):
        t = _trial({knob: value}, {knob: dist}, area_mm2=1.0 + i, accuracy=0.9 + 0.05 * i)
        attrs = {**t.user_attrs, "method": "@SUM(1)"}
        trials.append(create_trial(params=t.params, distributions=t.distributions,
                                   values=t.values, user_attrs=attrs))  # fmt: skip
    _study(url, "s", trials)
    source = StudySource(url)
    _, _, _, _, schema, *_ = poll(source, None, None)
    payload = export_csv(source.current(), "area_mm2", schema, {}, {})
    got = pd.read_csv(io.StringIO(payload["content"]))
    assert sorted(got[knob]) == ["'-x", "'=1+1"] and set(got["method"]) == {"'@SUM(1)"}
    assert got["area_mm2"].dtype.kind == "f"


def test_saving_notes_leaves_no_connection_open(tmp_path):
    """Each note opened a writer whose connections stayed until a garbage collection: with
    it disabled, three notes held five more descriptors of the study file."""
    import gc

    url = f"sqlite:///{tmp_path}/s.db"
    _study(url, "s", [_trial({"train.x": 0.1}, {"train.x": FloatDistribution(0, 1)})])
    source = StudySource(url, "s")
    source.snapshot()

    def descriptors() -> int:
        links = []
        for fd in os.listdir("/proc/self/fd"):
            with contextlib.suppress(OSError):
                links.append(os.readlink(f"/proc/self/fd/{fd}"))
        return sum(link.startswith(str(tmp_path / "s.db")) for link in links)

    before = descriptors()
    gc.disable()
    try:
        for i in range(3):
            source.set_note(0, f"note {i}")
        assert descriptors() == before
    finally:
        gc.enable()
    assert source.notes() == {0: "note 2"}
