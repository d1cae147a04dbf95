"""Trained networks cached by their training parameters.

The key is a content hash of everything training depends on: the full
training config, plus the feedback settings and the hardware config when
hardware feedback is on (then the network depends on the hardware), and the
version of the code that trains (:func:`code_version`: a hash of the
``codesign`` and ``accelerators`` sources), so a changed regularizer or
simulator never serves a network the old code trained. A cached
run is a directory ``<root>/<key>/`` written by ``TrainResult.save``; it holds
``ternary.npz`` and the report. Writes go to a temporary directory renamed into
place, so a reader never sees half a run and two workers training the same
key at once both succeed (the second rename loses and is discarded).
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import os
import shutil
import uuid
from pathlib import Path

__all__ = ["TrainCache", "code_version", "train_key"]


@functools.cache
def code_version() -> str:
    """16 hex digits of SHA-256 over the ``.py`` and ``.toml`` files of the
    ``codesign`` and ``accelerators`` packages (names and contents), once per process."""
    import accelerators
    import codesign

    h = hashlib.sha256()
    for pkg in (accelerators, codesign):
        root = Path(pkg.__file__).parent
        for f in sorted(p for p in root.rglob("*") if p.suffix in (".py", ".toml")):
            h.update(f.relative_to(root.parent).as_posix().encode() + b"\0")
            h.update(f.read_bytes())
    return h.hexdigest()[:16]


def train_key(
    train_config: dict, feedback: dict | None = None, hw_config: dict | None = None
) -> str:
    """16 hex digits of SHA-256 over the canonical JSON of what training depends on.

    >>> train_key({"epochs": 1, "lr": 0.1}) == train_key({"lr": 0.1, "epochs": 1})
    True
    >>> train_key({"epochs": 1}) == train_key({"epochs": 1}, {"feedback": "simpy"}, {"n_pe": 8})
    False
    """
    payload = {
        "train": train_config,
        "feedback": feedback,
        "hw": hw_config,
        "code": code_version(),
    }
    blob = json.dumps(payload, sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()[:16]


class TrainCache:
    """A directory of trained runs keyed by :func:`train_key`."""

    def __init__(self, root: str | os.PathLike):
        self.root = os.fspath(root)

    def path(self, key: str) -> str:
        return os.path.join(self.root, key)

    def has(self, key: str) -> bool:
        return os.path.isfile(os.path.join(self.path(key), "ternary.npz"))

    def load(self, key: str) -> tuple[list, dict] | None:
        """``(layers, report)`` of a cached run; None when there is none or it is damaged
        (truncated, not a run: it is removed, so the caller trains and stores it anew
        instead of every trial with these knobs failing on it)."""
        from accelerators import InputError
        from accelerators._files import read_json
        from codesign.files import load_weights

        d = self.path(key)
        if not self.has(key):
            return None
        try:
            report = read_json(os.path.join(d, "report.json"), "cached run report")
            return load_weights(os.path.join(d, "ternary.npz")), report
        except InputError:
            self._discard(key)
            return None

    def _discard(self, key: str) -> None:
        """Move a damaged run out of the way (one rename: a reader never sees half of it)."""
        gone = os.path.join(self.root, f".tmp-damaged-{key}-{uuid.uuid4().hex[:8]}")
        try:
            os.rename(self.path(key), gone)
        except OSError:  # another worker discarded (or replaced) it first
            return
        shutil.rmtree(gone, ignore_errors=True)

    def store(self, key: str, result) -> str:
        """Save a ``TrainResult`` under ``key`` atomically; returns the run directory."""
        os.makedirs(self.root, exist_ok=True)
        final = self.path(key)
        tmp = os.path.join(self.root, f".tmp-{key}-{uuid.uuid4().hex[:8]}")
        try:
            result.save(tmp)
            with contextlib.suppress(OSError):  # another worker stored the same key first
                os.rename(tmp, final)
        finally:  # left only by the loser of that race or a save cut short (Ctrl-C, full disk)
            shutil.rmtree(tmp, ignore_errors=True)
        return final
