"""The write lock of a journal study (``journal:///path.log``): :class:`JournalFlock`."""

from __future__ import annotations

import os

try:
    import fcntl
except ImportError:  # Windows: no flock
    fcntl = None

__all__ = ["JournalFlock"]


class JournalFlock:
    """The journal's write lock: an exclusive ``flock`` on the journal file itself.

    Optuna's default lock is a ``<journal>.lock`` symlink, which a writer killed
    while holding it (``kill -9`` of a sweep lands there most of the time: each
    append holds it through an ``fsync``) leaves behind, so every later writer
    stalled for Optuna's 30 s grace period, logging warnings, before breaking it;
    and a writer interrupted while *waiting* for it deleted the holder's lock. The
    kernel drops an ``flock`` when its holder dies, however it dies. Readers take
    no lock. Every codesign writer of a journal uses this lock (not Optuna's).
    """

    supported = fcntl is not None  # not on Windows: Optuna's own lock is used there

    def __init__(self, path: str):
        self.path, self._fd = path, None

    def acquire(self) -> bool:
        fd = os.open(self.path, os.O_RDONLY)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
        except BaseException:  # Ctrl-C while waiting: nothing held, nothing left open
            os.close(fd)
            raise
        self._fd = fd
        return True

    def release(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)  # drops the flock
