"""Run a sweep: a coordinator claims trials in the study, workers evaluate, the coordinator records.

Executors (:mod:`codesign.sweep.pool`): ``--jobs 1`` runs trials in the
coordinator; ``--jobs N`` in N local worker processes; ``--dask-scheduler``
on a Dask cluster. Only the coordinator touches the study.

Several coordinators (sweep commands) may share one study, on one host or
many:

- **Grid**: the grid's points are queued in the study as WAITING trials (by the
  process that created the study, or, on a rerun, by whoever finds points
  missing), and each coordinator *claims* one in one storage transaction
  (WAITING -> RUNNING) before it runs it, so every point runs exactly once.
- **Random**: a trial's parameters are drawn from the sweep seed and the trial's
  number, which the storage hands out uniquely, so coordinators never repeat
  each other's draws and a seeded sweep gives the same points whatever the executor.
- **TPE / NSGA-II**: Optuna's ``ask`` (queued trials first).

``spec.trials`` counts *distinct finished points* (COMPLETE, or FAIL with an
error); a trial that repeats a finished or running point is recorded PRUNED
with ``duplicate_of`` and not run. A rerun tops the study up to ``spec.trials``;
trials of a dead coordinator are recovered first (:mod:`codesign.sweep.recovery`),
and a trial whose worker process died is retried once. A coordinator stopped by
Ctrl-C or SIGTERM (a ``KeyboardInterrupt``) hands its running trials back to
the study, queued again, before the interrupt goes on to the caller.
"""

from __future__ import annotations

import math
import sys
import time

from accelerators import InputError
from codesign.study import ATTR, STUDY_ATTR, StudyStore

from . import recovery
from .checks import as_written
from .objective import TrialTask, evaluate_trial
from .pool import PREFETCH, connect_scheduler, make_pool
from .samplers import make_sampler, point_key
from .spec import SweepSpec
from .summary import SweepSummary, summarize
from .summary import settled as _settled

__all__ = ["PREFETCH", "SweepSummary", "connect_scheduler", "make_sampler", "run_sweep"]

#: system attribute: how many grid points have been queued (set by whoever queued them)
QUEUED = "codesign:grid_queued"
#: how long a coordinator waits for another one to finish queueing the grid
QUEUE_WAIT_S = 15.0
#: a trial whose worker died is queued again this many times at most
MAX_RETRIES = 1


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
    device: str | None = None,
) -> SweepSummary:
    """Run (or continue) the sweep; returns its summary.

    ``device`` (``auto`` | ``cpu`` | ``cuda``) is where trials train, overriding the
    file's ``[train] device`` (default ``auto``: CUDA when the worker has it; the
    simulator always runs on the CPU). It is not part of the study's identity: a study
    may be continued on another device, and each trial records the one it used.

    ``evaluate`` is the trial function (a picklable top-level callable of a
    :class:`TrialTask`). Every problem with the inputs (storage URL, scheduler,
    a study made by another sweep) raises :class:`InputError` before any trial
    starts, and a new study is created only after everything else checked out.
    """
    import os

    if not isinstance(jobs, int) or isinstance(jobs, bool) or not 1 <= jobs <= 256:
        raise InputError("--jobs", jobs, "an integer from 1 to 256")
    spec = spec.with_device(device)
    url = storage or spec.storage or f"sqlite:///runs/{spec.name}.db"
    name = study_name or spec.name
    dists = spec.distributions()
    sampler = make_sampler(spec)  # fails now, not after the study exists
    if spec.trains and not scheduler:  # not after each trial trained (a Dask worker checks its own)
        _check_cache_dir(cache_dir)
    # the scheduler first: an unreachable one must not leave a new, empty study file behind
    client = connect_scheduler(scheduler) if scheduler else None
    pool = None
    try:
        try:
            store = _open_study(url, name, spec)
        except InputError as exc:  # a URL from the sweep file is named as the file does
            if storage or exc.field != "--storage":
                raise
            raise as_written(exc, "study.storage") from None
        recovered = recovery.recover_stale(store, dists)
        recovery.register_coordinator(store)
        if spec.sampler == "grid":
            _queue_grid(store, spec, dists)
        pool = make_pool(evaluate, jobs, client)
        sweep = _Coordinator(spec, store, dists, sampler, os.path.abspath(cache_dir))
        sweep.run(pool, progress)
        return summarize(store, recovered)
    finally:
        if pool is not None:
            pool.close()
        if client is not None:
            client.close()


def _check_cache_dir(cache_dir: str) -> None:
    """Refuse a trained-network cache that cannot be written (a file, no permission):
    otherwise every trial trains, then fails to store its network."""
    from codesign.files import check_writable_dir

    try:
        check_writable_dir(cache_dir)
    except InputError as exc:
        raise InputError.plain(f"--cache-dir {cache_dir!r}: {exc}") from None


def _open_study(url: str, name: str, spec: SweepSpec) -> StudyStore:
    """The study ``name``, created from ``spec`` if absent; refused if another sweep made it."""
    attrs = {
        STUDY_ATTR.SWEEP: spec.to_dict(),
        STUDY_ATTR.SWEEP_IDENTITY: spec.identity(),
        STUDY_ATTR.OBJECTIVES: list(spec.objectives),
    }
    store, created = StudyStore.create(url, name, spec.directions, attrs)
    if created:
        return store
    for _ in range(50):  # its creator may still be writing the study attributes
        have = store.user_attrs
        if STUDY_ATTR.OBJECTIVES in have:
            break
        time.sleep(0.1)
    if (
        STUDY_ATTR.OBJECTIVES not in have
        and not store.trials()
        and store.directions == list(spec.directions)
    ):
        # its creator was stopped (kill -9, Ctrl-C) between making the study and naming
        # it: nothing is stored yet, so this sweep finishes the creation
        store.set_user_attrs(attrs)
        return store
    if have.get(STUDY_ATTR.OBJECTIVES) != list(spec.objectives):
        raise InputError.plain(
            f"study {name!r} exists with objectives {have.get(STUDY_ATTR.OBJECTIVES)}; "
            f"this sweep asks for {list(spec.objectives)} (use another study name)"
        )
    old, new = have.get(STUDY_ATTR.SWEEP_IDENTITY), spec.identity()
    if old is not None and old != new:
        diff = sorted(k for k in set(old) | set(new) if old.get(k) != new.get(k))
        raise InputError.plain(
            f"study {name!r} was made by a different sweep (differs in: "
            f"{', '.join(diff)}); use another study name to start a new one"
        )
    return store


def _queue_grid(store: StudyStore, spec: SweepSpec, dists: dict) -> None:
    """Queue the grid points (the first ``spec.trials``) that no trial holds yet.

    When another live coordinator is queueing them (it created the study a
    moment ago), wait for it to finish instead of queueing the same points twice.
    """
    want = spec.grid()[: spec.trials]
    deadline = time.time() + QUEUE_WAIT_S
    while (
        store.system_attrs.get(QUEUED, 0) < len(want)
        and recovery.coordinators_alive(store)
        and len(store.trials()) < len(want)
        and time.time() < deadline
    ):
        time.sleep(0.2)
    have = {point_key(t.params) for t in store.trials() if _settled(t)}
    for i, p in enumerate(want):
        if point_key(p) not in have:
            store.enqueue(p, dists, {"codesign:grid_point": i})
    store.set_study_system_attr(QUEUED, len(want))


class _Coordinator:
    """The claim -> evaluate -> record loop of one sweep process."""

    def __init__(self, spec, store, dists, sampler, cache_dir):
        self.spec, self.store, self.dists, self.cache_dir = spec, store, dists, cache_dir
        self.sampler = sampler
        self.study = store.optuna_study(sampler) if spec.sampler != "grid" else None
        self.inflight: dict[int, tuple[int, dict]] = {}  # trial_id -> (number, params)
        self.held: set[int] = set()  # trial ids claimed or asked here, not yet recorded
        self.waiting: list[int] = []  # queued trial ids this process may claim, in order
        self.points: dict[str, int] = {}  # settled or running point -> its trial number
        self.n_done = self.n_failed = 0
        self.duplicates_in_a_row = 0
        self.exhausted = False
        for t in store.trials():
            self._note(t)

    def _note(self, t) -> None:
        from optuna.trial import TrialState

        if not _settled(t) or t.state == TrialState.WAITING:
            return
        key = point_key(t.params)
        if key not in self.points or t.state != TrialState.RUNNING:
            self.points[key] = t.number
        if t.state == TrialState.COMPLETE:
            self.n_done += 1
        elif t.state == TrialState.FAIL:
            self.n_failed += 1

    # -- choosing trials ------------------------------------------------------------------
    def _claim_queued(self):
        """Claim the next queued trial; ``(trial_id, number, params)`` or None."""
        from optuna.trial import TrialState

        for attempt in range(2):
            while self.waiting:
                tid = self.waiting.pop(0)
                if self.store.claim(tid):
                    self.held.add(tid)  # ours from here on: handed back if interrupted
                    t = self.store.trial_by_id(tid)
                    self.store.set_trial_system_attrs(tid, {recovery.LEASE: recovery.lease()})
                    return tid, t.number, dict(t.params)
            if attempt == 0:
                waiting = self.store.trials((TrialState.WAITING,))
                self.waiting = [self.store.trial_id(t.number) for t in waiting]
        return None

    def _ask(self):
        """A new trial from the sampler (queued trials first); ``(trial_id, number, params)``."""
        trial = self.study.ask(fixed_distributions=self.dists)
        tid = self.store.trial_id(trial.number)
        self.held.add(tid)
        self.store.set_trial_system_attrs(tid, {recovery.LEASE: recovery.lease()})
        return tid, trial.number, dict(trial.params)

    def _distinct(self) -> int:
        """Distinct points settled or running, in this study, now (other coordinators too)."""
        for t in self.store.trials():
            if point_key(t.params) not in self.points:
                self._note(t)
        return len(self.points)

    def next_trial(self):
        """The next trial to run, claimed and leased; None when the sweep wants no more."""
        if self.spec.sampler == "grid":
            return self._claim_queued()
        while not self.exhausted and self._distinct() < self.spec.trials:
            tid, number, params = self._ask()
            key = point_key(params)
            if key in self.points and self.points[key] != number and self._held(key):
                self.store.finish(tid, None, {ATTR.DUPLICATE_OF: self.points[key]}, state=_pruned())
                self.held.discard(tid)
                self.duplicates_in_a_row += 1
                self.exhausted = self.duplicates_in_a_row >= 100  # the space is used up
                continue
            self.duplicates_in_a_row = 0
            self.points[key] = number
            return tid, number, params
        return None

    def _held(self, key: str) -> bool:
        """Whether the trial noted for point ``key`` still holds it (it may have been
        interrupted and queued again since, by another coordinator)."""
        held = _settled(self.store.trial(self.points[key]))
        if not held:
            del self.points[key]
        return held

    # -- the loop ---------------------------------------------------------------------------
    def run(self, pool, progress: bool) -> None:
        from tqdm import tqdm

        total = self.spec.trials
        bar = tqdm(
            total=total,
            initial=min(self.n_done + self.n_failed, total),
            desc=f"sweep {self.store.name}",
            unit="trial",
            file=sys.stderr,
            disable=not progress,
            dynamic_ncols=True,
        )
        last_beat = time.monotonic()
        try:
            while True:
                while len(self.inflight) < pool.capacity:
                    nxt = self.next_trial()
                    if nxt is None:
                        break
                    tid, number, params = nxt
                    self.inflight[tid] = (number, params)
                    pool.submit(tid, TrialTask(self.spec, params, number, self.cache_dir))
                if not self.inflight:
                    break
                done = pool.poll(timeout=recovery.HEARTBEAT_S)
                if time.monotonic() - last_beat > recovery.HEARTBEAT_S:
                    recovery.beat(self.store, list(self.inflight))
                    last_beat = time.monotonic()
                for tid, outcome in done:
                    bar.update(self._record(tid, outcome))
                bar.set_postfix(failed=self.n_failed)
        except KeyboardInterrupt as exc:  # Ctrl-C, SIGTERM: the trials in flight go back
            n = len(self.hand_back())
            if n:
                exc.args = (f"{n} running trial{'s' * (n > 1)} queued again; rerun to finish",)
            raise
        finally:
            bar.close()

    def hand_back(self) -> list[int]:
        """Release the trials this coordinator holds (in flight, or claimed a moment ago):
        FAIL ``interrupted`` and queued again (for another coordinator on the study, or the
        next run); returns their numbers."""
        trials = [self.store.trial_by_id(tid) for tid in self.held]
        self.held.clear()
        return recovery.release(self.store, trials, self.dists, "its sweep was stopped")

    def _record(self, tid: int, outcome) -> int:
        """Write one finished trial; returns how many settled results it adds (0 or 1)."""
        number, params = self.inflight.pop(tid)
        added = self._write(tid, params, outcome)
        self.held.discard(tid)  # not before it is written: an interrupt hands it back
        return added

    def _write(self, tid: int, params: dict, outcome) -> int:
        if outcome.ok:
            try:
                values = _check_values(outcome.result["values"], len(self.spec.objectives))
            except (ValueError, KeyError, TypeError) as exc:
                outcome = type(outcome)(False, error=f"{type(exc).__name__}: {exc}")
        if outcome.ok:
            self.store.finish(tid, values, outcome.result["user_attrs"])
            self.n_done += 1
            return 1
        attrs = {ATTR.ERROR: outcome.error}
        retries = int(self.store.trial_by_id(tid).system_attrs.get(recovery.RETRIES, 0))
        if outcome.died and retries < MAX_RETRIES:
            attrs[ATTR.REQUEUED] = True
            if self.store.finish(tid, None, attrs):
                self.store.enqueue(params, self.dists, {recovery.RETRIES: retries + 1})
            self.points.pop(point_key(params), None)
            return 0
        self.store.finish(tid, None, attrs)
        self.n_failed += 1
        return 1


def _pruned():
    from optuna.trial import TrialState

    return TrialState.PRUNED


def _check_values(values, n: int) -> list[float]:
    """What Optuna's ``tell`` would refuse: a finite value per objective."""
    out = [float(v) for v in values]
    if len(out) != n or any(math.isnan(v) for v in out):
        raise ValueError(f"a trial must return {n} objective values, none NaN; got {values!r}")
    return out
