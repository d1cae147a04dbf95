"""SQLite's own locks survive our opening of a study (https://www.sqlite.org/howtocorrupt.html 2.2).

Closing any descriptor of a database file drops every POSIX lock the process holds on
it. The schema lock used to open and close the study file itself: a second open in a
process that already had connections dropped their locks, and a reader in another
process that then closed took itself for the last connection and deleted the WAL and
its -shm index under the writer (seen as "disk I/O error" in a benchmark that read its
study from a second shell while it ran).
"""

from __future__ import annotations

import os
import subprocess
import sys

import optuna

from codesign.study.storages import open_storage

READER = """
import optuna, sys
optuna.logging.set_verbosity(optuna.logging.ERROR)
print(len(optuna.load_study(study_name="s", storage=sys.argv[1]).trials))
"""


def test_a_reader_closing_in_another_process_leaves_the_writers_wal_alone(tmp_path):
    path = tmp_path / "s.db"
    url = f"sqlite:///{path}"
    study = optuna.create_study(study_name="s", storage=open_storage(url, write=True))
    study.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=3)
    open_storage(url, write=True)  # a second open in this process (a second sweep, a resume)
    study.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=2)
    assert os.path.exists(f"{path}-wal") and os.path.exists(f"{path}-shm")

    out = subprocess.run([sys.executable, "-c", READER, url], capture_output=True, text=True)
    assert out.returncode == 0 and out.stdout.strip() == "5", out.stderr
    # this process still holds connections: the reader was not the last, so it kept both
    assert os.path.exists(f"{path}-wal") and os.path.exists(f"{path}-shm")
    study.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=2)
    assert len(optuna.load_study(study_name="s", storage=url).trials) == 7
