"""Who runs which trial, and how the trials of a dead sweep process are recovered.

Each running trial carries the system attribute ``codesign:lease`` =
``{"host", "pid", "time"}``: the coordinator that claimed it and when it last
said it was alive (refreshed every :data:`HEARTBEAT_S` seconds). A RUNNING
trial is *stale* when its coordinator is on this host and gone, or its lease
is older than :data:`STALE_AFTER_S` (any host). A trial claimed but not yet
leased (the coordinator died between the two writes) is stale when no
coordinator registered in the study (``codesign:coordinator:<host>:<pid>``)
can still be alive, or after :data:`CLAIM_GRACE_S`.

A stale trial is marked FAIL with ``error = "interrupted ..."`` and
``interrupted = True``, and its parameters are queued again: of several
processes recovering it at once, only the one whose FAIL lands queues it.
A sweep stopped by Ctrl-C or SIGTERM hands its own running trials back the
same way (:func:`release`), so a sweep still running on the study takes them.
"""

from __future__ import annotations

import os
import socket
import time

from codesign.study import ATTR

__all__ = [
    "CLAIM_GRACE_S",
    "HEARTBEAT_S",
    "LEASE",
    "STALE_AFTER_S",
    "beat",
    "is_stale",
    "lease",
    "recover_stale",
    "register_coordinator",
    "release",
]

HEARTBEAT_S = 30.0
STALE_AFTER_S = 600.0
CLAIM_GRACE_S = 30.0
LEASE = "codesign:lease"
COORD = "codesign:coordinator:"
#: system attribute of a queued trial: the number of earlier tries of its point
RETRIES = "codesign:retries"


def lease() -> dict:
    """This process's lease on a trial, as of now."""
    return {"host": socket.gethostname(), "pid": os.getpid(), "time": time.time()}


def beat(store, trial_ids) -> None:
    """Refresh this process's lease on ``trial_ids``."""
    for tid in trial_ids:
        store.set_trial_system_attrs(tid, {LEASE: lease()})


def register_coordinator(store) -> None:
    """Note this process in the study (``codesign:coordinator:<host>:<pid>``)."""
    store.set_study_system_attr(f"{COORD}{socket.gethostname()}:{os.getpid()}", time.time())


def _alive(pid: int) -> bool:
    """Whether another process ``pid`` runs here (this process: no, it is starting afresh)."""
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def coordinators_alive(store) -> bool:
    """Whether any other coordinator registered in the study may still be running.

    Same-host coordinators are checked by pid; those on other hosts count as
    alive (their trials go stale by lease time instead).
    """
    host = socket.gethostname()
    for key in store.system_attrs:
        if not key.startswith(COORD):
            continue
        h, _, pid = key[len(COORD) :].rpartition(":")
        if h != host or _alive(int(pid)):
            return True
    return False


def is_stale(trial, now: float | None = None, others_alive: bool = True) -> bool:
    """Whether RUNNING ``trial`` lost its coordinator (see the module docstring)."""
    now = time.time() if now is None else now
    who = trial.system_attrs.get(LEASE)
    if not isinstance(who, dict):  # claimed, never leased
        started = trial.datetime_start.timestamp() if trial.datetime_start else now
        return not others_alive or now - started > CLAIM_GRACE_S
    if who.get("host") == socket.gethostname() and not _alive(int(who.get("pid", -1))):
        return True
    return now - float(who.get("time", now)) > STALE_AFTER_S


def recover_stale(store, distributions: dict) -> list[int]:
    """Mark stale RUNNING trials FAIL and queue their parameters again; returns their numbers."""
    from optuna.trial import TrialState

    running = store.trials(states=(TrialState.RUNNING,))
    if not running:
        return []
    others = coordinators_alive(store)
    stale = [t for t in running if is_stale(t, others_alive=others)]
    return release(store, stale, distributions, "its sweep process died")


def release(store, trials, distributions: dict, why: str) -> list[int]:
    """Mark RUNNING ``trials`` FAIL (``interrupted: <why>``) and queue their parameters
    again, keeping their retry count; returns the numbers of those this call released
    (not those another process finished or released first)."""
    released = []
    for t in trials:
        note = {
            ATTR.INTERRUPTED: True,
            ATTR.ERROR: f"interrupted: {why}; parameters queued again",
        }
        if not store.finish(store.trial_id(t.number), None, note):
            continue  # another process recovered it first
        if t.params:
            retries = int(t.system_attrs.get(RETRIES, 0))
            store.enqueue(dict(t.params), distributions, {RETRIES: retries})
        released.append(t.number)
    return released
