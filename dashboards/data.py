"""Read a sweep study (contract 3) into a pandas frame, fast and without side effects.

:class:`StudySource` owns one Optuna ``RDBStorage``. Each :meth:`StudySource.snapshot`
asks the storage one cheap question (how many trials in which state); only when
the answer changed does it read the trials it has not seen finished yet: their
params and the two small user attributes the fronts need (``metrics`` and
``method``), straight from Optuna's own tables (``optuna.storages._rdb.models``)
with one SQL query per table. The heavy attributes (``hw_report``,
``train_report``) are read for one trial at a time, through
``RDBStorage.get_trial``, when someone opens its drill-down.

Why not ``study.get_trials()``: it builds a ``FrozenTrial`` with every
attribute decoded, about 1.3 ms per trial here (13 s for 10,000 trials); the
frame it gives is the same (tests compare the two, :func:`frame_from_trials`).

Nothing in the study is executed: attribute values are parsed as JSON and
param values decoded through Optuna's distributions; a SQLite file is checked
read-only before Optuna opens it, so pointing the app at a missing file or at a
database that is not an Optuna storage never creates or alters anything.
"""

from __future__ import annotations

import json
import math
import os
import sqlite3
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

import pandas as pd

__all__ = [
    "METRICS",
    "Snapshot",
    "StudyLoadError",
    "StudySource",
    "frame_from_trials",
    "present_metrics",
    "required_metrics",
]

#: contract 3's ``metrics`` keys. A trial is shown when the study's objectives among them are
#: finite numbers; every other metric must be a finite number or null (null reads as NaN, and
#: a metric that is null in every shown trial, like accuracy in a simulate-only sweep, is absent).
METRICS = ("accuracy", "sparsity", "area_mm2", "latency_us", "energy_uj", "cycles", "size_kib")
#: what must be finite when the study records no (known) objectives
DEFAULT_REQUIRED = ("area_mm2", "latency_us", "energy_uj")
#: param name prefixes of contract 3 (``workload.*`` in simulate-only sweeps)
PARAM_PREFIXES = ("train.", "hw.", "workload.")


class StudyLoadError(Exception):
    """The storage or study cannot be read; the message is one sentence for the page."""


@dataclass(frozen=True)
class Snapshot:
    """The study as the dashboard sees it at one moment.

    ``frame`` has one row per COMPLETE trial with valid metrics: ``trial`` (the
    trial number), ``method``, one column per swept param (``train.*``, ``hw.*``,
    ``workload.*``) and one per metric of :data:`METRICS` (NaN where null), sorted
    by trial number. ``metrics``: the metrics with a value in at least one row
    (no ``accuracy`` in a simulate-only sweep). ``directions``: the study's
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
        if self.n_running:
            out.append(f"{self.n_running} trial(s) still running")
        if self.n_skipped:
            out.append(f"{self.n_skipped} finished trial(s) lack valid metrics and are left out")
        return out


def _check_sqlite(url: str) -> None:
    """Refuse a SQLite URL whose file is missing or is not an Optuna storage (read-only check)."""
    from sqlalchemy.engine import make_url

    try:
        parsed = make_url(url)
    except Exception as exc:  # sqlalchemy raises ArgumentError for nonsense
        raise StudyLoadError(f"{url!r} is not a storage URL (e.g. sqlite:///runs/x.db)") from exc
    if not parsed.drivername.startswith("sqlite"):
        return
    path = parsed.database
    if not path or path == ":memory:":
        raise StudyLoadError(f"{url!r} names no database file")
    if not os.path.isfile(path):
        raise StudyLoadError(f"no study storage at {path} (file not found)")
    try:
        con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            names = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        finally:
            con.close()
    except sqlite3.DatabaseError as exc:
        raise StudyLoadError(f"{path} is not a SQLite database ({exc})") from exc
    if not {"studies", "trials", "trial_params", "trial_user_attributes"} <= names:
        raise StudyLoadError(f"{path} is not an Optuna study storage (no Optuna tables)")


@lru_cache(maxsize=1024)
def _distribution(distribution_json: str):
    from optuna.distributions import json_to_distribution

    return json_to_distribution(distribution_json)


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
    row.update(params)
    return row


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
    """The same frame as :meth:`StudySource.snapshot`, built from ``optuna.trial.FrozenTrial`` s
    (``objectives``: the study's ``user_attrs["objectives"]``)."""
    from optuna.trial import TrialState

    required = required_metrics(objectives)
    rows = []
    for t in trials:
        if t.state != TrialState.COMPLETE:
            continue
        attrs = t.user_attrs
        row = _row(t.number, dict(t.params), attrs.get("metrics"), attrs.get("method"), required)
        if row is not None:
            rows.append(row)
    return _frame(rows)[0]


class StudySource:
    """One study in one storage, re-read incrementally; thread-safe.

    ``study_name=None`` picks the only study, or the most recently created one.
    """

    def __init__(self, storage_url: str, study_name: str | None = None):
        self.storage_url = storage_url
        self._wanted = study_name
        self._lock = threading.Lock()
        self._storage = None
        self._study_id: int | None = None
        self._study_name = ""
        self._objectives: tuple[str, ...] = ()
        self._directions: tuple[str, ...] = ()
        self._workload: dict | None = None
        self._rows: dict[int, dict | None] = {}  # trial_id -> row (None: skipped) for COMPLETE
        self._number_to_id: dict[int, int] = {}
        self._snapshot: Snapshot | None = None

    # -- opening -------------------------------------------------------------------------
    def _open(self) -> None:
        if self._storage is not None:
            return
        _check_sqlite(self.storage_url)
        import optuna

        optuna.logging.set_verbosity(optuna.logging.WARNING)
        try:
            storage = optuna.storages.RDBStorage(self.storage_url, skip_table_creation=True)
            studies = storage.get_all_studies()
        except Exception as exc:  # SQLAlchemy / Optuna errors on a foreign or broken database
            raise StudyLoadError(f"cannot open {self.storage_url}: {exc}".splitlines()[0]) from exc
        if not studies:
            raise StudyLoadError(f"{self.storage_url} holds no study yet")
        if self._wanted is None:
            study = max(studies, key=lambda s: s._study_id)
        else:
            found = [s for s in studies if s.study_name == self._wanted]
            if not found:
                names = ", ".join(sorted(s.study_name for s in studies))
                raise StudyLoadError(f"no study named {self._wanted!r} (found: {names})")
            study = found[0]
        objectives = study.user_attrs.get("objectives")
        if not (isinstance(objectives, list) and all(isinstance(o, str) for o in objectives)):
            objectives = []
        self._storage, self._study_id, self._study_name = storage, study._study_id, study.study_name
        self._objectives = tuple(objectives)
        self._directions = tuple(d.name.lower() for d in study.directions)
        sweep = study.user_attrs.get("sweep")
        workload = sweep.get("workload") if isinstance(sweep, dict) else None
        self._workload = workload if isinstance(workload, dict) else None

    @property
    def study_name(self) -> str:
        return self._study_name

    @property
    def workload(self) -> dict | None:
        """The ``[workload]`` table of a simulate-only sweep (from the study's ``sweep``)."""
        return self._workload

    # -- reading ---------------------------------------------------------------------------
    def snapshot(self) -> Snapshot:
        """The current frame; re-reads only trials that finished since the last call."""
        with self._lock:
            self._open()
            from optuna.trial import TrialState

            version = self._version()
            if self._snapshot is not None and self._snapshot.version == version:
                return self._snapshot
            states = self._states()
            complete = {tid for tid, (_, s) in states.items() if s == TrialState.COMPLETE}
            new = sorted(complete - self._rows.keys())
            if new:
                self._read(new, states)
            counts = _count(states)
            rows = [r for tid, r in self._rows.items() if r is not None and tid in complete]
            frame, params = _frame(rows)
            self._snapshot = Snapshot(
                study_name=self._study_name,
                frame=frame,
                objectives=self._objectives,
                params=params,
                n_trials=len(states),
                n_complete=len(complete),
                n_failed=counts.get(TrialState.FAIL, 0),
                n_running=counts.get(TrialState.RUNNING, 0) + counts.get(TrialState.WAITING, 0),
                n_skipped=len(complete) - len(rows),
                version=version,
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

    def _version(self) -> str:
        """Trials per state (and the newest trial id per state): one aggregate query."""
        from optuna.storages._rdb import models
        from sqlalchemy import func, select

        t = models.TrialModel.__table__
        query = (
            select(t.c.state, func.count(), func.max(t.c.trial_id))
            .where(t.c.study_id == self._study_id)
            .group_by(t.c.state)
        )
        with self._storage.engine.connect() as conn:
            parts = sorted(f"{state.name}:{n}:{last}" for state, n, last in conn.execute(query))
        return f"{self._study_name}|{','.join(parts)}"

    def _states(self) -> dict:
        from optuna.storages._rdb import models
        from sqlalchemy import select

        t = models.TrialModel.__table__
        query = select(t.c.trial_id, t.c.number, t.c.state).where(t.c.study_id == self._study_id)
        with self._storage.engine.connect() as conn:
            out = {tid: (num, state) for tid, num, state in conn.execute(query)}
        self._number_to_id = {num: tid for tid, (num, _) in out.items()}
        return out

    def _read(self, trial_ids: list[int], states: dict) -> None:
        from optuna.storages._rdb import models
        from sqlalchemy import select

        t = models.TrialModel.__table__
        p = models.TrialParamModel.__table__
        u = models.TrialUserAttributeModel.__table__
        wanted, first = set(trial_ids), trial_ids[0]
        params: dict[int, dict] = {tid: {} for tid in trial_ids}
        attrs: dict[int, dict] = {tid: {} for tid in trial_ids}
        q_params = (
            select(p.c.trial_id, p.c.param_name, p.c.param_value, p.c.distribution_json)
            .join(t, t.c.trial_id == p.c.trial_id)
            .where(t.c.study_id == self._study_id, p.c.trial_id >= first)
        )
        q_attrs = (
            select(u.c.trial_id, u.c.key, u.c.value_json)
            .join(t, t.c.trial_id == u.c.trial_id)
            .where(
                t.c.study_id == self._study_id,
                u.c.trial_id >= first,
                u.c.key.in_(["metrics", "method"]),
            )
        )
        with self._storage.engine.connect() as conn:
            for tid, name, value, dist_json in conn.execute(q_params).all():
                if tid in wanted:
                    try:
                        params[tid][name] = _distribution(dist_json).to_external_repr(value)
                    except (ValueError, KeyError, IndexError, TypeError):
                        params[tid][name] = None
            for tid, key, value_json in conn.execute(q_attrs).all():
                if tid in wanted:
                    try:
                        attrs[tid][key] = json.loads(value_json)
                    except (TypeError, ValueError):
                        attrs[tid][key] = None
        required = required_metrics(self._objectives)
        for tid in trial_ids:
            a = attrs[tid]
            self._rows[tid] = _row(
                states[tid][0], params[tid], a.get("metrics"), a.get("method"), required
            )

    def trial(self, number: int):
        """The full ``FrozenTrial`` of trial ``number`` (for the drill-down), or None."""
        with self._lock:
            self._open()
            if number not in self._number_to_id:
                self._states()
            tid = self._number_to_id.get(number)
            if tid is None:
                return None
            return self._storage.get_trial(tid)


def _count(states: dict) -> dict:
    out: dict = {}
    for _, state in states.values():
        out[state] = out.get(state, 0) + 1
    return out
