"""Opening a study storage (SQLite, journal file, any Optuna RDB URL), safely, for reading or writing.

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
from urllib.parse import quote

from accelerators import InputError
from codesign.files import flocked

from .journal_lock import JournalFlock
from .urls import expand_home, shown_url, sqlite_path, storage_file

__all__ = [
    "open_storage",
    "storage_file",
    "study_names",
    "quiet_optuna",
    "first_line",
    "shown_url",
    "driver_problem",
]

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


def quiet_optuna():
    """Optuna, its log at WARNING at most (a command that asked for less keeps it)."""
    import optuna

    if optuna.logging.get_verbosity() < optuna.logging.WARNING:
        optuna.logging.set_verbosity(optuna.logging.WARNING)
    return optuna


#: what SQLite says when a study file's bytes are damaged (pages overwritten, bytes that
#: are not UTF-8 where Optuna stored JSON text)
DAMAGE_SIGNS = ("malformed", "not a database", "Could not decode to UTF-8")
#: the longest reason quoted from a database driver (its messages may quote a whole row)
MAX_REASON = 200


def first_line(exc: BaseException) -> str:
    """The first line of ``exc``, with the first line of its cause when it has one
    (Optuna wraps every database error in a generic "An exception is raised during
    the commit ..." whose cause says what went wrong); a damaged file is named so
    (:func:`damage_reason`)."""
    text = str(exc).strip()
    line = text.splitlines()[0] if text else type(exc).__name__
    cause = exc.__cause__
    if cause is not None and str(cause).strip():
        line += f" ({str(cause).strip().splitlines()[0]})"
    return damage_reason(line)


def damage_reason(line: str) -> str:
    """``line`` (a driver's reason, cut to :data:`MAX_REASON` characters), said as a
    damaged file with what to do when it shows one of :data:`DAMAGE_SIGNS`."""
    if len(line) > MAX_REASON:
        line = line[: MAX_REASON - 3] + "..."
    if any(sign in line for sign in DAMAGE_SIGNS):
        return f"the database file is damaged ({line}); restore it from a copy or rerun the sweep"
    return line


def _check_parent(path: str, url: str, write: bool) -> None:
    parent = os.path.dirname(os.path.abspath(path))
    if os.path.isdir(parent):
        if write and not os.access(parent, os.W_OK):
            raise InputError.plain(
                f"storage {shown_url(url)!r}: directory {parent!r} is not writable (a study needs to write "
                "its file and journal there)"
            )
        return
    if not write:
        raise InputError.plain(f"storage {shown_url(url)!r}: directory {parent!r} not found")
    from codesign.files import check_writable_dir

    try:  # tried first, leaving nothing behind when it fails part-way (a path over PATH_MAX)
        check_writable_dir(parent)
        os.makedirs(parent, exist_ok=True)
    except (InputError, OSError) as exc:
        why = exc.strerror if isinstance(exc, OSError) else exc
        raise InputError.plain(f"storage {shown_url(url)!r} cannot be created: {why}") from None


def _check_study_file(path: str, url: str, write: bool) -> bool:
    """Whether ``path`` exists as a usable study file; refuses one that is not a study."""
    if os.path.isdir(path):
        raise InputError.plain(
            f"storage {shown_url(url)!r}: {path!r} is a directory, not a study file"
        )
    if not os.path.exists(path):
        if not write:
            raise InputError.plain(f"storage {shown_url(url)!r}: file {path!r} not found")
        return False
    if not os.path.isfile(path):
        raise InputError.plain(
            f"storage {shown_url(url)!r}: {path!r} is a device, FIFO or socket, not a file"
        )
    if not os.access(path, os.R_OK):
        raise InputError.plain(f"storage {shown_url(url)!r}: file {path!r} is not readable")
    if write and not os.access(path, os.W_OK):
        raise InputError.plain(f"storage {shown_url(url)!r}: file {path!r} is read-only")
    return os.path.getsize(path) > 0


def _file_uri(path: str) -> str:
    """``path`` as a SQLite URI filename (``file:/abs/path``), percent-encoded: a ``#``,
    ``?`` or ``%`` in a file name is part of the name, not the URI's fragment, query or an
    escape (``file:/runs/a#1.db?mode=ro`` would open ``/runs/a`` read-write, creating it).

    >>> _file_uri("/runs/a#1 %.db")
    'file:/runs/a%231%20%25.db'
    """
    return "file:" + quote(os.path.abspath(path))


def _sqlite_tables(path: str, url: str, query: str = "mode=ro") -> set[str]:
    """The tables of the SQLite file ``path``, read through SQLite only (``query``: the URI
    parameters): never with ``open()``, whose ``close()`` would drop every POSIX lock this
    process's connections hold on the file (https://www.sqlite.org/howtocorrupt.html, 2.2).
    SQLite keeps one record of each file for all its connections in a process and closes
    no descriptor of it while any of them holds a lock."""
    try:
        con = sqlite3.connect(f"{_file_uri(path)}?{query}", uri=True)
        try:
            rows = con.execute("SELECT name FROM sqlite_master WHERE type='table'").fetchall()
        finally:
            con.close()
    except sqlite3.DatabaseError as exc:
        if query == "mode=ro" and _needs_shm(path):
            folder = os.path.dirname(os.path.abspath(path))
            raise InputError.plain(
                f"storage {shown_url(url)!r}: study file {path!r} is in WAL mode and its directory "
                f"{folder!r} is not writable: SQLite must create the file's -shm index there "
                "to read it; make the directory writable or copy the file somewhere writable"
            ) from None
        if "unable to open" in str(exc):
            raise InputError.plain(
                f"storage {shown_url(url)!r}: {path!r} cannot be opened ({exc}; a study in WAL mode "
                "needs its directory writable or its -shm file present)"
            ) from None
        if "not a database" in str(exc):
            raise InputError.plain(
                f"storage {shown_url(url)!r}: {path!r} is not a SQLite database"
            ) from None
        raise InputError.plain(
            f"storage {shown_url(url)!r}: {path!r} cannot be read ({exc})"
        ) from None
    return {r[0] for r in rows}


def _needs_shm(path: str) -> bool:
    """Whether SQLite cannot read ``path`` only for want of its ``-shm`` index: a WAL-mode
    file in a directory this process cannot write, with no ``-shm`` beside it, that SQLite
    reads as immutable (without the index) though not read-only (which needs it; a rollback
    journal left beside it is another reason, not this one)."""
    folder = os.path.dirname(os.path.abspath(path))
    if os.access(folder, os.W_OK) or any(os.path.exists(path + s) for s in ("-shm", "-journal")):
        return False
    try:
        _sqlite_tables(path, "", "mode=ro&immutable=1")
    except InputError:
        return False
    return True


def _open_sqlite(url: str, path: str, write: bool):
    optuna = quiet_optuna()
    if path:
        _check_parent(path, url, write)
        if _check_study_file(path, url, write):
            tables = _sqlite_tables(path, url)
            foreign = tables - _OPTUNA_SCHEMA
            if foreign and not _OPTUNA_TABLES <= tables:
                raise InputError.plain(
                    f"storage {shown_url(url)!r}: {path!r} is a SQLite database but not an Optuna study "
                    "storage; refusing to touch it"
                )
            if not _OPTUNA_TABLES <= tables and not write:
                raise InputError.plain(f"storage {shown_url(url)!r}: {path!r} holds no study")
        elif not write:  # empty file
            raise InputError.plain(f"storage {shown_url(url)!r}: {path!r} holds no study")
    if not write:
        from sqlalchemy.engine import URL

        # SQLAlchemy decodes the URL's %xx once, SQLite the file URI's once more
        ro = URL.create("sqlite", database=_file_uri(path), query={"mode": "ro", "uri": "true"})
        return optuna.storages.RDBStorage(
            ro.render_as_string(hide_password=False),
            skip_table_creation=True,
            skip_compatibility_check=True,
        )
    with _schema_lock(path):
        store = _create_sqlite_storage(optuna, url)
    _writer_sqlite(store.engine)
    return store


@contextlib.contextmanager
def _schema_lock(path: str):
    """Hold an exclusive ``flock`` on the study file's directory while Optuna creates its
    schema.

    Two processes creating one SQLite schema at once see each other's tables half
    made (Optuna creates them one by one, then stamps its version rows), so the
    second one could read a partial schema. ``flock`` locks are independent of the
    POSIX locks SQLite itself takes, so this serializes only the opening.

    The lock is on the directory, never on the study file: closing *any* descriptor of
    the file would drop every POSIX lock this process's SQLite connections hold on it
    (https://www.sqlite.org/howtocorrupt.html, section 2.2), and another process closing
    its connection would then take itself for the last one and delete the WAL and its
    ``-shm`` index under the connections still open here.
    """
    if not path:
        yield
        return
    with flocked(os.path.dirname(os.path.abspath(path))):
        yield


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
    optuna = quiet_optuna()
    from optuna.storages.journal import JournalFileBackend

    path = url[len("journal://") :]  # journal:///abs/x.log -> /abs/x.log
    if not path:
        raise InputError("--storage", shown_url(url), "journal:///path/to/file.log")
    _check_parent(path, url, write)
    if _check_study_file(path, url, write):
        with open(path, "rb") as f:
            head = f.readline(65536)
        try:
            op = json.loads(head)
            ok = isinstance(op, dict) and "op_code" in op
        except (ValueError, RecursionError):
            ok = False
        if not ok:
            raise InputError.plain(
                f"storage {shown_url(url)!r}: {path!r} is not an Optuna journal; refusing to touch it"
            )
    try:
        lock = JournalFlock(path) if JournalFlock.supported else None
        return optuna.storages.JournalStorage(JournalFileBackend(path, lock_obj=lock))
    except OSError as exc:
        raise InputError.plain(
            f"storage {shown_url(url)!r} cannot be opened: {exc.strerror}"
        ) from None


def open_storage(url: str, *, write: bool = False):
    """An Optuna storage for ``url``; anything unusable is one :class:`InputError`.

    ``write=False`` never creates or alters a file (see the module docstring).
    """
    url = expand_home(url)
    if not isinstance(url, str) or "://" not in url:
        raise InputError("--storage", shown_url(url), "a storage URL such as sqlite:///runs/x.db")
    if url.startswith("journal:"):
        return _open_journal(url, write)
    path = sqlite_path(url)
    if path == "":
        raise InputError(
            "--storage", url, "a SQLite file (sqlite:///path/x.db): in memory, nothing is kept"
        )
    try:
        if path is not None:
            return _open_sqlite(url, path, write)
        optuna = quiet_optuna()
        if write:
            return optuna.storages.RDBStorage(url)
        return optuna.storages.RDBStorage(
            url, skip_table_creation=True, skip_compatibility_check=True
        )
    except InputError:
        raise
    except Exception as exc:  # SQLAlchemy: bad driver, unreachable host, corrupt file ...
        why = first_line(exc).replace(url, shown_url(url))  # a driver may quote the URL
        raise InputError.plain(f"storage {shown_url(url)!r} cannot be opened: {why}") from None


def driver_problem(url: str) -> str | None:
    """Why a database URL's driver cannot be loaded (its Python module is not installed, or
    the scheme is no SQLAlchemy dialect), as one line; None when it loads, and for SQLite
    and journal files. Unlike a database server that is not up yet, no wait fixes this."""
    if url.startswith("journal:") or sqlite_path(url) is not None:
        return None
    try:
        from sqlalchemy.engine import make_url

        make_url(url).get_dialect().import_dbapi()
    except Exception as exc:  # ImportError, NoSuchModuleError, ArgumentError (malformed)
        why = first_line(exc).replace(url, shown_url(url))
        return f"storage {shown_url(url)!r} cannot be opened: {why}"
    return None


def study_names(storage) -> list[str]:
    """The names of the studies in ``storage``, oldest first."""
    return [s.study_name for s in storage.get_all_studies()]
