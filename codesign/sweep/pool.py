"""Where trials run: in the coordinator, in local worker processes, or on a Dask cluster.

Every executor has the same three calls: :meth:`submit` a keyed task,
:meth:`poll` for finished ones (``(key, Outcome)``), :meth:`close`. Local
workers are our own processes, one task queue each, so when one dies (killed,
out of memory) the pool knows exactly which trials it held: only those fail,
with ``died=True``, the other workers go on, and a new worker takes the dead
one's place. (``concurrent.futures.ProcessPoolExecutor`` instead breaks the
whole pool and fails every trial in flight.)

Ctrl-C reaches every process of the terminal's group; local workers ignore it
and leave the decision to the coordinator, whose :meth:`WorkerPool.close`
stops at once (SIGTERM, which a worker unwinds as ``SystemExit``) the workers
still holding a trial: nobody will record it.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import queue
import signal
import threading
import time
from dataclasses import dataclass
from multiprocessing.connection import wait

from accelerators import InputError

__all__ = [
    "PREFETCH",
    "DaskPool",
    "InlinePool",
    "Outcome",
    "WorkerPool",
    "connect_scheduler",
    "make_pool",
]

#: trials kept in flight per worker: one computing, one queued, so a worker that
#: finishes starts its next trial at once instead of waiting for the coordinator
PREFETCH = 2


@dataclass(frozen=True)
class Outcome:
    """What became of one task: ``result`` when ``ok``, else ``error`` (one line)."""

    ok: bool
    result: object = None
    error: str = ""
    died: bool = False  # the process running it died (its trial may be retried)


def _error_text(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


def _run(fn, task) -> Outcome:
    try:
        return Outcome(True, fn(task))
    except Exception as exc:  # recorded as the trial's error
        return Outcome(False, error=_error_text(exc))


class InlinePool:
    """Runs each task in the calling process when submitted (``--jobs 1``)."""

    capacity = 1

    def __init__(self, fn):
        self.fn, self._done = fn, []

    def submit(self, key, task) -> None:
        self._done.append((key, _run(self.fn, task)))

    def poll(self, timeout: float) -> list:
        done, self._done = self._done, []
        return done

    def close(self) -> None:
        pass


def _worker_main(fn, tasks, results, coordinator: int) -> None:
    """A worker process: run tasks until told to stop or the coordinator is gone."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the coordinator's to handle
    for signum in (signal.SIGTERM, getattr(signal, "SIGHUP", None)):  # no SIGHUP on Windows
        if signum is not None:  # unwinds: a half-saved network is removed
            signal.signal(signum, _exit_on_signal)
    _limit_threads()
    while True:
        try:
            item = tasks.get(timeout=1.0)
        except queue.Empty:
            if os.getppid() != coordinator:  # orphaned by a SIGKILLed coordinator
                os._exit(1)
            continue
        if item is None:
            return
        key, task = item
        results.put((key, _run(fn, task)))


def _exit_on_signal(signum, frame) -> None:
    raise SystemExit(128 + signum)


def _limit_threads() -> None:
    """One compute thread per worker: ``jobs`` workers share the cores."""
    os.environ["OMP_NUM_THREADS"] = os.environ["MKL_NUM_THREADS"] = "1"  # torch, if imported later
    os.environ["OPENBLAS_NUM_THREADS"] = "1"
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - comes with scikit-learn
        return
    threadpool_limits(1)


#: the terminal's signals (Ctrl-C, hang-up) that reach every process of its group
_TERMINAL = tuple(getattr(signal, n) for n in ("SIGINT", "SIGHUP") if hasattr(signal, n))


@contextlib.contextmanager
def _terminal_signals_ignored():
    """The terminal's signals ignored in this process meanwhile, so that processes started
    meanwhile inherit that (main thread only: elsewhere a no-op)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    old = {signum: signal.signal(signum, signal.SIG_IGN) for signum in _TERMINAL}
    try:
        yield
    finally:
        for signum, handler in old.items():
            signal.signal(signum, handler)


class WorkerPool:
    """``jobs`` local worker processes (spawned), each holding up to :data:`PREFETCH` tasks."""

    def __init__(self, fn, jobs: int):
        self.fn, self.jobs = fn, jobs
        self.capacity = PREFETCH * jobs
        self._ctx = multiprocessing.get_context("spawn")
        with _terminal_signals_ignored():  # starts multiprocessing's resource tracker, which
            self._results = self._ctx.Queue()  # a hang-up would kill (a warning, a relaunch)
        self._workers: list = [None] * jobs
        self._held: list[list] = [[] for _ in range(jobs)]  # keys each worker holds
        for slot in range(jobs):
            self._start(slot)

    def _start(self, slot: int) -> None:
        tasks = self._ctx.Queue()
        proc = self._ctx.Process(
            target=_worker_main,
            args=(self.fn, tasks, self._results, os.getpid()),
            daemon=True,
        )
        with _terminal_signals_ignored():  # inherited: the worker leaves them to its
            proc.start()  # coordinator from its first import (then unwinds on SIGHUP)
        self._workers[slot] = (proc, tasks)

    def submit(self, key, task) -> None:
        slot = min(range(self.jobs), key=lambda i: len(self._held[i]))
        self._held[slot].append(key)
        self._workers[slot][1].put((key, task))

    def poll(self, timeout: float) -> list:
        done = self._drain()
        if done:
            return done
        sentinels = [w[0].sentinel for w in self._workers]
        wait([self._results._reader, *sentinels], timeout)
        time.sleep(0)  # let the feeder thread deliver
        return self._drain() or self._reap()

    def _drain(self) -> list:
        done = []
        while True:
            try:
                key, outcome = self._results.get_nowait()
            except queue.Empty:
                return done + (self._reap() if not done else [])
            for held in self._held:
                if key in held:
                    held.remove(key)
            done.append((key, outcome))

    def _reap(self) -> list:
        """Fail the tasks of workers that died, and replace those workers."""
        out = []
        for slot, (proc, _) in enumerate(self._workers):
            if proc.is_alive():
                continue
            # a result it put before dying may still be in the queue: take those first
            time.sleep(0.05)
            try:
                while True:
                    key, outcome = self._results.get_nowait()
                    for held in self._held:
                        if key in held:
                            held.remove(key)
                    out.append((key, outcome))
            except queue.Empty:
                pass
            lost, self._held[slot] = self._held[slot], []
            why = f"worker process {proc.pid} died (exit code {proc.exitcode})"
            out += [(key, Outcome(False, error=why, died=True)) for key in lost]
            self._start(slot)
        return out

    def close(self) -> None:
        """Stop the workers: idle ones when they read the stop, busy ones (an
        interrupted sweep, whose trials nobody will record) at once."""
        for (proc, tasks), held in zip(self._workers, self._held, strict=True):
            if held:
                proc.terminate()
            elif proc.is_alive():
                tasks.put(None)
        for proc, _ in self._workers:
            proc.join(timeout=2)
            if proc.is_alive():
                proc.terminate()
                proc.join(timeout=2)


class DaskPool:
    """Tasks on a Dask cluster (``--dask-scheduler``), two in flight per worker thread."""

    def __init__(self, fn, client):
        self.fn, self.client = fn, client
        self.capacity = PREFETCH * max(1, sum(client.nthreads().values()))
        self._futures: dict = {}

    def submit(self, key, task) -> None:
        self._futures[self.client.submit(_run, self.fn, task, pure=False)] = key

    def poll(self, timeout: float) -> list:
        from distributed import wait as dask_wait

        if not self._futures:
            return []
        try:
            done, _ = dask_wait(list(self._futures), timeout=timeout, return_when="FIRST_COMPLETED")
        except TimeoutError:
            return []
        out = []
        for fut in done:
            key = self._futures.pop(fut)
            try:
                out.append((key, fut.result()))
            except Exception as exc:  # the worker was lost, or the task could not run
                out.append((key, Outcome(False, error=_error_text(exc), died=True)))
        return out

    def close(self) -> None:
        for fut in self._futures:
            fut.cancel()


def make_pool(fn, jobs: int, client=None):
    """The executor for ``--jobs`` / ``--dask-scheduler``."""
    if client is not None:
        return DaskPool(fn, client)
    return InlinePool(fn) if jobs <= 1 else WorkerPool(fn, jobs)


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
