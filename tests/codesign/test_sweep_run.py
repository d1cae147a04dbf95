"""Running sweeps: contract-3 trials, resume, failures, parallel workers, Dask, bad reruns."""

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time

import optuna
import pytest
from optuna.trial import TrialState
from test_sweep_helpers import failing_on_n_pe_2, nan_on_n_pe_4, sim_sweep

from accelerators import InputError
from codesign.sweep import load_spec, run_sweep

METRICS = {"accuracy", "sparsity", "area_mm2", "latency_us", "energy_uj", "cycles", "size_kib"}


def url(tmp_path, name="tiny"):
    return f"sqlite:///{tmp_path}/{name}.db"


def _sweep_cmd(path, *args) -> list[str]:
    """``codesign sweep PATH --no-progress ARGS`` as a subprocess command line."""
    return [sys.executable, "-m", "codesign.cli.main", "sweep", path, "--no-progress", *args]


def trials_of(tmp_path, name="tiny", study="tiny"):
    return optuna.load_study(study_name=study, storage=url(tmp_path, name)).get_trials()


def results(trials):
    """Comparable content of finished trials: params -> values (and state)."""
    return sorted(
        (json.dumps(t.params, sort_keys=True), t.state.name, tuple(t.values or ()))
        for t in trials
        if t.state in (TrialState.COMPLETE, TrialState.FAIL)
    )


def test_grid_sweep_stores_contract_3_and_reruns_add_nothing(tmp_path):
    spec = load_spec(sim_sweep(tmp_path))
    s = run_sweep(spec, storage=url(tmp_path), progress=False, cache_dir=str(tmp_path / "cache"))
    assert (s.trials_done, s.trials_failed) == (8, 0)
    study = optuna.load_study(study_name="tiny", storage=url(tmp_path))
    assert study.user_attrs["objectives"] == ["latency_us", "area_mm2"]
    assert [d.name for d in study.directions] == ["MINIMIZE", "MINIMIZE"]
    trials = study.get_trials()
    assert sorted(json.dumps(t.params, sort_keys=True) for t in trials) == sorted(
        json.dumps(p, sort_keys=True) for p in spec.grid()
    )
    t = trials[0]
    ua = t.user_attrs
    assert set(ua["metrics"]) == METRICS and ua["metrics"]["accuracy"] is None
    assert ua["hw_config"]["n_pe"] == t.params["hw.n_pe"]
    assert ua["hw_report"]["fidelity"] == "analytical"
    assert t.values == [ua["metrics"]["latency_us"], ua["metrics"]["area_mm2"]]
    assert ua["method"] == "sparse-ternary" and ua["train_config"] is None
    # more PEs never cost less area: the front holds the 1-PE corner
    assert any(f["params"]["hw.n_pe"] == 1 for f in s.front)
    again = run_sweep(spec, storage=url(tmp_path), progress=False)
    assert again.trials_done == 8 and len(trials_of(tmp_path)) == 8


def test_random_sweep_tops_up_to_the_new_trial_count(tmp_path):
    spec = load_spec(sim_sweep(tmp_path, sampler="random", trials=3))
    run_sweep(spec, storage=url(tmp_path), progress=False)
    first = results(trials_of(tmp_path))
    spec5 = load_spec(sim_sweep(tmp_path, sampler="random", trials=5))
    s = run_sweep(spec5, storage=url(tmp_path), progress=False)
    assert s.trials_done == 5
    now = results(trials_of(tmp_path))
    assert set(first) <= set(now) and len(now) == 5


def test_a_failing_trial_is_recorded_and_the_sweep_goes_on(tmp_path):
    spec = load_spec(sim_sweep(tmp_path))
    s = run_sweep(spec, storage=url(tmp_path), progress=False, evaluate=failing_on_n_pe_2)
    assert (s.trials_done, s.trials_failed) == (6, 2)
    failed = [t for t in trials_of(tmp_path) if t.state == TrialState.FAIL]
    assert {t.params["hw.n_pe"] for t in failed} == {2}
    assert all(t.user_attrs["error"] == "RuntimeError: boom on n_pe=2" for t in failed)
    # a rerun does not retry trials that failed with an error
    run_sweep(spec, storage=url(tmp_path), progress=False)
    assert len(trials_of(tmp_path)) == 8


def test_the_command_exits_4_while_the_study_holds_failed_trials(tmp_path):
    """A script can tell a sweep whose trials all completed (0) from one that ran to its end
    with failures (4); the table says where the errors are."""
    path = sim_sweep(tmp_path)
    run_sweep(load_spec(path), storage=url(tmp_path), progress=False, evaluate=failing_on_n_pe_2)
    out = subprocess.run(
        _sweep_cmd(path, "--storage", url(tmp_path)), capture_output=True, text=True
    )
    assert out.returncode == 4, out.stderr
    assert "6 trials done, 2 failed" in out.stdout
    assert "2 trials failed: their errors are the export's error column" in out.stdout
    js = subprocess.run(
        _sweep_cmd(path, "--storage", url(tmp_path), "--json"), capture_output=True, text=True
    )
    assert js.returncode == 4 and json.loads(js.stdout)["trials_failed"] == 2
    clean = subprocess.run(
        _sweep_cmd(path, "--storage", url(tmp_path, "clean")), capture_output=True, text=True
    )
    assert clean.returncode == 0 and "failed: their errors" not in clean.stdout


def test_a_nan_objective_fails_the_trial_as_optuna_tell_would(tmp_path):
    spec = load_spec(sim_sweep(tmp_path))
    s = run_sweep(spec, storage=url(tmp_path), progress=False, evaluate=nan_on_n_pe_4)
    assert (s.trials_done, s.trials_failed) == (6, 2)
    failed = [t for t in trials_of(tmp_path) if t.state == TrialState.FAIL]
    assert {t.params["hw.n_pe"] for t in failed} == {4} and not any(t.values for t in failed)
    assert all(
        t.user_attrs["error"].startswith("ValueError: a trial must return 2") for t in failed
    )


@pytest.mark.parametrize("kind", ["sqlite", "journal"])
def test_a_queued_trial_is_claimed_once_and_finished_once(tmp_path, kind):
    from optuna.distributions import CategoricalDistribution

    from codesign.study import StudyStore

    u = url(tmp_path) if kind == "sqlite" else f"journal://{tmp_path}/c.log"
    a, created = StudyStore.create(u, "s", ["minimize"], {"objectives": ["latency_us"]})
    b, again = StudyStore.create(u, "s", ["minimize"], {"objectives": ["latency_us"]})
    assert (created, again) == (True, False)
    dists = {"hw.zero_skip": CategoricalDistribution(["none", "weights"])}
    tid = a.enqueue({"hw.zero_skip": "none"}, dists, {})
    assert a.claim(tid) is True and b.claim(tid) is False
    assert b.finish(tid, [2.0], {"metrics": {"x": 1}}) is True
    assert a.finish(tid, [9.0], {"error": "late"}) is False  # already finished: kept
    t = StudyStore.open(u).trial(0)
    assert (t.state, t.values, t.user_attrs) == (TrialState.COMPLETE, [2.0], {"metrics": {"x": 1}})


def test_random_draws_depend_only_on_the_seed_and_the_trial_number(tmp_path):
    a = load_spec(sim_sweep(tmp_path, sampler="random", trials=5))
    run_sweep(a, storage=url(tmp_path, "one"), progress=False)
    run_sweep(a, storage=url(tmp_path, "two"), progress=False, jobs=2)
    one = [t.params for t in trials_of(tmp_path, "one", "tiny")]
    two = [t.params for t in trials_of(tmp_path, "two", "tiny")]
    assert one == two and len({json.dumps(p, sort_keys=True) for p in one}) == 5


def test_two_worker_processes_give_the_same_results_as_one(tmp_path):
    spec = load_spec(sim_sweep(tmp_path, sampler="random", trials=6))
    run_sweep(spec, storage=url(tmp_path, "one"), study_name="tiny", progress=False)
    run_sweep(spec, storage=url(tmp_path, "two"), study_name="tiny", jobs=2, progress=False)
    one = optuna.load_study(study_name="tiny", storage=url(tmp_path, "one")).get_trials()
    two = optuna.load_study(study_name="tiny", storage=url(tmp_path, "two")).get_trials()
    assert results(one) == results(two) and len(one) == 6


def test_dask_local_cluster_gives_the_same_results(tmp_path):
    from distributed import LocalCluster

    spec = load_spec(sim_sweep(tmp_path))
    run_sweep(spec, storage=url(tmp_path, "local"), study_name="tiny", progress=False)
    with LocalCluster(
        n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None
    ) as cluster:
        s = run_sweep(
            spec,
            storage=url(tmp_path, "dask"),
            study_name="tiny",
            scheduler=cluster.scheduler_address,
            progress=False,
        )
    assert s.trials_done == 8
    local = optuna.load_study(study_name="tiny", storage=url(tmp_path, "local")).get_trials()
    dask = optuna.load_study(study_name="tiny", storage=url(tmp_path, "dask")).get_trials()
    assert results(local) == results(dask)


@pytest.mark.parametrize("n_procs", [2, 3])
def test_sweep_processes_sharing_a_grid_study_run_each_point_exactly_once(tmp_path, n_procs):
    extra = '"hw.fifo_depth" = [2, 4, 8]\n"hw.zero_skip" = ["weights", "none"]'
    path = sim_sweep(tmp_path, extra_search=extra)  # 48 grid points
    cmd = _sweep_cmd(path, "--storage", url(tmp_path))
    procs = [
        subprocess.Popen(cmd, cwd=tmp_path, stderr=subprocess.PIPE, text=True)
        for _ in range(n_procs)
    ]
    for p in procs:
        assert p.wait(timeout=300) == 0, p.stderr.read()
    trials = trials_of(tmp_path)
    keys = [json.dumps(t.params, sort_keys=True) for t in trials if t.state == TrialState.COMPLETE]
    grid = {json.dumps(p, sort_keys=True) for p in load_spec(path).grid()}
    assert len(keys) == len(set(keys)) == 48 and set(keys) == grid
    assert all(t.state == TrialState.COMPLETE for t in trials)  # nothing duplicated or lost
    rerun = subprocess.run(cmd + ["--json"], cwd=tmp_path, capture_output=True, text=True)
    assert json.loads(rerun.stdout)["trials_done"] == 48 and len(trials_of(tmp_path)) == 48


def test_random_sweep_processes_sharing_a_study_draw_distinct_points(tmp_path):
    path = sim_sweep(tmp_path, sampler="random", trials=6, fidelity="simpy")
    cmd = _sweep_cmd(path, "--storage", url(tmp_path))
    procs = [subprocess.Popen(cmd, cwd=tmp_path, stderr=subprocess.PIPE, text=True) for _ in "ab"]
    for p in procs:
        assert p.wait(timeout=240) == 0, p.stderr.read()
    done = [t for t in trials_of(tmp_path) if t.state == TrialState.COMPLETE]
    keys = {json.dumps(t.params, sort_keys=True) for t in done}
    # each coordinator may overshoot by its one trial in flight, never with a repeated point
    assert 6 <= len(keys) == len(done) <= 8


def _n_complete(db: str) -> int:
    try:
        with sqlite3.connect(db, timeout=5) as con:
            return con.execute("select count(*) from trials where state = 'COMPLETE'").fetchone()[0]
    except sqlite3.OperationalError:
        return 0


def _children(pid: int) -> list[int]:
    """Process ids whose parent is ``pid`` (Linux /proc)."""
    kids = []
    for entry in os.listdir("/proc"):
        try:
            with open(f"/proc/{entry}/stat") as f:
                ppid = int(f.read().rpartition(")")[2].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        if ppid == pid:
            kids.append(int(entry))
    return kids


def _running(pid: int) -> bool:
    """Whether ``pid`` exists and is not a zombie."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rpartition(")")[2].split()[0] != "Z"
    except OSError:
        return False


@pytest.mark.parametrize("jobs", [1, 2])
def test_sigkill_mid_sweep_loses_nothing_and_the_rerun_duplicates_nothing(tmp_path, jobs):
    from codesign.sweep.runner import PREFETCH

    extra = '"hw.fifo_depth" = [2, 4, 8]'
    path = sim_sweep(tmp_path, fidelity="simpy", extra_search=extra)  # 24 grid points
    cmd = _sweep_cmd(path, "--storage", url(tmp_path), f"--jobs={jobs}")
    proc = subprocess.Popen(cmd, cwd=tmp_path, stderr=subprocess.DEVNULL)
    db = str(tmp_path / "tiny.db")
    deadline = time.time() + 120
    while _n_complete(db) < 3 and time.time() < deadline and proc.poll() is None:
        time.sleep(0.02)
    workers = _children(proc.pid)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    deadline = time.time() + 10  # orphaned workers notice within a second and exit
    while any(map(_running, workers)) and time.time() < deadline:
        time.sleep(0.1)
    assert not any(map(_running, workers))
    before = {t.number: t for t in trials_of(tmp_path) if t.state == TrialState.COMPLETE}
    assert 3 <= len(before) < 24, "the sweep must be killed mid-way"
    out = subprocess.run(
        cmd + ["--json"], cwd=tmp_path, capture_output=True, text=True, timeout=240
    )
    assert out.returncode == 0, out.stderr
    summary = json.loads(out.stdout)
    after = trials_of(tmp_path)
    complete = [t for t in after if t.state == TrialState.COMPLETE]
    for n, t in before.items():  # finished trials kept as they were
        assert after[n].state == TrialState.COMPLETE and after[n].values == t.values
    keys = [json.dumps(t.params, sort_keys=True) for t in complete]
    assert len(keys) == len(set(keys)) == 24 == summary["trials_done"]  # every grid point once
    for t in after:
        if t.state == TrialState.FAIL:  # the trials in flight at the kill
            assert t.user_attrs["interrupted"] and "interrupted" in t.user_attrs["error"]
    in_flight = 1 if jobs == 1 else PREFETCH * jobs  # at most, when the kill came
    assert summary["trials_interrupted"] == sum(t.state == TrialState.FAIL for t in after)
    assert summary["trials_interrupted"] <= in_flight


def test_bad_reruns_fail_before_any_trial_and_leave_the_study_unchanged(tmp_path):
    spec = load_spec(sim_sweep(tmp_path, sampler="random", trials=3))
    run_sweep(spec, storage=url(tmp_path), progress=False)
    before = results(trials_of(tmp_path))
    other = load_spec(
        sim_sweep(tmp_path, sampler="random", trials=3, extra_search='"hw.fifo_depth" = [2, 4]')
    )
    with pytest.raises(InputError, match="different sweep"):
        run_sweep(other, storage=url(tmp_path), progress=False)
    with pytest.raises(InputError, match="Dask scheduler"):
        run_sweep(spec, storage=url(tmp_path), scheduler="tcp://127.0.0.1:9", progress=False)
    with pytest.raises(InputError, match="cannot be opened"):
        run_sweep(spec, storage="postgresql://nobody@127.0.0.1:9/x", progress=False)
    with pytest.raises(InputError, match="--jobs"):
        run_sweep(spec, storage=url(tmp_path), jobs=0, progress=False)
    assert results(trials_of(tmp_path)) == before


def test_cli_json_summary_and_dashboard_hint(tmp_path):
    path = sim_sweep(tmp_path)
    cmd = _sweep_cmd(path)
    out = subprocess.run(
        cmd + ["--json"], cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr
    s = json.loads(out.stdout)
    assert s["storage"] == "sqlite:///runs/tiny.db" and s["trials_done"] == 8 and s["front"]
    assert (tmp_path / "runs" / "tiny.db").is_file()
    text = subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True, timeout=120).stdout
    assert "codesign dash --storage sqlite:///runs/tiny.db" in text and "latency, steady state (us)" in text


def test_a_trial_claimed_by_a_process_that_died_before_leasing_it_is_recovered(tmp_path):
    spec = load_spec(sim_sweep(tmp_path, sampler="random", trials=3))
    code = (
        "from codesign.study import StudyStore\n"
        "from codesign.sweep import recovery\n"
        f"s, _ = StudyStore.create({url(tmp_path)!r}, 'tiny', ['minimize', 'minimize'], "
        "{'objectives': ['latency_us', 'area_mm2']})\n"
        "recovery.register_coordinator(s)\n"
        "s.optuna_study().ask()\n"  # RUNNING, no lease: then the process exits
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=tmp_path)
    s = run_sweep(spec, storage=url(tmp_path), progress=False)
    assert s.recovered == [0] and s.trials_done == 3


def test_unreachable_scheduler_creates_no_study_file(tmp_path):
    spec = load_spec(sim_sweep(tmp_path, sampler="random", trials=1))
    db = tmp_path / "fresh.db"
    with pytest.raises(InputError, match="Dask scheduler"):
        run_sweep(spec, storage=f"sqlite:///{db}", scheduler="tcp://127.0.0.1:9", progress=False)
    assert not db.exists()


def test_a_killed_worker_fails_only_its_own_trials_and_they_are_retried_once(tmp_path):
    from test_sweep_helpers import dies_once_on_n_pe_4

    from codesign.sweep.pool import PREFETCH

    spec = load_spec(sim_sweep(tmp_path, fidelity="simpy"))  # 8 grid points, 2 with n_pe = 4
    cache = str(tmp_path / "cache")
    s = run_sweep(
        spec, storage=url(tmp_path), jobs=2, progress=False, cache_dir=cache,
        evaluate=dies_once_on_n_pe_4,
    )  # fmt: skip
    trials = trials_of(tmp_path)
    failed = [t for t in trials if t.state == TrialState.FAIL]
    assert 1 <= len(failed) <= PREFETCH  # the dead worker's trials, not the healthy one's
    for t in failed:
        assert t.user_attrs["requeued"] and "died" in t.user_attrs["error"]
    complete = [json.dumps(t.params, sort_keys=True) for t in trials
                if t.state == TrialState.COMPLETE]  # fmt: skip
    assert len(complete) == len(set(complete)) == 8 and (s.trials_done, s.trials_failed) == (8, 0)


def test_a_trial_that_kills_its_worker_every_time_fails_after_one_retry(tmp_path):
    from test_sweep_helpers import always_dies_on_n_pe_4

    spec = load_spec(sim_sweep(tmp_path, fidelity="simpy"))
    s = run_sweep(
        spec, storage=url(tmp_path), jobs=2, progress=False, evaluate=always_dies_on_n_pe_4
    )
    trials = trials_of(tmp_path)
    final = [t for t in trials if t.state == TrialState.FAIL and not t.user_attrs.get("requeued")]
    assert sorted(t.params["hw.n_pe"] for t in final) == [4, 4]
    assert (s.trials_done, s.trials_failed) == (6, 2)
    for lanes in (1, 2):  # each n_pe = 4 point: tried, retried once, then failed for good
        tries = [t for t in trials if t.params == {"hw.n_pe": 4, "hw.lanes_per_pe": lanes}]
        assert [t.state for t in tries] == [TrialState.FAIL, TrialState.FAIL]
        assert tries[0].user_attrs["requeued"] and not tries[1].user_attrs.get("requeued")


def test_size_kib_is_the_weight_storage_the_pes_hold(tmp_path):
    # dense (sparsity 0): every weight is one stored entry, no padding entries are needed
    path = sim_sweep(tmp_path)
    text = open(path).read().replace("sparsity = 0.8", "sparsity = 0.0")
    open(path, "w").write(text)
    run_sweep(load_spec(path), storage=url(tmp_path), progress=False)
    for t in trials_of(tmp_path):
        bits = (48 * 24 + 24 * 10) * (t.user_attrs["hw_config"]["index_bits"] + 1)
        assert t.user_attrs["metrics"]["size_kib"] == bits / 8192  # e.g. 1,392 x 6 bits
