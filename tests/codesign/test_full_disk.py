"""A disk that fills up under a command: one line, exit 2, and nothing stored changes.

The disk is filled for real, for one child process: ``RLIMIT_FSIZE`` caps the
size any file may grow to, and with ``SIGXFSZ`` ignored a write past it fails
with ``EFBIG`` exactly where a full disk fails with ``ENOSPC`` (in SQLite both
are "database or disk is full"). Reads are unaffected, so the command gets as
far as its first write.
"""

from __future__ import annotations

import hashlib
import resource
import signal
import sqlite3
import subprocess
import sys

import pytest

SWEEP = """
[study]
name = "disk"
objectives = ["latency_us", "area_mm2"]
sampler = "grid"
trials = 3

[workload]
shapes = [{kind = "linear", in = 32, out = 16}, {kind = "linear", in = 16, out = 10}]
sparsity = 0.8

[search]
"hw.n_pe" = [1, 2, 4]
"hw.fifo_depth" = [2, 4]
"""


def _cli(args: list[str], cwd, limit_bytes: int | None = None) -> subprocess.CompletedProcess:
    def cap():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit_bytes, limit_bytes))

    return subprocess.run(
        [sys.executable, "-m", "codesign.cli.main", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
        preexec_fn=cap if limit_bytes is not None else None,
    )


def _rows(db) -> str:
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return hashlib.sha256("\n".join(con.iterdump()).encode()).hexdigest()
    finally:
        con.close()


def _assert_one_line_refusal(proc) -> None:
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, proc.stderr
    assert "full" in lines[0] or "too large" in lines[0], lines[0]


@pytest.fixture
def study(tmp_path):
    (tmp_path / "s.toml").write_text(SWEEP)
    grown = SWEEP.replace("trials = 3", "trials = 6")  # tops the study up
    (tmp_path / "grown.toml").write_text(grown)
    ok = _cli(["sweep", "s.toml", "--storage", "sqlite:///s.db", "--no-progress"], tmp_path)
    assert ok.returncode == 0, ok.stderr
    return tmp_path


# SQLite's first reader of a WAL study re-creates its 32 KiB -shm index, which a
# capped process cannot: hold one connection open before capping, so the export
# itself (not the opening of the study) meets the full disk
EXPORT_ON_FULL_DISK = """
import resource, signal, sqlite3, sys
held = sqlite3.connect("file:s.db?mode=ro", uri=True)
held.execute("select count(*) from sqlite_master").fetchall()
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
resource.setrlimit(resource.RLIMIT_FSIZE, (1024, 1024))
from codesign.cli.main import main
sys.exit(main(["export", "--storage", "sqlite:///s.db", "--out", "old.csv", "--overwrite"]))
"""


def test_export_onto_a_full_disk_keeps_the_old_file(study):
    old = study / "old.csv"
    old.write_text("the user's earlier export\n")
    first = _cli(["export", "--storage", "sqlite:///s.db", "--out", "first.csv"], study)
    assert first.returncode == 0, first.stderr
    assert (study / "first.csv").stat().st_size > 1024  # so 1 KiB cannot hold it
    proc = subprocess.run(
        [sys.executable, "-c", EXPORT_ON_FULL_DISK],
        cwd=study, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    _assert_one_line_refusal(proc)
    assert old.read_text() == "the user's earlier export\n"
    assert not [p.name for p in study.iterdir() if p.name.startswith(".tmp")]


def test_sweep_on_a_full_disk_leaves_the_study_as_it_was(study):
    before = _rows(study / "s.db")
    db_size = (study / "s.db").stat().st_size
    # resuming with more points must write: the WAL cannot grow at all
    proc = _cli(
        ["sweep", "grown.toml", "--storage", "sqlite:///s.db", "--no-progress"],
        study,
        limit_bytes=min(db_size, 4096),
    )
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr, proc.stderr
    assert len([ln for ln in proc.stderr.splitlines() if ln.strip()]) == 1, proc.stderr
    assert _rows(study / "s.db") == before
    # and with room again, the same command finishes the study
    again = _cli(["sweep", "grown.toml", "--storage", "sqlite:///s.db", "--no-progress"], study)
    assert again.returncode == 0, again.stderr


def _tree(d) -> dict:
    return {p.name: p.read_bytes() for p in sorted(d.iterdir())}


def test_train_overwrite_on_a_full_disk_keeps_the_old_run(tmp_path):
    base = ["train", "--dataset", "digits", "--model", "mlp", "--hidden", "16",
            "--epochs", "1", "--out", "run"]  # fmt: skip
    ok = _cli(base, tmp_path)
    assert ok.returncode == 0, ok.stderr
    before = _tree(tmp_path / "run")
    # 4 KiB holds the up-front write probe but not model.pt: training runs, saving fails
    proc = _cli([*base, "--overwrite", "--seed", "1"], tmp_path, limit_bytes=4096)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr
    errors = [ln for ln in proc.stderr.splitlines() if "error" in ln]  # below the progress bars
    assert len(errors) == 1 and "too large" in errors[0] and "'run'" in errors[0], proc.stderr
    assert _tree(tmp_path / "run") == before
    assert [p.name for p in tmp_path.iterdir()] == ["run"]
