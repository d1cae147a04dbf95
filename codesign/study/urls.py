"""What a study storage URL names: its local file, how it may be shown, where ``~`` points.

Pure string work (SQLAlchemy's URL parser, no connection): :mod:`codesign.study.storages`
opens what these name.
"""

from __future__ import annotations

import os
import re

from accelerators import InputError

__all__ = ["shown_url", "expand_home", "storage_file", "sqlite_path"]


#: a password in a URL: ``scheme://user:PASSWORD@host`` (up to the last ``@``, so a
#: password holding an unescaped ``@`` is hidden whole) or a ``password=`` query parameter
_PASSWORD = re.compile(r"^(?P<head>[A-Za-z][\w+.-]*://[^:/@]*:).*@|(?P<key>[?&]password=)[^&#]*")


def shown_url(url) -> str:
    """``url`` as error lines and summaries may show it: a password replaced by ``***``
    (a terminal, a CI log or a bug report is no place for it).

    >>> shown_url("postgresql://bob:s3cret@db.example/sweeps")
    'postgresql://bob:***@db.example/sweeps'
    >>> shown_url("postgresql://db.example/sweeps?user=bob&password=s3cret")
    'postgresql://db.example/sweeps?user=bob&password=***'
    >>> shown_url("sqlite:///runs/x.db")
    'sqlite:///runs/x.db'
    """
    if not isinstance(url, str):
        return url
    return _PASSWORD.sub(lambda m: f"{m['head']}***@" if m["head"] else f"{m['key']}***", url)


def expand_home(url: str) -> str:
    """``url`` with a leading ``~`` of its file path expanded: no shell expands it inside a
    URL (``sqlite:///~/x.db``, a sweep file's ``storage``), and taken as it is, a directory
    literally named ``~`` was created in the working directory.

    >>> import os; expand_home("sqlite:///~/x.db") == "sqlite:///" + os.path.expanduser("~/x.db")
    True
    """
    for prefix in ("sqlite:///", "journal://"):
        if isinstance(url, str) and url.startswith(prefix + "~"):
            return prefix + os.path.expanduser(url[len(prefix) :])
    return url


def storage_file(url: str) -> str | None:
    """The local file a storage URL names (SQLite or journal), None for a server database."""
    url = expand_home(url)
    if url.startswith("journal:"):
        return url[len("journal://") :] or None
    return sqlite_path(url) or None


def sqlite_path(url: str) -> str | None:
    """The file of a SQLite URL ('' for in-memory), None for other databases."""
    from sqlalchemy.engine import make_url

    try:
        parsed = make_url(url)
    except Exception:  # sqlalchemy raises ArgumentError (and others) for nonsense
        raise InputError(
            "--storage", shown_url(url), "a storage URL such as sqlite:///runs/x.db"
        ) from None
    if not parsed.drivername.startswith("sqlite"):
        return None
    return "" if parsed.database in (None, "", ":memory:") else parsed.database
