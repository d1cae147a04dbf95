"""The training cache key: what training depends on, the code that trains included."""

import re

from codesign.sweep import cache
from codesign.sweep.cache import code_version, train_key


def test_the_key_follows_the_code_version(monkeypatch):
    config = {"epochs": 1, "lr": 0.1}
    assert re.fullmatch(r"[0-9a-f]{16}", code_version())
    assert code_version() == code_version()
    before = train_key(config)
    monkeypatch.setattr(cache, "code_version", lambda: "0" * 16)  # as after an edit
    assert train_key(config) != before
    assert train_key(config) == train_key(dict(reversed(config.items())))
