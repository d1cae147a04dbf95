"""Reading user files (TOML, JSON): every failure is one :class:`InputError` naming the file.

A missing path, a directory, a file we may not read, bytes that are not UTF-8 and
malformed TOML or JSON all end in one sentence that names the file, what it was
read as and what went wrong; nothing here raises anything else.
"""

from __future__ import annotations

import json
import os
import tomllib
from typing import Any

from ._errors import InputError

__all__ = ["MAX_TEXT_BYTES", "read_text", "read_toml", "read_json"]

#: the largest user file read as text (a sweep file, a hardware or tech table, shapes)
MAX_TEXT_BYTES = 16 * 2**20


def read_text(path: str | os.PathLike, what: str) -> str:
    """The UTF-8 text of ``path``; ``what`` names the file in the error (e.g. ``tech file``)."""
    name = os.fspath(path)
    if not os.path.exists(name):
        raise InputError.plain(f"{what} {name!r} not found")
    if os.path.isdir(name):
        raise InputError.plain(f"{what} {name!r} is a directory, not a file")
    if not os.path.isfile(name):  # /dev/zero would never end, a FIFO would block
        raise InputError.plain(f"{what} {name!r} is a device, FIFO or socket, not a file")
    try:
        with open(name, "rb") as fh:
            data = fh.read(MAX_TEXT_BYTES + 1)
        if len(data) > MAX_TEXT_BYTES:
            raise InputError.plain(
                f"{what} {name!r} is larger than {MAX_TEXT_BYTES // 2**20} MiB; not read"
            )
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError.plain(f"{what} {name!r} is not UTF-8 text: {exc.reason}") from None
    except OSError as exc:
        raise InputError.plain(f"{what} {name!r} cannot be read: {exc.strerror}") from None


def read_toml(path: str | os.PathLike, what: str) -> dict[str, Any]:
    """``path`` parsed as TOML (a table)."""
    text = read_text(path, what)
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InputError.plain(f"{what} {os.fspath(path)!r} is not valid TOML: {exc}") from None
    except RecursionError:
        raise InputError.plain(f"{what} {os.fspath(path)!r} nests too deeply to read") from None


def read_json(path: str | os.PathLike, what: str) -> Any:
    """``path`` parsed as JSON; non-finite numbers (``NaN``, ``Infinity``) are refused."""
    text = read_text(path, what)

    def _no_constants(token: str) -> Any:
        raise ValueError(f"{token} is not a finite number")

    try:
        return json.loads(text, parse_constant=_no_constants)
    except ValueError as exc:
        raise InputError.plain(f"{what} {os.fspath(path)!r} is not valid JSON: {exc}") from None
    except RecursionError:
        raise InputError.plain(f"{what} {os.fspath(path)!r} nests too deeply to read") from None
