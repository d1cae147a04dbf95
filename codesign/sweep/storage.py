"""Where a sweep's study lives, and how an interrupted one is recovered.

Storage URLs: any SQLAlchemy database URL Optuna's ``RDBStorage`` takes
(``sqlite:///runs/x.db`` embedded, ``postgresql://host/db`` for several
hosts), or ``journal:///path/to/file.log`` for Optuna's append-only journal
file. One coordinator process per sweep command does every write (its worker
processes or Dask workers only compute), so the embedded SQLite file sees one
writer per command and stays safe under ``--jobs N``. SQLite files are used in
WAL mode (see :func:`_fast_sqlite`).

Each running trial carries two system attributes: ``codesign:owner``
(``{"host", "pid"}`` of the coordinator) and ``codesign:heartbeat`` (Unix
time, refreshed every :data:`HEARTBEAT_S` seconds while it runs). A RUNNING
trial is *stale* when its owner is on this host and the process is gone, or
when its heartbeat is older than :data:`STALE_AFTER_S` (any host). A trial
started by :func:`start_trial` has both from the start; one killed between
Optuna's ``ask`` and the owner write (TPE, NSGA-II) has no owner: it is stale
when no coordinator registered in the study (``codesign:coordinator:<host>:<pid>``)
can still be alive, or after :data:`ASK_GRACE_S`. A stale
trial is marked FAIL with ``user_attrs["error"] = "interrupted ..."`` and
``user_attrs["interrupted"] = True``, and its parameters are enqueued again.
"""

from __future__ import annotations

import json
import os
import socket
import time

from accelerators import InputError

__all__ = [
    "HEARTBEAT_S",
    "STALE_AFTER_S",
    "default_storage_url",
    "open_storage",
    "open_study",
    "recover_stale",
]

HEARTBEAT_S = 30.0
STALE_AFTER_S = 600.0
OWNER = "codesign:owner"
HEARTBEAT = "codesign:heartbeat"


def default_storage_url(name: str) -> str:
    return f"sqlite:///runs/{name}.db"


def open_storage(url: str, create: bool = True):
    """An Optuna storage for ``url``; an unusable URL is one :class:`InputError`."""
    import optuna

    if not isinstance(url, str) or "://" not in url:
        raise InputError("--storage", url, "a database URL such as sqlite:///runs/x.db")
    if url.startswith("journal://"):
        path = url[len("journal://") :]
        _parent(path, url, create)
        from optuna.storages.journal import JournalFileBackend

        try:
            return optuna.storages.JournalStorage(JournalFileBackend(path))
        except OSError as exc:
            raise InputError.plain(f"storage {url!r} cannot be opened: {exc}") from None
    if url.startswith("sqlite:///"):
        path = url[len("sqlite:///") :]
        if path and path != ":memory:":
            if not create and not os.path.isfile(path):
                raise InputError.plain(f"storage {url!r}: file {path!r} not found")
            _parent(path, url, create)
    # two processes creating one SQLite schema at once may collide (a table or
    # Alembic's version row "already exists" / "UNIQUE constraint failed"): retry
    collided = ("already exists", "UNIQUE constraint failed")
    for attempt in range(3):
        try:
            store = optuna.storages.RDBStorage(url, engine_kwargs=_engine_kwargs(url))
            if url.startswith("sqlite"):
                _fast_sqlite(store)
            return store
        except Exception as exc:  # SQLAlchemy: bad driver, host unreachable, auth ...
            if attempt < 2 and url.startswith("sqlite") and any(c in str(exc) for c in collided):
                time.sleep(0.5)
                continue
            msg = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise InputError.plain(f"storage {url!r} cannot be opened: {msg}") from None


def _engine_kwargs(url: str) -> dict:
    # wait for a competing writer instead of failing with "database is locked"
    return {"connect_args": {"timeout": 60}} if url.startswith("sqlite") else {}


def _fast_sqlite(store) -> None:
    """WAL journal and ``synchronous=NORMAL`` on every connection.

    The default rollback journal fsyncs every commit (~13 ms here, and a trial
    makes ~20 commits); in WAL mode with NORMAL sync a commit is a write to the
    log, still atomic and still safe against a killed process (``kill -9``
    loses nothing committed; only an OS crash or power loss may drop the last
    commits). WAL also lets ``codesign dash`` read while a sweep writes.
    """
    from sqlalchemy import event

    def pragmas(dbapi_conn, _record) -> None:
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.close()

    event.listen(store.engine, "connect", pragmas)
    store.engine.dispose()  # reconnect with the pragmas


def _parent(path: str, url: str, create: bool) -> None:
    parent = os.path.dirname(os.path.abspath(path))
    if os.path.isdir(parent):
        return
    if not create:
        raise InputError.plain(f"storage {url!r}: directory {parent!r} not found")
    try:
        os.makedirs(parent, exist_ok=True)
    except OSError as exc:
        raise InputError.plain(f"storage {url!r} cannot be created: {exc}") from None


def study_names(storage) -> list[str]:
    return [s.study_name for s in storage.get_all_studies()]


def open_study(storage, spec, study_name: str, sampler):
    """Load the study ``study_name`` or create it from ``spec``.

    An existing study must come from the same sweep (same objectives, search
    space, sampler, mode); otherwise an :class:`InputError` is raised and
    nothing in the study changes.
    """
    import optuna

    if study_name not in study_names(storage):
        try:
            study = optuna.create_study(
                study_name=study_name, storage=storage, directions=spec.directions, sampler=sampler
            )
        except optuna.exceptions.DuplicatedStudyError:
            pass  # another sweep process created it a moment ago: continue it
        else:
            study.set_user_attr("sweep", spec.to_dict())
            study.set_user_attr("sweep_identity", spec.identity())
            study.set_user_attr("objectives", list(spec.objectives))
            return study
    study = optuna.load_study(study_name=study_name, storage=storage, sampler=sampler)
    for _ in range(50):  # its creator may still be writing the study attributes
        attrs = study.user_attrs
        if "objectives" in attrs:
            break
        time.sleep(0.1)
    if attrs.get("objectives") != list(spec.objectives):
        raise InputError.plain(
            f"study {study_name!r} exists with objectives {attrs.get('objectives')}; "
            f"this sweep asks for {list(spec.objectives)} (use another study name)"
        )
    old, new = attrs.get("sweep_identity"), spec.identity()
    if old is not None and old != new:
        diff = sorted(k for k in set(old) | set(new) if old.get(k) != new.get(k))
        raise InputError.plain(
            f"study {study_name!r} was made by a different sweep (differs in: "
            f"{', '.join(diff)}); use another study name to start a new one"
        )
    return study


def owner() -> dict:
    return {"host": socket.gethostname(), "pid": os.getpid()}


def _rdb(study):
    """The study's ``RDBStorage`` (under Optuna's cache), or None for other storages."""
    try:
        from optuna.storages._rdb.storage import RDBStorage
    except ImportError:  # pragma: no cover - another Optuna layout
        return None
    backend = getattr(study._storage, "_backend", study._storage)
    return backend if isinstance(backend, RDBStorage) else None


def set_attrs(study, trial_id: int, attrs: dict, system: bool = False) -> None:
    """Set several trial attributes; on a database storage in one transaction.

    Optuna commits each attribute on its own. Falls back to one call per
    attribute on other storages.
    """
    backend = _rdb(study)
    if backend is not None:
        from optuna.storages._rdb import models
        from optuna.storages._rdb.storage import _create_scoped_session

        model = models.TrialSystemAttributeModel if system else models.TrialUserAttributeModel
        with _create_scoped_session(backend.scoped_session, True) as session:
            for k, v in attrs.items():
                backend._set_trial_attr_without_commit(session, model, trial_id, k, v)
        return
    setter = study._storage.set_trial_system_attr if system else study._storage.set_trial_user_attr
    for k, v in attrs.items():
        setter(trial_id, k, v)


def start_trial(study, params: dict, distributions: dict) -> tuple[int, int]:
    """Create a RUNNING trial with ``params``, owned by this process; returns ``(id, number)``.

    One transaction (trial, parameters, owner and heartbeat), where Optuna's
    ``ask`` + :func:`mark_running` commit the trial, each parameter and the
    owner apart and read the study's unfinished trials back. The sampler is not
    consulted: the caller chose ``params`` (values of ``distributions``).
    """
    from datetime import datetime

    from optuna.distributions import distribution_to_json
    from optuna.trial import FrozenTrial, TrialState

    now, system = datetime.now(), {OWNER: owner(), HEARTBEAT: time.time()}
    backend = _rdb(study)
    if backend is None:
        template = FrozenTrial(
            number=-1,
            state=TrialState.RUNNING,
            value=None,
            values=None,
            datetime_start=now,
            datetime_complete=None,
            params=params,
            distributions={k: distributions[k] for k in params},
            user_attrs={},
            system_attrs=system,
            intermediate_values={},
            trial_id=-1,
        )
        trial_id = study._storage.create_new_trial(study._study_id, template)
        return trial_id, study._storage.get_trial_number_from_id(trial_id)
    from optuna.storages._rdb import models
    from optuna.storages._rdb.storage import _create_scoped_session

    with _create_scoped_session(backend.scoped_session) as session:
        # as Optuna numbers trials: lock the study, count the trials created before this one
        models.StudyModel.find_or_raise_by_id(study._study_id, session, for_update=True)
        trial = models.TrialModel(study_id=study._study_id, state=TrialState.RUNNING)
        trial.datetime_start = now
        session.add(trial)
        session.flush()
        trial.number = number = trial.count_past_trials(session)
        trial_id = trial.trial_id
        _insert(
            session,
            models.TrialParamModel,
            [
                {
                    "trial_id": trial_id,
                    "param_name": k,
                    "param_value": distributions[k].to_internal_repr(v),
                    "distribution_json": distribution_to_json(distributions[k]),
                }
                for k, v in params.items()
            ],
        )
        _insert_attrs(session, models.TrialSystemAttributeModel, trial_id, system)
    return trial_id, number


def finish_trials(study, results) -> None:
    """Record finished trials; on a database storage all in one transaction.

    ``results``: ``(trial_id, values, user_attrs)`` per trial; ``values`` None
    marks it FAIL, else COMPLETE with those objective values. Replaces Optuna's
    ``tell`` (which reads the trial back twice and commits the state apart from
    the attributes); the samplers' ``after_trial`` hook is skipped: it only acts
    on constraints, which sweeps do not use. A trial that is no longer RUNNING
    (another process marked it interrupted) is left as it is.
    """
    from datetime import datetime

    from optuna.trial import TrialState

    backend = _rdb(study)
    if backend is None:
        for trial_id, values, attrs in results:
            if study._storage.get_trial(trial_id).state != TrialState.RUNNING:
                continue
            set_attrs(study, trial_id, attrs)
            state = TrialState.FAIL if values is None else TrialState.COMPLETE
            study._storage.set_trial_state_values(trial_id, state, values)
        return
    from optuna.storages._rdb import models
    from optuna.storages._rdb.storage import _create_scoped_session

    now = datetime.now()
    with _create_scoped_session(backend.scoped_session) as session:
        for trial_id, values, attrs in results:
            trial = models.TrialModel.find_or_raise_by_id(trial_id, session, for_update=True)
            if trial.state != TrialState.RUNNING:
                continue
            _insert_attrs(session, models.TrialUserAttributeModel, trial_id, attrs)
            rows = []
            for i, v in enumerate(values or ()):
                stored, kind = models.TrialValueModel.value_to_stored_repr(v)
                rows.append(
                    {"trial_id": trial_id, "objective": i, "value": stored, "value_type": kind}
                )
            _insert(session, models.TrialValueModel, rows)
            trial.state = TrialState.FAIL if values is None else TrialState.COMPLETE
            trial.datetime_complete = now


def _insert_attrs(session, model, trial_id: int, attrs: dict) -> None:
    """Insert a new trial's attributes (values stored as JSON)."""
    rows = [{"trial_id": trial_id, "key": k, "value_json": json.dumps(v)} for k, v in attrs.items()]
    _insert(session, model, rows)


def _insert(session, model, rows: list[dict]) -> None:
    """Insert ``rows`` into ``model``'s table with one statement (no ORM bookkeeping)."""
    from sqlalchemy import insert

    if rows:
        session.execute(insert(model), rows)


def trial_counts(study) -> dict:
    """``{TrialState: number of the study's trials in it}``; one query on a database storage.

    Optuna's ``get_n_trials`` reads every trial to count them, which makes a long
    sweep's coordinator slower with every trial it records.
    """
    from collections import Counter

    from optuna.trial import TrialState

    counts = Counter({s: 0 for s in TrialState})
    backend = _rdb(study)
    if backend is None:
        counts.update(t.state for t in study._storage.get_all_trials(study._study_id, False))
        return counts
    from optuna.storages._rdb import models
    from optuna.storages._rdb.storage import _create_scoped_session
    from sqlalchemy import func

    state = models.TrialModel.state
    with _create_scoped_session(backend.scoped_session) as session:
        rows = (
            session.query(state, func.count(models.TrialModel.trial_id))
            .filter(models.TrialModel.study_id == study._study_id)
            .group_by(state)
        )
        counts.update(dict(rows.all()))
    return counts


def mark_running(study, trial_id: int) -> None:
    set_attrs(study, trial_id, {OWNER: owner(), HEARTBEAT: time.time()}, system=True)


def beat(study, trial_ids) -> None:
    now = time.time()
    for tid in trial_ids:
        study._storage.set_trial_system_attr(tid, HEARTBEAT, now)


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


COORD = "codesign:coordinator:"
ASK_GRACE_S = 30.0


def register_coordinator(study) -> None:
    """Note this process in the study (``codesign:coordinator:<host>:<pid>``)."""
    me = owner()
    study._storage.set_study_system_attr(
        study._study_id, f"{COORD}{me['host']}:{me['pid']}", time.time()
    )


def _coordinators_alive(study) -> bool:
    """Whether any coordinator registered in the study may still be running.

    Same-host coordinators are checked by pid; those on other hosts count as
    alive (their trials go stale by heartbeat instead).
    """
    host = socket.gethostname()
    for key in study._storage.get_study_system_attrs(study._study_id):
        if not key.startswith(COORD):
            continue
        h, _, pid = key[len(COORD) :].rpartition(":")
        if h != host or (int(pid) != os.getpid() and _alive(int(pid))):
            return True
    return False


def is_stale(trial, now: float | None = None, coordinators_alive: bool = True) -> bool:
    now = time.time() if now is None else now
    who = trial.system_attrs.get(OWNER)
    if who and who.get("host") == socket.gethostname() and not _alive(int(who.get("pid", -1))):
        return True
    if not who:  # killed between ask and mark_running (two transactions)
        started = trial.datetime_start.timestamp() if trial.datetime_start else now
        if not coordinators_alive or now - started > ASK_GRACE_S:
            return True
    last = trial.system_attrs.get(HEARTBEAT)
    if last is None and trial.datetime_start is not None:
        last = trial.datetime_start.timestamp()
    return last is not None and now - last > STALE_AFTER_S


def recover_stale(study) -> list[int]:
    """Mark stale RUNNING trials FAIL and enqueue their parameters again; returns their numbers."""
    from optuna.trial import TrialState

    recovered = []
    running = study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))
    alive = _coordinators_alive(study) if running else True
    for t in running:
        if not is_stale(t, coordinators_alive=alive):
            continue
        storage = study._storage
        storage.set_trial_user_attr(t._trial_id, "interrupted", True)
        storage.set_trial_user_attr(
            t._trial_id, "error", "interrupted: its sweep process died; parameters re-enqueued"
        )
        study.tell(t.number, state=TrialState.FAIL, skip_if_finished=True)
        if t.params:
            study.enqueue_trial(dict(t.params))
        recovered.append(t.number)
    return recovered
