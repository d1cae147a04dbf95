# Over 400 lines: StudySource's opening, incremental polling, cache and notes share one
# lock and one cache of the study; the row-building helpers above it are its own.
"""Read a sweep study (contract 3) into a pandas frame, through :class:`codesign.study.StudyStore`.

:class:`StudySource` opens the storage read-only (``StudyStore``'s ``write=False``
never creates or alters a file: a missing SQLite or journal file, an unrelated
SQLite database and a non-journal file are refused) and reads every trial once
(:meth:`StudySource.snapshot`; ``create_app`` does this before it serves). Each
later poll reads only what can have changed, in one query through Optuna's
reader (``StudyStore.trials``): the trials that were unfinished (RUNNING,
WAITING) and the new ones. The frame keeps params and the two small attributes the
fronts need (``metrics``, ``method``); the heavy ones (``hw_report``,
``train_report``) are read for one trial when its drill-down opens.

Nothing in the study is executed: attributes come back from Optuna as JSON
values and are shown as text.
"""

from __future__ import annotations

import math
import os
import threading
from collections.abc import Iterable
from dataclasses import dataclass

import pandas as pd

from accelerators import InputError
from codesign.study import (
    ATTR,
    METRICS,
    PARAM_PREFIXES,
    STUDY_ATTR,
    StudyStore,
    shown_url,
    study_names,
)
from codesign.study.contract import DEFAULT_REQUIRED
from codesign.study.storages import damage_reason, storage_file
from codesign.study.store import open_storage

__all__ = [
    "Snapshot",
    "StudyLoadError",
    "StudySource",
    "frame_from_trials",
    "present_metrics",
    "required_metrics",
]


class StudyLoadError(Exception):
    """The storage or study cannot be read; the message is one sentence for the page."""


@dataclass(frozen=True)
class Snapshot:
    """The study as the dashboard sees it at one moment.

    ``frame`` has one row per COMPLETE trial with valid metrics: ``trial`` (the
    trial number), ``method``, one column per swept param (``train.*``, ``hw.*``,
    ``workload.*``) and one per metric of :data:`~codesign.study.METRICS` (NaN where
    null), sorted by trial number. ``metrics``: the metrics with a value in at least
    one row (no ``accuracy`` in a simulate-only sweep). ``directions``: the study's
    ``"maximize"`` / ``"minimize"``, one per objective.
    """

    study_name: str
    frame: pd.DataFrame
    objectives: tuple[str, ...]
    params: tuple[str, ...]
    n_trials: int
    n_complete: int
    n_failed: int
    n_running: int
    n_skipped: int  # COMPLETE trials whose metrics were missing or malformed
    n_pruned: int = 0  # PRUNED trials (a sweep's repeats of an earlier point: duplicate_of)
    version: str = ""  # changes whenever a trial is added or changes state
    metrics: tuple[str, ...] = METRICS
    directions: tuple[str, ...] = ()
    workload: dict | None = None  # the [workload] table of a simulate-only sweep

    @property
    def has_accuracy(self) -> bool:
        """Does the study have accuracy? (From the rows; from the objectives while there are none.)"""
        if len(self.frame):
            return "accuracy" in self.metrics
        return "accuracy" in self.objectives or not self.objectives

    def maximize(self, cols) -> list[bool]:
        """Direction of each column: the study's for its objectives, else accuracy up, rest down."""
        recorded = dict(zip(self.objectives, self.directions, strict=False))
        return [recorded.get(c, "maximize" if c == "accuracy" else "minimize") == "maximize"
                for c in cols]  # fmt: skip

    @property
    def notes(self) -> list[str]:
        """Sentences about what is not shown, for the page."""
        out = []
        if self.n_failed:
            out.append(f"{self.n_failed} failed trial(s) not shown")
        if self.n_pruned:
            out.append(f"{self.n_pruned} pruned trial(s) not shown (a sweep prunes a repeat "
                       "of an earlier point)")  # fmt: skip
        if self.n_running:
            out.append(f"{self.n_running} trial(s) running or queued")
        if self.n_skipped:
            out.append(f"{self.n_skipped} finished trial(s) lack valid metrics and are left out")
        return out


def _number(value) -> float | None:
    kind = type(value)
    if kind is not float and kind is not int:  # (bool is not a number here)
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def required_metrics(objectives) -> tuple[str, ...]:
    """The metrics a trial must hold as finite numbers: the study's objectives.

    >>> required_metrics(["latency_us", "area_mm2"]), required_metrics([])
    (('latency_us', 'area_mm2'), ('area_mm2', 'latency_us', 'energy_uj'))
    """
    known = tuple(o for o in (objectives or ()) if o in METRICS)
    return known or DEFAULT_REQUIRED


def _row(number: int, params: dict, metrics, method, required=DEFAULT_REQUIRED) -> dict | None:
    """One frame row, or None when ``metrics`` is not a dict, a ``required`` metric is not a
    finite number, or another metric is neither a finite number nor null (read as NaN)."""
    if not isinstance(metrics, dict):
        return None
    row = {"trial": number, "method": method if isinstance(method, str) else "unknown"}
    for key in METRICS:
        raw = metrics.get(key)
        value = _number(raw)
        if value is None:
            if raw is not None or key in required:
                return None
            value = math.nan
        row[key] = value
    row.update({k: v for k, v in params.items() if k.startswith(PARAM_PREFIXES)})
    return row


def _trial_row(trial, required) -> dict | None:
    attrs = trial.user_attrs
    return _row(
        trial.number, trial.params, attrs.get(ATTR.METRICS), attrs.get(ATTR.METHOD), required
    )


def _frame(rows: Iterable[dict]) -> tuple[pd.DataFrame, tuple[str, ...]]:
    rows = sorted(rows, key=lambda r: r["trial"])
    params = sorted({k for r in rows for k in r if k.startswith(PARAM_PREFIXES)})
    columns = ["trial", "method", *METRICS, *params]
    frame = pd.DataFrame.from_records(rows, columns=columns)
    frame["trial"] = frame["trial"].astype(int)
    for key in METRICS:  # all-null columns come out as object
        frame[key] = frame[key].astype(float)
    return frame, tuple(params)


def present_metrics(frame: pd.DataFrame) -> tuple[str, ...]:
    """The metrics with a value in at least one row of ``frame``."""
    return tuple(m for m in METRICS if m in frame and frame[m].notna().any())


def frame_from_trials(trials, objectives=()) -> pd.DataFrame:
    """The frame of :meth:`StudySource.snapshot` from ``FrozenTrial`` s (``objectives``: the
    study's ``user_attrs["objectives"]``)."""
    from optuna.trial import TrialState

    required = required_metrics(objectives)
    rows = [_trial_row(t, required) for t in trials if t.state == TrialState.COMPLETE]
    return _frame(r for r in rows if r is not None)[0]


def _why(exc: BaseException) -> str:
    """One line on why a storage read failed: the database driver's own reason when Optuna
    wrapped it (Optuna says "... e.g. exceeding max length" for any failed commit)."""
    seen, cause = [], exc
    while cause is not None and cause not in seen:
        seen.append(cause)
        cause = cause.__cause__ or cause.__context__
    root = seen[-1]
    text = str(root).strip().splitlines()[0] if str(root).strip() else type(root).__name__
    return damage_reason(text)


def list_studies(storage_url: str) -> tuple[list[str], object]:
    """The study names in ``storage_url`` (oldest first) and the read-only storage, to share
    with the :class:`StudySource` s (a journal is replayed once); ``([], None)`` when unreadable."""
    try:
        storage = open_storage(storage_url, write=False)
        return study_names(storage), storage
    except Exception:  # InputError, or a storage that fails while listing
        return [], None


class StudySource:
    """One study in one storage, re-read incrementally; thread-safe.

    ``study_name=None`` picks the only study, or the most recently created one.
    ``storage``: an Optuna storage already open read-only on ``storage_url`` to share.
    """

    def __init__(self, storage_url: str, study_name: str | None = None, storage=None):
        self.storage_url = storage_url
        self._shared = storage
        self._wanted = study_name
        self._lock = threading.Lock()
        try:
            self._path = storage_file(storage_url)  # None for a server database
        except InputError:  # not a storage URL: the first read says so
            self._path = None
        self._changes = 0
        self._forget()

    def _forget(self) -> None:
        """Drop the study as read (the next read opens the storage and reads every trial)."""
        self._unpin()
        self._store: StudyStore | None = None
        self._file: tuple[int, int] | None = None  # (device, inode) of the study file read
        self._objectives: tuple[str, ...] = ()
        self._directions: tuple[str, ...] = ()
        self._workload: dict | None = None
        self._user_attrs: dict = {}
        self._states: dict[int, object] = {}  # number -> TrialState
        self._rows: dict[int, dict | None] = {}  # number -> row (None: skipped) of COMPLETE
        self._times: dict[int, float] = {}  # number -> completion time (epoch s) of COMPLETE
        self._snapshot: Snapshot | None = None

    def _file_now(self) -> tuple[int, int] | None:
        """(device, inode) of the study file now (a stat: no descriptor); None when it is
        missing or the storage is a server database."""
        try:
            st = os.stat(self._path) if self._path else None
        except OSError:
            return None
        return (st.st_dev, st.st_ino) if st is not None else None

    def _hold(self) -> tuple[int, int] | None:
        """(device, inode) of the study file about to be read. A journal file is held open
        while it is read, so that once deleted its inode is not given to the next file made
        (ext4 reuses it at once) and a replacement is seen. A SQLite file is held by the
        storage's own connections, never by a descriptor of ours: closing one would drop
        their locks (https://www.sqlite.org/howtocorrupt.html, 2.2)."""
        self._unpin()
        if not (self._path and self.storage_url.startswith("journal:")):
            return self._file_now()
        try:
            self._pin = os.open(self._path, os.O_RDONLY)
        except OSError:
            return None
        st = os.fstat(self._pin)
        return (st.st_dev, st.st_ino)

    def _unpin(self) -> None:
        if getattr(self, "_pin", None) is not None:
            os.close(self._pin)
        self._pin: int | None = None

    # -- opening -------------------------------------------------------------------------
    def _open(self) -> StudyStore:
        if self._store is not None:
            if self._file_now() == self._file:
                return self._store
            # the file was replaced or deleted (a sweep rerun from scratch): the open
            # connections still read the old one, so read the study at the path anew
            self._shared = None
            self._forget()
        try:
            self._file = self._hold()
            storage = self._shared or open_storage(self.storage_url, write=False)
            names = study_names(storage)
            if not names:
                raise StudyLoadError(f"{shown_url(self.storage_url)} holds no study yet")
            name = self._wanted if self._wanted is not None else names[-1]
            if name not in names:
                raise StudyLoadError(
                    f"no study named {name!r} in {shown_url(self.storage_url)} (found: "
                    + ", ".join(sorted(names))
                    + ")"
                )
            store = StudyStore(
                self.storage_url, storage, storage.get_study_id_from_name(name), name
            )
            user_attrs = store.user_attrs
            directions = store.directions
        except InputError as exc:
            raise StudyLoadError(str(exc)) from None
        except StudyLoadError:
            raise
        except Exception as exc:  # a storage that opens but fails to read (corrupt file)
            why = _why(exc)
            raise StudyLoadError(
                f"storage {shown_url(self.storage_url)!r} cannot be read: {why}"
            ) from None
        objectives = user_attrs.get(STUDY_ATTR.OBJECTIVES)
        if not (isinstance(objectives, list) and all(isinstance(o, str) for o in objectives)):
            objectives = []
        self._objectives, self._directions = tuple(objectives), tuple(directions)
        self._user_attrs = user_attrs
        sweep = user_attrs.get(STUDY_ATTR.SWEEP)
        workload = sweep.get("workload") if isinstance(sweep, dict) else None
        self._workload = workload if isinstance(workload, dict) else None
        self._store = store
        return store

    @property
    def study_name(self) -> str:
        return self._store.name if self._store is not None else ""

    @property
    def store(self) -> StudyStore:
        """The open :class:`StudyStore` (opened on first use)."""
        with self._lock:
            return self._open()

    @property
    def workload(self) -> dict | None:
        """The ``[workload]`` table of a simulate-only sweep (from the study's ``sweep``)."""
        return self._workload

    @property
    def sweep(self) -> dict | None:
        """The sweep file as parsed (``study.user_attrs["sweep"]``), or None."""
        sweep = self._user_attrs.get(STUDY_ATTR.SWEEP)
        return sweep if isinstance(sweep, dict) else None

    def completed_at(self) -> dict[int, float]:
        """Trial number -> completion time (seconds since the epoch) of the trials read."""
        return dict(self._times)

    # -- reading ---------------------------------------------------------------------------
    def _take(self, trial, required) -> bool:
        """Record ``trial``; True when anything about it is new."""
        from optuna.trial import TrialState

        state = trial.state
        if self._states.get(trial.number) == state:
            return False
        self._states[trial.number] = state
        if state == TrialState.COMPLETE:
            self._rows[trial.number] = _trial_row(trial, required)
            if trial.datetime_complete is not None:
                self._times[trial.number] = trial.datetime_complete.timestamp()
        return True

    @staticmethod
    def _still_there(store: StudyStore) -> bool:
        """Whether the storage still holds the study read, under its name (Optuna's
        ``delete_study`` removes it; a study made again under the name has a new id)."""
        try:
            return store.storage.get_study_id_from_name(store.name) == store.study_id
        except KeyError:
            return False

    def _read_changes(self, store: StudyStore) -> bool:
        """Take the study's trials as they are now; True when any is new or changed state.

        Through Optuna's reader (``StudyStore.trials``), which keeps the finished trials and
        re-reads, in one query, only the ones that were unfinished and the new ones (a
        journal: the log's new lines). Not one query per queued trial: a grid sweep queues
        every point as WAITING, and re-reading 1,000 of them one by one took longer than a
        poll period."""
        required = required_metrics(self._objectives)
        changed = False
        for trial in store.trials():
            changed |= self._take(trial, required)
        return changed

    def snapshot(self) -> Snapshot:
        """The current frame; reads only new trials and those that were still running."""
        from optuna.trial import TrialState

        with self._lock:
            store = self._open()
            try:
                if not self._still_there(store):  # deleted (and maybe made again) meanwhile
                    self._forget()
                    store = self._open()
                changed = self._read_changes(store)
            except InputError as exc:
                raise StudyLoadError(str(exc)) from None
            except Exception as exc:  # the storage failed mid-read
                why = _why(exc)
                raise StudyLoadError(f"study {store.name!r} cannot be read: {why}") from None
            if self._snapshot is not None and not changed:
                return self._snapshot
            self._changes += 1
            counts: dict = {}
            for state in self._states.values():
                counts[state] = counts.get(state, 0) + 1
            complete = [n for n, s in self._states.items() if s == TrialState.COMPLETE]
            rows = [self._rows[n] for n in complete if self._rows.get(n) is not None]
            frame, params = _frame(rows)
            self._snapshot = Snapshot(
                study_name=store.name,
                frame=frame,
                objectives=self._objectives,
                params=params,
                n_trials=len(self._states),
                n_complete=len(complete),
                n_failed=counts.get(TrialState.FAIL, 0),
                n_running=counts.get(TrialState.RUNNING, 0) + counts.get(TrialState.WAITING, 0),
                n_skipped=len(complete) - len(rows),
                n_pruned=counts.get(TrialState.PRUNED, 0),
                version=f"{store.name}|{len(self._states)}|{self._changes}",
                metrics=present_metrics(frame),
                directions=self._directions,
                workload=self._workload,
            )
            return self._snapshot

    def current(self) -> Snapshot | None:
        """The last snapshot taken (no storage access), or a fresh one; None if unreadable."""
        if self._snapshot is not None:
            return self._snapshot
        try:
            return self.snapshot()
        except StudyLoadError:
            return None

    def trial(self, number: int):
        """The full ``FrozenTrial`` of trial ``number`` (for the drill-down), or None."""
        with self._lock:
            store = self._open()
            try:
                return store.trial(int(number))
            except InputError as exc:
                raise StudyLoadError(str(exc)) from None

    def set_note(self, number: int, text: str) -> None:
        """Store a note on trial ``number`` (a study system attribute ``codesign:note:N``).

        The one write the dashboard makes, and only when a person adds a note: it
        opens the storage for writing for this call alone.
        """
        store = StudyStore.open(self.storage_url, self.study_name, write=True)
        try:
            store.set_study_system_attr(f"{NOTE_PREFIX}{int(number)}", str(text))
        finally:
            store.close()  # its connections go now, not at the next garbage collection

    def notes(self) -> dict[int, str]:
        """Trial number -> note, from the study's system attributes."""
        with self._lock:
            store = self._open()
            try:
                attrs = store.system_attrs
            except Exception:  # notes are optional; a failed read shows none
                return {}
        out = {}
        for key, value in attrs.items():
            if key.startswith(NOTE_PREFIX) and key[len(NOTE_PREFIX) :].isdigit():
                out[int(key[len(NOTE_PREFIX) :])] = str(value)
        return out


#: study system attribute prefix of a trial's note (``codesign:note:<trial number>``)
NOTE_PREFIX = "codesign:note:"
