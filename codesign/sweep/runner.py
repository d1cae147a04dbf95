"""Run a sweep: one coordinator asks, workers evaluate, the coordinator tells.

The coordinator (the ``codesign sweep`` process) owns the study: it asks the
sampler for parameters, hands :class:`~codesign.sweep.objective.TrialTask`
objects to an executor, and records each result (or failure) as soon as it
arrives (results that arrive together in one transaction), so ``kill -9``
loses only trials in flight. Executors:

- ``jobs == 1``: evaluated in the coordinator itself;
- ``jobs > 1``: a pool of ``jobs`` local worker processes (spawned, so torch
  state is never forked);
- ``scheduler``: a Dask cluster at that address; as many trials in flight as
  the cluster has worker threads.

``spec.trials`` is the total of *finished* trials wanted (COMPLETE, or FAIL
with an error); a rerun tops the study up to it. Interrupted trials are
recovered first (see :mod:`codesign.sweep.storage`). With the grid sampler
each grid point is run once: points already finished, running or queued are
skipped. The random sampler asks in the coordinator only, so a seeded random
or grid sweep gives the same parameters whatever the executor.
"""

from __future__ import annotations

import concurrent.futures as cf
import math
import multiprocessing
import os
import sys
import time
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field

from accelerators import InputError

from . import storage as st
from .objective import TrialTask, evaluate_trial
from .spec import OBJECTIVES, SweepSpec

__all__ = ["SweepSummary", "connect_scheduler", "make_sampler", "pareto_front", "run_sweep"]


@dataclass
class SweepSummary:
    """What a sweep left in its study."""

    study: str
    storage: str
    objectives: list[str]
    trials_done: int
    trials_failed: int
    trials_interrupted: int
    front: list[dict] = field(default_factory=list)
    recovered: list[int] = field(default_factory=list)

    def to_dict(self) -> dict:
        return dict(self.__dict__)


def make_sampler(spec: SweepSpec):
    import optuna

    if spec.sampler == "tpe":
        return optuna.samplers.TPESampler(seed=spec.seed)
    if spec.sampler == "nsga2":
        return optuna.samplers.NSGAIISampler(seed=spec.seed, population_size=spec.population or 16)
    if spec.sampler == "grid":
        return _grid_points(spec.seed)
    return optuna.samplers.RandomSampler(seed=spec.seed)


def _grid_points(seed: int):
    """The grid sampler: returns the point the runner chose (``sampler.next_point``).

    The runner walks :meth:`SweepSpec.grid` in order and skips points the study
    already holds; a parameter missing from ``next_point`` falls back to random.
    """
    import optuna

    class GridPoints(optuna.samplers.RandomSampler):
        next_point: dict = {}

        def sample_independent(self, study, trial, name, distribution):
            if name in self.next_point:
                return self.next_point[name]
            return super().sample_independent(study, trial, name, distribution)

    return GridPoints(seed=seed)


def connect_scheduler(address: str, timeout_s: float = 5.0):
    """A Dask ``Client`` for ``address``; unreachable is one :class:`InputError`."""
    try:
        from distributed import Client
    except ImportError:  # pragma: no cover - the sweep extra installs it
        raise InputError.plain(
            "--dask-scheduler needs dask[distributed] (pip install codesign[sweep])"
        ) from None
    try:
        return Client(address, timeout=f"{timeout_s}s")
    except (OSError, TimeoutError, ValueError) as exc:
        raise InputError.plain(f"Dask scheduler {address!r} cannot be reached: {exc}") from None


def pareto_front(trials, objectives: list[str]) -> list:
    """The non-dominated COMPLETE trials under the objectives' directions."""
    sign = [1.0 if OBJECTIVES[o] == "minimize" else -1.0 for o in objectives]
    pts = [(t, [s * v for s, v in zip(sign, t.values, strict=True)]) for t in trials]
    front = []
    for t, a in pts:
        dominated = any(
            all(x <= y for x, y in zip(b, a, strict=True))
            and any(x < y for x, y in zip(b, a, strict=True))
            for _, b in pts
        )
        if not dominated:
            front.append(t)
    return sorted(front, key=lambda t: t.number)


class _Inline(cf.Executor):
    """Evaluates in the calling process (``--jobs 1``)."""

    def submit(self, fn, /, *args, **kwargs):
        fut = cf.Future()
        try:
            fut.set_result(fn(*args, **kwargs))
        except BaseException as exc:  # recorded as the trial's error
            if isinstance(exc, KeyboardInterrupt):
                raise
            fut.set_exception(exc)
        return fut


#: trials kept in flight per worker: one computing, one queued, so a worker that
#: finishes starts its next trial at once instead of waiting for the coordinator
#: to record the last one and start the next (~5 ms of coordinator CPU a trial)
PREFETCH = 2


def _executor(jobs: int, client):
    if client is not None:
        return client.get_executor(pure=False), PREFETCH * max(1, sum(client.nthreads().values()))
    if jobs <= 1:
        return _Inline(), 1
    ctx = multiprocessing.get_context("spawn")
    pool = cf.ProcessPoolExecutor(
        jobs, mp_context=ctx, initializer=_init_worker, initargs=(os.getpid(),)
    )
    return pool, PREFETCH * jobs


def _init_worker(coordinator: int) -> None:
    """Set up a worker process: one compute thread, and exit when the coordinator is gone.

    ``jobs`` workers share the cores. A coordinator killed with SIGKILL cannot
    stop its pool, so each worker watches that its parent is still ``coordinator``.
    """
    import threading

    threading.Thread(target=_exit_without, args=(coordinator,), daemon=True).start()
    os.environ["OMP_NUM_THREADS"] = os.environ["MKL_NUM_THREADS"] = "1"  # torch, if imported later
    os.environ["OPENBLAS_NUM_THREADS"] = "1"
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - comes with scikit-learn
        return
    threadpool_limits(1)


def _exit_without(coordinator: int, every_s: float = 1.0) -> None:
    """Exit this process once its parent is no longer ``coordinator`` (checked every ``every_s`` s)."""
    while os.getppid() == coordinator:
        time.sleep(every_s)
    os._exit(1)


def _error_text(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


def run_sweep(
    spec: SweepSpec,
    *,
    storage: str | None = None,
    study_name: str | None = None,
    jobs: int = 1,
    scheduler: str | None = None,
    cache_dir: str = "runs/cache",
    progress: bool = True,
    evaluate=evaluate_trial,
) -> SweepSummary:
    """Run (or continue) the sweep; returns its summary.

    ``evaluate`` is the trial function (a picklable top-level callable of a
    :class:`TrialTask`); every problem with the inputs (storage URL,
    scheduler, a study made by another sweep) raises :class:`InputError`
    before any trial starts.
    """
    if not isinstance(jobs, int) or jobs < 1:
        raise InputError("--jobs", jobs, "an integer >= 1")
    url = storage or spec.storage or st.default_storage_url(spec.name)
    name = study_name or spec.name
    # the scheduler first: an unreachable one must not leave a new, empty study file behind
    client = connect_scheduler(scheduler) if scheduler else None
    try:
        store = st.open_storage(url)
    except BaseException:
        if client is not None:
            client.close()
        raise
    try:
        study = st.open_study(store, spec, name, make_sampler(spec))
        recovered = st.recover_stale(study)
        st.register_coordinator(study)
        return _loop(spec, study, url, name, jobs, client, cache_dir, progress, evaluate, recovered)
    finally:
        if client is not None:
            client.close()


def _counts(study):
    from optuna.trial import TrialState

    trials = study.get_trials(deepcopy=False)
    interrupted = [
        t for t in trials if t.state == TrialState.FAIL and t.user_attrs.get("interrupted")
    ]
    finished = [
        t
        for t in trials
        if t.state == TrialState.COMPLETE
        or (t.state == TrialState.FAIL and not t.user_attrs.get("interrupted"))
    ]
    return trials, finished, interrupted


def _key(params: dict) -> str:
    import json

    return json.dumps(params, sort_keys=True)


def _loop(spec, study, url, name, jobs, client, cache_dir, progress, evaluate, recovered):
    from optuna.trial import TrialState
    from tqdm import tqdm

    trials, finished, interrupted = _counts(study)
    busy = {TrialState.RUNNING, TrialState.WAITING}
    complete = [t for t in finished if t.state == TrialState.COMPLETE]
    n_failed = len(finished) - len(complete)
    grid_left = []
    if spec.sampler == "grid":
        done_ids = {t.number for t in finished}
        seen = {_key(t.params) for t in trials if t.number in done_ids or t.state in busy}
        grid_left = [p for p in spec.grid() if _key(p) not in seen]
    dists = spec.distributions()
    sign = [1.0 if OBJECTIVES[o] == "minimize" else -1.0 for o in spec.objectives]
    front: list = []  # signed objective values of the Pareto front, for the progress bar
    for t in complete:
        front = _front_add(front, t.values, sign)

    executor, width = _executor(jobs, client)
    bar = tqdm(
        total=spec.trials,
        initial=min(len(finished), spec.trials),
        desc=f"sweep {name}",
        unit="trial",
        file=sys.stderr,
        disable=not progress,
        dynamic_ncols=True,
    )
    bar.set_postfix(failed=n_failed, front=len(front))
    inflight: dict = {}
    last_beat = time.monotonic()

    states = (TrialState.COMPLETE, TrialState.FAIL, TrialState.RUNNING, TrialState.WAITING)
    n_interrupted = len(interrupted)

    def want_more() -> tuple[bool, bool]:
        """Whether another trial is wanted, and whether a re-queued one waits.

        Counted from storage: other sweep processes may share this study.
        """
        counts = st.trial_counts(study)
        waiting = counts[TrialState.WAITING] > 0
        if spec.sampler == "grid" and not grid_left and not waiting:
            return False, waiting  # every grid point is done, running or queued
        return sum(counts[s] for s in states) - n_interrupted < spec.trials, waiting

    try:
        while True:
            while len(inflight) < width:
                more, waiting = want_more()
                if not more:
                    break
                trial_id, number, params = _next_trial(spec, study, dists, grid_left, waiting)
                task = TrialTask(spec, params, number, os.path.abspath(cache_dir))
                inflight[executor.submit(evaluate, task)] = trial_id
            if not inflight:
                break
            done, _ = cf.wait(
                list(inflight), timeout=st.HEARTBEAT_S, return_when=cf.FIRST_COMPLETED
            )
            if time.monotonic() - last_beat > st.HEARTBEAT_S:
                st.beat(study, list(inflight.values()))
                last_beat = time.monotonic()
            results = []
            for fut in done:
                trial_id = inflight.pop(fut)
                try:
                    out = fut.result()
                    _check_values(out["values"], len(spec.objectives))
                except Exception as exc:  # the trial failed: record it, go on
                    if isinstance(exc, BrokenProcessPool):  # a worker died (e.g. OOM)
                        executor.shutdown(wait=False, cancel_futures=True)
                        executor, width = _executor(jobs, client)
                    results.append((trial_id, None, {"error": _error_text(exc)}))
                    n_failed += 1
                else:
                    results.append((trial_id, out["values"], out["user_attrs"]))
                    front = _front_add(front, out["values"], sign)
            st.finish_trials(study, results)  # one transaction for all that finished together
            bar.update(len(results))
            bar.set_postfix(failed=n_failed, front=len(front))
    finally:
        bar.close()
        if isinstance(executor, cf.ProcessPoolExecutor):
            executor.shutdown(wait=not inflight, cancel_futures=True)
    return summarize(study, url, name, recovered)


def _check_values(values, n: int) -> None:
    """What Optuna's ``tell`` would refuse: a value per objective, none NaN."""
    if len(values) != n or any(math.isnan(v) for v in values):
        raise ValueError(f"a trial must return {n} objective values, none NaN; got {values!r}")


def _next_trial(spec, study, dists: dict, grid_left: list, waiting: bool) -> tuple[int, int, dict]:
    """Start the next trial (recorded RUNNING); returns ``(trial_id, number, params)``.

    Grid and random sweeps choose the parameters here (the next grid point, or
    the random sampler's draws in the order Optuna's ``ask`` makes them) and
    create the trial in one transaction (:func:`storage.start_trial`). A
    re-queued trial (``waiting``) and the TPE / NSGA-II samplers go through ``ask``.
    """
    point = grid_left[0] if grid_left else None
    if spec.sampler in ("grid", "random") and not waiting:
        params = point if point is not None else _draw(study, dists)
        trial_id, number = st.start_trial(study, params, dists)
    else:
        study.sampler.next_point = point or {}
        trial = study.ask(fixed_distributions=dists)
        st.mark_running(study, trial._trial_id)
        trial_id, number, params = trial._trial_id, trial.number, dict(trial.params)
    if point is not None and _key(params) == _key(point):
        grid_left.pop(0)  # (else ask ran a queued trial first; the point waits)
    return trial_id, number, params


def _draw(study, dists: dict) -> dict:
    """Random parameters, drawn as ``ask(fixed_distributions=dists)`` draws them."""
    from optuna.distributions import _get_single_value

    return {
        name: _get_single_value(d)
        if d.single()
        else study.sampler.sample_independent(study, None, name, d)
        for name, d in dists.items()
    }


def _front_add(front: list, values: list, sign: list) -> list:
    """The Pareto front (signed value vectors) after adding ``values``; same as recomputing it."""
    a = [s * v for s, v in zip(sign, values, strict=True)]

    def dominates(b, c) -> bool:
        return all(x <= y for x, y in zip(b, c, strict=True)) and b != c

    if any(dominates(b, a) for b in front):
        return front
    return [b for b in front if not dominates(a, b)] + [a]


def summarize(study, url: str, name: str, recovered=()) -> SweepSummary:
    from optuna.trial import TrialState

    trials, finished, interrupted = _counts(study)
    complete = [t for t in finished if t.state == TrialState.COMPLETE]
    objectives = list(study.user_attrs.get("objectives", []))
    front = [
        {
            "number": t.number,
            "values": {o: _num(v) for o, v in zip(objectives, t.values, strict=True)},
            "params": dict(t.params),
        }
        for t in pareto_front(complete, objectives)
    ]
    return SweepSummary(
        study=name,
        storage=url,
        objectives=objectives,
        trials_done=len(complete),
        trials_failed=len(finished) - len(complete),
        trials_interrupted=len(interrupted),
        front=front,
        recovered=list(recovered),
    )


def _num(v: float) -> float | None:
    return None if v is None or math.isnan(v) else v
