"""Atomic file writes and a ``ternary.npz`` reader that turns any damage into one clean error.

No torch here: ``codesign simulate`` and ``codesign size`` use it.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import zipfile
import zlib

from accelerators import InputError, LayerTensor, load_ternary_npz

try:
    import fcntl
except ImportError:  # Windows: no flock; flocked() holds nothing there
    fcntl = None

__all__ = [
    "atomic_path",
    "check_out_file",
    "check_writable_dir",
    "flocked",
    "load_weights",
    "missing_dirs",
]


@contextlib.contextmanager
def flocked(path: str | os.PathLike, wait: bool = True):
    """Hold an exclusive ``flock`` on ``path`` (a file or a directory) while the block runs.

    The kernel drops it when the descriptor closes or the process dies, however it dies
    (``kill -9`` too), and it leaves no lock file behind. ``wait=False`` raises
    ``BlockingIOError`` at once when another process holds it. Where there is no
    ``fcntl`` (Windows) nothing is held.
    """
    if fcntl is None:
        yield
        return
    fd = os.open(path, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        yield
    finally:
        os.close(fd)  # releases the flock


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, suffix: str = ""):
    """Yield a temporary path beside ``path``; on success rename it over ``path``.

    A reader never sees half a file: either the old one or the complete new
    one. On an exception the temporary file is removed and ``path`` is untouched.
    """
    path = os.fspath(path)
    d = os.path.dirname(path) or "."
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=suffix or os.path.basename(path), dir=d)
    os.close(fd)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)  # as open() would create it (mkstemp makes it 0600)
    try:
        yield tmp
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def load_weights(path: str | os.PathLike) -> list[LayerTensor]:
    """:func:`accelerators.load_ternary_npz`, with a truncated or corrupt zip as ``InputError``.

    (``load_ternary_npz`` lets ``zipfile.BadZipFile``, ``EOFError`` and
    ``zlib.error`` through; those mean the same thing: not a readable ternary.npz.)
    """
    try:
        return load_ternary_npz(path)
    except (zipfile.BadZipFile, EOFError, zlib.error, OSError) as exc:
        raise InputError.plain(
            f"weights file {os.fspath(path)!r} is truncated or corrupt "
            f"(not a readable ternary.npz): {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}"
        ) from None


def check_writable_dir(run_dir: str | os.PathLike) -> None:
    """Raise ``InputError`` unless files can be written into ``run_dir`` (created if need be).

    Really tries: creates the directory, writes and removes a probe file, then
    removes the directories it created, so a later save finds things as they were.
    """
    run_dir = os.path.abspath(os.fspath(run_dir))
    created = missing_dirs(run_dir)
    try:
        if os.path.exists(run_dir) and not os.path.isdir(run_dir):
            raise NotADirectoryError(f"{run_dir!r} is a file")
        os.makedirs(run_dir, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".probe-", dir=run_dir)
        os.close(fd)
        os.unlink(tmp)
    except OSError as exc:
        raise InputError.plain(f"cannot write into {run_dir!r}: {exc.strerror or exc}") from None
    finally:
        for d in created:  # deepest first
            with contextlib.suppress(OSError):
                os.rmdir(d)


def check_out_file(out: str, flag: str, overwrite: bool = False) -> None:
    """Raise ``InputError`` naming ``flag`` unless ``out`` can be written as a new file:
    not a directory, device, FIFO or socket; not existing (unless ``overwrite``); in an
    existing directory where a file can be created; a name the file system takes.
    Checked before any work, so no work is lost to it after."""
    if os.path.isdir(out):
        raise InputError(flag, out, "a file path (this is a directory)")
    if os.path.exists(out) and not os.path.isfile(out):  # /dev/full, a FIFO, a socket
        raise InputError(flag, out, "a regular file path (this is a device, FIFO or socket)")
    if os.path.lexists(out) and not overwrite:
        raise InputError(flag, out, "a path that does not exist yet (or pass --overwrite)")
    parent = os.path.dirname(os.path.abspath(out))
    if not os.path.isdir(parent):
        why = "is not a directory" if os.path.exists(parent) else "not found"
        raise InputError(flag, out, f"a path in an existing directory ({parent} {why})")
    try:  # really writes (a probe file): /proc, a read-only mount, a path over PATH_MAX
        check_writable_dir(parent)
    except InputError as exc:
        raise InputError(flag, out, f"a path in a writable directory ({exc})") from None
    name_max = os.pathconf(parent, "PC_NAME_MAX")
    if len(os.fsencode(os.path.basename(out))) > name_max:
        raise InputError(flag, out, f"a file name of at most {name_max} bytes")


def missing_dirs(path: str) -> list[str]:
    """The directories ``os.makedirs(path)`` would create, deepest first (absolute paths)."""
    out = []
    probe = os.path.abspath(path)
    while not os.path.exists(probe):
        out.append(probe)
        parent = os.path.dirname(probe)
        if parent == probe:
            break
        probe = parent
    return out
