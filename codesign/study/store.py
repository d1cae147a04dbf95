"""The one door to a study: open a storage, read and write trials, through Optuna's public API.

Sweeps, ``codesign export`` and the dashboard all go through :class:`StudyStore`;
nothing in codesign or dashboards touches Optuna's tables or private modules,
so an Optuna schema migration costs no code here.

Storage URLs:

- ``sqlite:///path/to/x.db`` (the default, embedded), or any database URL
  Optuna's ``RDBStorage`` takes (``postgresql://host/db`` for several hosts);
- ``journal:///path/to/x.log``: Optuna's append-only journal file.

Writers (``write=True``) get SQLite in WAL mode with ``synchronous=NORMAL``
(a commit is an append to the log, still atomic under ``kill -9``) and every
transaction opened with ``BEGIN IMMEDIATE``: Python's sqlite3 driver otherwise
runs a transaction's first SELECT outside any lock, so two processes could both
read a queued trial as WAITING and both claim it. With the write lock taken
first, :meth:`StudyStore.claim` (Optuna's ``set_trial_state_values(RUNNING)``,
which returns False when the trial is no longer WAITING) is one atomic step, as
it already is on PostgreSQL (``SELECT ... FOR UPDATE``) and in the journal
(file lock).

Readers (``write=False``) never create or change anything: a SQLite file is
checked read-only to exist and hold Optuna's tables, then opened with
``mode=ro``; a journal file must exist. A file that is not a study is refused.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import time
from collections import Counter
from collections.abc import Iterable
from datetime import datetime

try:
    import fcntl
except ImportError:  # Windows: no flock; schema races fall back to retrying
    fcntl = None

from accelerators import InputError

from .contract import STUDY_ATTR

__all__ = ["StudyStore", "open_storage", "storage_file", "study_names"]

_OPTUNA_TABLES = {"studies", "trials", "trial_params", "trial_user_attributes"}
# every table Optuna's schema creates: a database holding only some of them is one
# another process is creating right now (tables appear one by one), not a foreign file
_OPTUNA_SCHEMA = _OPTUNA_TABLES | {
    "alembic_version",
    "version_info",
    "study_directions",
    "study_user_attributes",
    "study_system_attributes",
    "trial_system_attributes",
    "trial_values",
    "trial_intermediate_values",
    "trial_heartbeats",
}


def _quiet_optuna():
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return optuna


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def storage_file(url: str) -> str | None:
    """The local file a storage URL names (SQLite or journal), None for a server database."""
    if url.startswith("journal:"):
        return url[len("journal://") :] or None
    return _sqlite_path(url) or None


def _sqlite_path(url: str) -> str | None:
    """The file of a SQLite URL ('' for in-memory), None for other databases."""
    from sqlalchemy.engine import make_url

    try:
        parsed = make_url(url)
    except Exception:  # sqlalchemy raises ArgumentError (and others) for nonsense
        raise InputError("--storage", url, "a storage URL such as sqlite:///runs/x.db") from None
    if not parsed.drivername.startswith("sqlite"):
        return None
    return "" if parsed.database in (None, "", ":memory:") else parsed.database


def _check_parent(path: str, url: str, write: bool) -> None:
    parent = os.path.dirname(os.path.abspath(path))
    if os.path.isdir(parent):
        if write and not os.access(parent, os.W_OK):
            raise InputError.plain(
                f"storage {url!r}: directory {parent!r} is not writable (a study needs to write "
                "its file and journal there)"
            )
        return
    if not write:
        raise InputError.plain(f"storage {url!r}: directory {parent!r} not found")
    try:
        os.makedirs(parent, exist_ok=True)
    except OSError as exc:
        raise InputError.plain(f"storage {url!r} cannot be created: {exc.strerror}") from None


def _check_study_file(path: str, url: str, write: bool) -> bool:
    """Whether ``path`` exists as a usable study file; refuses one that is not a study."""
    if os.path.isdir(path):
        raise InputError.plain(f"storage {url!r}: {path!r} is a directory, not a study file")
    if not os.path.exists(path):
        if not write:
            raise InputError.plain(f"storage {url!r}: file {path!r} not found")
        return False
    if not os.access(path, os.R_OK):
        raise InputError.plain(f"storage {url!r}: file {path!r} is not readable")
    if write and not os.access(path, os.W_OK):
        raise InputError.plain(f"storage {url!r}: file {path!r} is read-only")
    return os.path.getsize(path) > 0


def _sqlite_tables(path: str, url: str) -> set[str]:
    try:
        con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            rows = con.execute("SELECT name FROM sqlite_master WHERE type='table'").fetchall()
        finally:
            con.close()
    except sqlite3.DatabaseError as exc:
        if "unable to open" in str(exc):
            raise InputError.plain(
                f"storage {url!r}: {path!r} cannot be opened ({exc}; a study in WAL mode "
                "needs its directory writable or its -shm file present)"
            ) from None
        if "not a database" in str(exc):
            raise InputError.plain(f"storage {url!r}: {path!r} is not a SQLite database") from None
        raise InputError.plain(f"storage {url!r}: {path!r} cannot be read ({exc})") from None
    return {r[0] for r in rows}


def _open_sqlite(url: str, path: str, write: bool):
    optuna = _quiet_optuna()
    if path:
        _check_parent(path, url, write)
        if _check_study_file(path, url, write):
            tables = _sqlite_tables(path, url)
            foreign = tables - _OPTUNA_SCHEMA
            if foreign and not _OPTUNA_TABLES <= tables:
                raise InputError.plain(
                    f"storage {url!r}: {path!r} is a SQLite database but not an Optuna study "
                    "storage; refusing to touch it"
                )
            if not _OPTUNA_TABLES <= tables and not write:
                raise InputError.plain(f"storage {url!r}: {path!r} holds no study")
        elif not write:  # empty file
            raise InputError.plain(f"storage {url!r}: {path!r} holds no study")
    if not write:
        ro = f"sqlite:///file:{os.path.abspath(path)}?mode=ro&uri=true"
        return optuna.storages.RDBStorage(
            ro, skip_table_creation=True, skip_compatibility_check=True
        )
    with _schema_lock(path):
        store = _create_sqlite_storage(optuna, url)
    _writer_sqlite(store.engine)
    return store


@contextlib.contextmanager
def _schema_lock(path: str):
    """Hold an exclusive ``flock`` on the study file while Optuna creates its schema.

    Two processes creating one SQLite schema at once see each other's tables half
    made (Optuna creates them one by one, then stamps its version rows), so the
    second one could read a partial schema. ``flock`` locks are independent of the
    POSIX locks SQLite itself takes, so this serializes only the opening.
    """
    if not path or fcntl is None:
        yield
        return
    with open(path, "ab") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _create_sqlite_storage(optuna, url: str):
    # without the file lock (Windows) two openers may still collide on a table or Alembic's
    # version row ("already exists" / "UNIQUE constraint failed"): retry
    for attempt in range(5):
        try:
            return optuna.storages.RDBStorage(
                url, engine_kwargs={"connect_args": {"timeout": 60, "isolation_level": None}}
            )
        except Exception as exc:
            collided = ("already exists", "UNIQUE constraint failed", "database is locked")
            if attempt == 4 or not any(c in str(exc) for c in collided):
                raise
            time.sleep(0.3 * (attempt + 1))
    raise AssertionError("unreachable")


def _writer_sqlite(engine) -> None:
    """WAL, ``synchronous=NORMAL`` and ``BEGIN IMMEDIATE`` on every connection of ``engine``."""
    from sqlalchemy import event

    def on_connect(dbapi_conn, _record) -> None:
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.close()

    def on_begin(conn) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")

    event.listen(engine, "connect", on_connect)
    event.listen(engine, "begin", on_begin)
    engine.dispose()  # reconnect with the pragmas


def _open_journal(url: str, write: bool):
    optuna = _quiet_optuna()
    from optuna.storages.journal import JournalFileBackend

    path = url[len("journal://") :]  # journal:///abs/x.log -> /abs/x.log
    if not path:
        raise InputError("--storage", url, "journal:///path/to/file.log")
    _check_parent(path, url, write)
    if _check_study_file(path, url, write):
        with open(path, "rb") as f:
            head = f.readline(65536)
        try:
            op = json.loads(head)
            ok = isinstance(op, dict) and "op_code" in op
        except ValueError:
            ok = False
        if not ok:
            raise InputError.plain(
                f"storage {url!r}: {path!r} is not an Optuna journal; refusing to touch it"
            )
    try:
        return optuna.storages.JournalStorage(JournalFileBackend(path))
    except OSError as exc:
        raise InputError.plain(f"storage {url!r} cannot be opened: {exc.strerror}") from None


def open_storage(url: str, *, write: bool = False):
    """An Optuna storage for ``url``; anything unusable is one :class:`InputError`.

    ``write=False`` never creates or alters a file (see the module docstring).
    """
    if not isinstance(url, str) or "://" not in url:
        raise InputError("--storage", url, "a storage URL such as sqlite:///runs/x.db")
    if url.startswith("journal:"):
        return _open_journal(url, write)
    path = _sqlite_path(url)
    try:
        if path is not None:
            return _open_sqlite(url, path, write)
        optuna = _quiet_optuna()
        if write:
            return optuna.storages.RDBStorage(url)
        return optuna.storages.RDBStorage(
            url, skip_table_creation=True, skip_compatibility_check=True
        )
    except InputError:
        raise
    except Exception as exc:  # SQLAlchemy: bad driver, unreachable host, corrupt file ...
        raise InputError.plain(f"storage {url!r} cannot be opened: {_first_line(exc)}") from None


def study_names(storage) -> list[str]:
    """The names of the studies in ``storage``, oldest first."""
    return [s.study_name for s in storage.get_all_studies()]


class StudyStore:
    """One study in one storage. Every read and write of a study goes through here.

    Build it with :meth:`open` (an existing study) or :meth:`create` (new or
    existing). ``trial_id`` is the storage's id of a trial; ``number`` its
    0-based position in the study.
    """

    def __init__(self, url: str, storage, study_id: int, name: str):
        self.url, self.storage, self.study_id, self.name = url, storage, study_id, name
        self._reader = None  # an optuna.Study over the same storage, for cached reads

    # -- opening ---------------------------------------------------------------------------
    @classmethod
    def open(cls, url: str, name: str | None = None, *, write: bool = False) -> StudyStore:
        """The study ``name`` (default: the only one, else an error listing them)."""
        storage = open_storage(url, write=write)
        names = _call(url, study_names, storage)
        if name is None:
            if len(names) == 1:
                name = names[0]
            elif not names:
                raise InputError.plain(f"storage {url!r} holds no study")
            else:
                raise InputError("--study", None, "one of " + ", ".join(sorted(names)))
        elif name not in names:
            allowed = "one of " + ", ".join(sorted(names)) if names else "an existing study"
            raise InputError("--study", name, allowed)
        return cls(url, storage, storage.get_study_id_from_name(name), name)

    @classmethod
    def create(
        cls, url: str, name: str, directions: list[str], user_attrs: dict
    ) -> tuple[StudyStore, bool]:
        """Open the study ``name``, creating it with ``directions`` and ``user_attrs`` if absent.

        Returns ``(store, created)``; of several processes creating one study at
        once, exactly one gets ``created=True``. The attributes are written after
        the study row: a reader may see a new study without them for a moment.
        """
        optuna = _quiet_optuna()
        from optuna.study import StudyDirection

        storage = open_storage(url, write=True)
        dirs = [StudyDirection[d.upper()] for d in directions]
        try:
            study_id = _call(url, storage.create_new_study, dirs, name)
        except optuna.exceptions.DuplicatedStudyError:
            return cls(url, storage, storage.get_study_id_from_name(name), name), False
        for k, v in user_attrs.items():
            storage.set_study_user_attr(study_id, k, v)
        return cls(url, storage, study_id, name), True

    def optuna_study(self, sampler=None):
        """This study as an ``optuna.Study`` (for ``ask``, ``best_trials``, ``trials_dataframe``)."""
        optuna = _quiet_optuna()
        return optuna.load_study(study_name=self.name, storage=self.storage, sampler=sampler)

    # -- study attributes ------------------------------------------------------------------
    @property
    def user_attrs(self) -> dict:
        return self.storage.get_study_user_attrs(self.study_id)

    @property
    def system_attrs(self) -> dict:
        return self.storage.get_study_system_attrs(self.study_id)

    @property
    def directions(self) -> list[str]:
        return [d.name.lower() for d in self.storage.get_study_directions(self.study_id)]

    @property
    def objectives(self) -> list[str]:
        """The objective names (contract 3), or ``value0, value1 ...`` for a foreign study."""
        names = self.user_attrs.get(STUDY_ATTR.OBJECTIVES)
        n = len(self.directions)
        if isinstance(names, list) and len(names) == n and all(isinstance(o, str) for o in names):
            return names
        return [f"value{i}" for i in range(n)]

    def set_study_system_attr(self, key: str, value) -> None:
        self.storage.set_study_system_attr(self.study_id, key, value)

    # -- reading trials --------------------------------------------------------------------
    def trials(self, states: Iterable | None = None) -> list:
        """The study's trials (``FrozenTrial``, not copies: do not modify), oldest first.

        Read through ``optuna.load_study``, which on a database storage re-reads
        only the trials that were unfinished or new since the last call.
        """
        if self._reader is None:
            self._reader = self.optuna_study()
        states = tuple(states) if states is not None else None
        return self._reader.get_trials(deepcopy=False, states=states)

    def counts(self) -> Counter:
        """``{TrialState: how many trials are in it}``."""
        from optuna.trial import TrialState

        counts = Counter({s: 0 for s in TrialState})
        counts.update(t.state for t in self.trials())
        return counts

    def trial_id(self, number: int) -> int | None:
        """The storage's id of trial ``number`` (None if there is none): Optuna keeps it
        private on ``Trial``/``FrozenTrial``, so it is looked up through the storage."""
        try:
            return self.storage.get_trial_id_from_study_id_trial_number(self.study_id, number)
        except KeyError:
            return None

    def trial(self, number: int):
        """Trial ``number``, or None if the study has no such trial."""
        trial_id = self.trial_id(number)
        return None if trial_id is None else self.storage.get_trial(trial_id)

    def trial_by_id(self, trial_id: int):
        return self.storage.get_trial(trial_id)

    def trials_from(self, number: int) -> list:
        """Trials ``number``, ``number + 1`` ... up to the newest (cheap when few are new)."""
        out = []
        while (t := self.trial(number)) is not None:
            out.append(t)
            number += 1
        return out

    # -- writing trials --------------------------------------------------------------------
    def _new(self, state, params: dict, distributions: dict, system_attrs: dict) -> int:
        from optuna.trial import FrozenTrial, TrialState

        template = FrozenTrial(
            number=-1,
            state=state,
            value=None,
            values=None,
            datetime_start=datetime.now() if state == TrialState.RUNNING else None,
            datetime_complete=None,
            params=params,
            distributions={k: distributions[k] for k in params},
            user_attrs={},
            system_attrs=system_attrs,
            intermediate_values={},
            trial_id=-1,
        )
        return self.storage.create_new_trial(self.study_id, template)

    def start(self, params: dict, distributions: dict, system_attrs: dict) -> tuple[int, int]:
        """A new RUNNING trial with ``params`` (one transaction); returns ``(trial_id, number)``."""
        from optuna.trial import TrialState

        trial_id = self._new(TrialState.RUNNING, params, distributions, system_attrs)
        return trial_id, self.storage.get_trial_number_from_id(trial_id)

    def enqueue(self, params: dict, distributions: dict, system_attrs: dict) -> int:
        """A new WAITING trial with ``params``, for :meth:`claim`; returns its id."""
        from optuna.trial import TrialState

        return self._new(TrialState.WAITING, params, distributions, system_attrs)

    def claim(self, trial_id: int) -> bool:
        """Make a WAITING trial RUNNING; False when another process claimed or finished it."""
        import optuna
        from optuna.trial import TrialState

        try:
            return bool(self.storage.set_trial_state_values(trial_id, TrialState.RUNNING))
        except optuna.exceptions.UpdateFinishedTrialError:
            return False

    def set_trial_system_attrs(self, trial_id: int, attrs: dict) -> None:
        for k, v in attrs.items():
            self.storage.set_trial_system_attr(trial_id, k, v)

    def finish(self, trial_id: int, values: list[float] | None, user_attrs: dict, state=None):
        """Record a result: attributes, then COMPLETE with ``values`` (FAIL when None).

        ``state`` overrides the final state (e.g. PRUNED). A trial that is no longer
        RUNNING (another process recovered it) is left as it is; returns whether written.
        """
        import optuna
        from optuna.trial import TrialState

        try:
            if self.storage.get_trial(trial_id).state != TrialState.RUNNING:
                return False
            for k, v in user_attrs.items():
                self.storage.set_trial_user_attr(trial_id, k, v)
            final = state or (TrialState.FAIL if values is None else TrialState.COMPLETE)
            self.storage.set_trial_state_values(
                trial_id, final, None if values is None else list(values)
            )
        except optuna.exceptions.UpdateFinishedTrialError:
            return False
        return True

    # -- tables ----------------------------------------------------------------------------
    def dataframe(self):
        """Optuna's ``trials_dataframe`` of every trial (attributes as nested values)."""
        return self.optuna_study().trials_dataframe(
            attrs=(
                "number",
                "state",
                "datetime_start",
                "datetime_complete",
                "duration",
                "params",
                "values",
                "user_attrs",
            ),
            multi_index=False,
        )


def _call(url: str, fn, *args):
    """``fn(*args)``, with a storage failure (corrupt file, lost connection) as one InputError."""
    import optuna

    try:
        return fn(*args)
    except (InputError, optuna.exceptions.DuplicatedStudyError):
        raise
    except Exception as exc:  # SQLAlchemy / journal errors on a broken storage
        raise InputError.plain(f"storage {url!r} cannot be read: {_first_line(exc)}") from None
