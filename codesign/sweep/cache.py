"""Trained networks cached by their training parameters.

The key is a content hash of everything training depends on: the full
training config, plus the feedback settings and the hardware config when
hardware feedback is on (then the network depends on the hardware). A cached
run is a directory ``<root>/<key>/`` written by ``TrainResult.save``; it holds
``ternary.npz`` and the report. Writes go to a temporary directory renamed into
place, so a reader never sees half a run and two workers training the same
key at once both succeed (the second rename loses and is discarded).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import uuid

__all__ = ["TrainCache", "train_key"]


def train_key(
    train_config: dict, feedback: dict | None = None, hw_config: dict | None = None
) -> str:
    """16 hex digits of SHA-256 over the canonical JSON of what training depends on.

    >>> train_key({"epochs": 1, "lr": 0.1}) == train_key({"lr": 0.1, "epochs": 1})
    True
    >>> train_key({"epochs": 1}) == train_key({"epochs": 1}, {"feedback": "simpy"}, {"n_pe": 8})
    False
    """
    payload = {"train": train_config, "feedback": feedback, "hw": hw_config}
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

    def load(self, key: str) -> tuple[list, dict]:
        """``(layers, report)`` of a cached run."""
        from accelerators import load_ternary_npz
        from accelerators._files import read_json

        d = self.path(key)
        report = read_json(os.path.join(d, "report.json"), "cached run report")
        return load_ternary_npz(os.path.join(d, "ternary.npz")), report

    def store(self, key: str, result) -> str:
        """Save a ``TrainResult`` under ``key`` atomically; returns the run directory."""
        os.makedirs(self.root, exist_ok=True)
        final = self.path(key)
        tmp = os.path.join(self.root, f".tmp-{key}-{uuid.uuid4().hex[:8]}")
        result.save(tmp)
        try:
            os.rename(tmp, final)
        except OSError:  # another worker stored the same key first
            shutil.rmtree(tmp, ignore_errors=True)
        return final
