"""Ctrl-C, SIGTERM, ``kill -9`` and two commands at once: one line, nothing lost, nothing twice.

Real processes and signals (``os.killpg`` with SIGINT is what Ctrl-C in a
terminal does: every process of the foreground group gets it), real SQLite and
journal studies, real training on the bundled ``digits`` data.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import resource
import signal
import subprocess
import sys
import time

import optuna
import pytest
from optuna.trial import TrialState
from test_sweep_helpers import sim_sweep, write_sweep

from accelerators import InputError
from codesign.sweep import load_spec, run_sweep

TRAIN_SWEEP = """
[study]
name = "intr"
objectives = ["accuracy", "latency_us"]
sampler = "grid"
fidelity = "analytical"

[train]
dataset = "digits"
model = "mlp"
hidden_units = [16]
epochs = 5
retrain_epochs = 1
batch_size = 64
train_limit = 300

[hw]
preset = "default"

[search]
"train.reg_strength" = [0.001, 0.1]
"""
POINTS = 2


_STARTED: list[subprocess.Popen] = []  # every process a test starts, reaped after it


@pytest.fixture(autouse=True)
def _reap():
    """Kill what a test left running (a failed assertion before its signal, a Ctrl-C lost
    twice): a ``--epochs 10000`` training would otherwise outlive the test run and slow
    every later test on the machine (found: three such orphans, running for an hour)."""
    yield
    while _STARTED:
        p = _STARTED.pop()
        if p.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(p.pid, signal.SIGKILL)
            p.communicate()


def _cli(*args: str, cwd, **kw) -> subprocess.Popen:
    _STARTED.append(p := _popen(*args, cwd=cwd, **kw))
    return p


def _popen(*args: str, cwd, **kw) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "codesign.cli.main", *args],
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own group, as a command typed in its own terminal
        **kw,
    )


def _trials(url: str, name: str = "intr") -> list:
    """The study's trials, read-only (SQLite or journal); none while it does not exist."""
    from codesign.study import StudyStore

    try:
        return StudyStore.open(url, name).trials()
    except InputError:  # not created yet
        return []


def _wait_for(cond, what: str, timeout: float = 90.0) -> None:
    deadline = time.time() + timeout
    while not cond():
        assert time.time() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


#: how a process stopped by Ctrl-C may end: exit status 130, or (when Python ends itself by
#: the signal, as it may after an interrupt early in the run) killed by SIGINT, which a
#: shell reports as 130 too
BY_CTRL_C = (130, -signal.SIGINT)


def _one_line(stderr: str) -> str:
    lines = [ln for ln in stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and "Traceback" not in stderr, stderr
    return lines[0]


def _each_point_complete_once(trials, points: int = POINTS) -> None:
    done = [json.dumps(t.params, sort_keys=True) for t in trials if t.state == TrialState.COMPLETE]
    assert len(done) == len(set(done)) == points, [(t.state, t.params) for t in trials]
    for t in trials:
        assert t.state in (TrialState.COMPLETE, TrialState.FAIL), t.state
        if t.state == TrialState.FAIL:  # only the tries the interrupt stopped
            assert t.user_attrs["interrupted"] and "interrupted" in t.user_attrs["error"]


def _no_temporaries(*dirs) -> None:
    for d in dirs:
        if os.path.isdir(d):
            left = [f for f in os.listdir(d) if f.startswith(".tmp-")]
            assert not left, (d, left)


def _holds_a_trial(url: str, pid: int) -> bool:
    return any(
        t.state == TrialState.RUNNING and t.system_attrs.get("codesign:lease", {}).get("pid") == pid
        for t in _trials(url)
    )


def test_ctrl_c_hands_the_running_trials_to_the_sweep_still_running(tmp_path):
    """Ctrl-C on one of two sweeps of a study: one line, exit 130, no worker traceback; its
    running trials go back to the queue and the other sweep runs them: every point once."""
    body = TRAIN_SWEEP.replace("[0.001, 0.1]", "[0.001, 0.003, 0.01, 0.03, 0.1]")
    path = write_sweep(tmp_path, body, "intr")
    url = f"sqlite:///{tmp_path}/intr.db"
    common = ("--storage", url, "--cache-dir", str(tmp_path / "cache"), "--no-progress")
    a = _cli("sweep", path, *common, "--jobs", "2", cwd=tmp_path)  # holds 4 trials at most
    _wait_for(lambda: _holds_a_trial(url, a.pid), "the first sweep's trials")
    b = _cli("sweep", path, *common, "--json", cwd=tmp_path)
    _wait_for(lambda: _holds_a_trial(url, b.pid) or b.poll() is not None, "the second sweep")
    os.killpg(a.pid, signal.SIGINT)  # Ctrl-C: the coordinator and its workers
    _, err = a.communicate(timeout=60)
    assert a.returncode in BY_CTRL_C, err
    line = _one_line(err)
    assert line.startswith("codesign sweep: interrupted") and "queued again" in line, line
    out, err = b.communicate(timeout=240)
    assert b.returncode == 0, err
    assert json.loads(out)["trials_done"] == 5  # without a rerun
    _each_point_complete_once(_trials(url), 5)
    _no_temporaries(tmp_path / "cache")


def test_sigterm_on_a_journal_sweep_is_one_line_and_a_rerun_finishes(tmp_path):
    path = write_sweep(tmp_path, TRAIN_SWEEP, "intr")
    url = f"journal:///{tmp_path}/intr.log"
    cmd = ("sweep", path, "--storage", url, "--cache-dir", str(tmp_path / "cache"), "--no-progress")
    p = _cli(*cmd, cwd=tmp_path)
    _wait_for(lambda: any(t.state == TrialState.RUNNING for t in _trials(url)), "a trial")
    p.send_signal(signal.SIGTERM)  # kill PID, a scheduler's or a container's stop
    _, err = p.communicate(timeout=60)
    assert p.returncode == 143, err
    assert _one_line(err).startswith("codesign sweep: terminated; 1 running trial queued again")
    states = [t.state for t in _trials(url)]
    assert TrialState.RUNNING not in states
    assert states.count(TrialState.WAITING) + states.count(TrialState.COMPLETE) == POINTS
    spec = load_spec(path)  # the rerun (in this process: the same code, no start-up)
    assert (
        run_sweep(spec, storage=url, cache_dir=str(tmp_path / "cache"), progress=False).recovered
        == []
    )
    _each_point_complete_once(_trials(url))
    _no_temporaries(tmp_path / "cache")


def _flock_busy(path: str) -> bool:
    """Whether another process holds an ``flock`` on ``path`` now."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False


def test_kill_9_while_writing_a_journal_does_not_stall_the_next_sweep(tmp_path):
    """A writer killed holding the journal's lock left Optuna's ``.lock`` symlink: the
    next sweep waited 30 s, logging warnings, before breaking it."""
    log = tmp_path / "j.log"
    extra = '"hw.fifo_depth" = [2, 4, 8]'
    path = sim_sweep(tmp_path, fidelity="simpy", extra_search=extra)  # 24 points
    cmd = ("sweep", path, "--storage", f"journal:///{log}", "--no-progress")
    p = _cli(*cmd, cwd=tmp_path)
    lock = f"{log}.lock"  # Optuna's own lock, before
    deadline = time.time() + 90
    while not (os.path.lexists(lock) or _flock_busy(str(log))):  # no sleep: held for ms
        assert p.poll() is None and time.time() < deadline, "the sweep never held its lock"
    os.kill(p.pid, signal.SIGKILL)
    p.communicate()
    t0 = time.time()
    again = _cli(*cmd, "--json", cwd=tmp_path)
    out, err = again.communicate(timeout=120)
    assert again.returncode == 0 and not err.strip(), err  # no lock warnings
    assert time.time() - t0 < 20, "the rerun waited for a dead writer's lock"
    trials = _trials(f"journal:///{log}", "tiny")
    done = [json.dumps(t.params, sort_keys=True) for t in trials if t.state == TrialState.COMPLETE]
    assert len(done) == len(set(done)) == 24 == json.loads(out)["trials_done"]


def test_a_study_whose_creator_died_before_naming_it_is_finished_by_the_rerun(tmp_path):
    """``kill -9`` (or Ctrl-C) between creating the study and writing its attributes left
    a study every rerun refused ("exists with objectives None")."""
    path = sim_sweep(tmp_path)
    url = f"sqlite:///{tmp_path}/tiny.db"
    # exactly what the killed sweep left: Optuna's study row, no codesign attributes
    optuna.create_study(study_name="tiny", storage=url, directions=["minimize", "minimize"])
    assert run_sweep(load_spec(path), storage=url, progress=False).trials_done == 8


def test_a_point_queued_again_by_another_sweep_is_run_not_pruned(tmp_path):
    """A random sweep that had seen a point RUNNING in another sweep pruned the point as a
    duplicate when that sweep was stopped and queued it again: the point was dropped."""
    from codesign.study import ATTR
    from codesign.sweep.runner import _Coordinator, _open_study, make_sampler

    spec = load_spec(sim_sweep(tmp_path, sampler="random", trials=3))
    dists = spec.distributions()
    store = _open_study(f"sqlite:///{tmp_path}/tiny.db", "tiny", spec)
    point = {"hw.n_pe": 4, "hw.lanes_per_pe": 2}
    tid, _ = store.start(point, dists, {})  # another sweep's trial, running
    mine = _Coordinator(spec, store, dists, make_sampler(spec), str(tmp_path / "cache"))
    # that sweep is stopped: its trial fails as interrupted and its point is queued again
    store.finish(tid, None, {ATTR.INTERRUPTED: True, ATTR.ERROR: "interrupted: stopped"})
    store.enqueue(point, dists, {})
    _, number, params = mine.next_trial()  # the queued point comes first
    assert params == point and store.trial(number).state == TrialState.RUNNING
    assert not store.trials(states=(TrialState.PRUNED,))


def test_a_second_train_into_the_same_run_directory_is_refused_at_once(tmp_path):
    """Two ``codesign train --overwrite --out R`` at once both trained and renamed their
    files into R (a mix of the two runs possible); SIGTERM gave no message."""
    run = tmp_path / "R"
    run.mkdir()
    old = {name: os.urandom(64) for name in ("model.pt", "ternary.npz", "report.json")}
    for name, data in old.items():
        (run / name).write_bytes(data)
    base = ("train", "--dataset", "digits", "--model", "mlp", "--hidden", "16", "--no-progress")
    base += ("--out", str(run))
    a = _cli(*base, "--overwrite", "--epochs", "10000", cwd=tmp_path)
    deadline = time.time() + 60
    while not _flock_busy(str(run)) and time.time() < deadline and a.poll() is None:
        time.sleep(0.05)
    b = _cli(*base, "--overwrite", "--epochs", "1", cwd=tmp_path)
    _, err = b.communicate(timeout=120)
    assert b.returncode == 2
    assert "being written by another codesign train" in _one_line(err)
    a.send_signal(signal.SIGTERM)
    _, err = a.communicate(timeout=60)
    assert a.returncode == 143, err
    assert _one_line(err) == "codesign train: terminated"
    assert {f.name: f.read_bytes() for f in run.iterdir()} == old  # the old run, whole


@pytest.mark.parametrize(
    ("signum", "status", "said"),
    [(signal.SIGINT, BY_CTRL_C, "interrupted"), (signal.SIGHUP, (129,), "hung up")],
)
def test_an_interrupted_train_into_a_new_directory_leaves_nothing(tmp_path, signum, status, said):
    """Ctrl-C, or the terminal closing (SIGHUP: was no line, and death by the signal)."""
    run = tmp_path / "new" / "R"
    a = _cli(
        "train", "--dataset", "digits", "--model", "mlp", "--hidden", "16", "--no-progress",
        "--epochs", "10000", "--out", str(run), cwd=tmp_path,
    )  # fmt: skip
    deadline = time.time() + 10  # until it holds the directory, or a while
    while not _flock_busy(str(run)) and time.time() < deadline and a.poll() is None:
        time.sleep(0.05)
    os.killpg(a.pid, signum)  # the whole group, as the terminal does
    try:
        _, err = a.communicate(timeout=20)
    except subprocess.TimeoutExpired:  # a Ctrl-C Python lost (docs/reliability.md, not
        os.killpg(a.pid, signum)  # covered): the user presses it again
        _, err = a.communicate(timeout=60)
    assert a.returncode in status and _one_line(err) == f"codesign train: {said}"
    assert not (tmp_path / "new").exists()


def test_a_cache_entry_cut_short_leaves_no_temporary_directory(tmp_path, tiny_run):
    """A network whose save into the cache fails (here a real file-size limit, as a full
    disk) left its ``.tmp-<key>-...`` directory behind."""
    from codesign.sweep.cache import TrainCache

    handler = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    resource.setrlimit(resource.RLIMIT_FSIZE, (1024, hard))
    try:
        with pytest.raises(InputError, match="could not be written"):
            TrainCache(tmp_path / "cache").store("k", tiny_run)
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
        signal.signal(signal.SIGXFSZ, handler)
    assert os.listdir(tmp_path / "cache") == []
