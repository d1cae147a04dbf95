"""Optuna only through its public API, pinned to the major version tested (issue 12).

The Python twin of ``grep -rn "optuna.storages._\\|_rdb\\|models\\." codesign dashboards``:
no private storage module, no RDB internals, no ORM models; and no private
attribute of Optuna's trial objects (``trial._trial_id``: the storage's public
``get_trial_id_from_study_id_trial_number`` gives it).
"""

import pathlib
import re
import tomllib

ROOT = pathlib.Path(__file__).resolve().parents[1]
PRIVATE = re.compile(r"optuna\.storages\._|_rdb|models\.|\._trial_id\b|\._study_id\b")


def _text_files(*dirs: str):
    for d in dirs:
        for path in sorted((ROOT / d).rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                try:
                    yield path, path.read_text()
                except UnicodeDecodeError:  # images and other binaries: grep says "binary file"
                    continue


def test_no_private_optuna_access():
    hits = [
        f"{path.relative_to(ROOT)}:{i}: {line.strip()}"
        for path, text in _text_files("codesign", "dashboards")
        for i, line in enumerate(text.splitlines(), 1)
        if PRIVATE.search(line)
    ]
    assert not hits, "private Optuna access:\n" + "\n".join(hits)


def test_the_pattern_catches_what_it_is_for():
    for line in (
        "from optuna.storages._rdb import models",
        "session.query(models.TrialModel)",
        "tid = trial._trial_id",
    ):
        assert PRIVATE.search(line), line
    assert not PRIVATE.search("optuna.storages.RDBStorage(url)")
    assert not PRIVATE.search("store.trial_id(t.number)")


def test_optuna_pinned_to_the_tested_major():
    import optuna

    major = int(optuna.__version__.split(".")[0])
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    specs = [
        req
        for extra in meta["optional-dependencies"].values()
        for req in extra
        if req.split(">")[0].split("<")[0].split("=")[0].strip() == "optuna"
    ]
    assert specs, "optuna is not declared"
    for req in specs:
        assert req == f"optuna>={major},<{major + 1}", req
