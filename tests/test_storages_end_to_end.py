"""One small sweep through every command that touches a study, on each storage the
sweep writes (SQLite and Optuna's journal file): sweep -> export -> dash --check."""

from __future__ import annotations

import csv
import json

import pytest

from codesign.cli.main import main

SWEEP = """
[study]
name = "e2e"
objectives = ["latency_us", "area_mm2"]
sampler = "grid"

[workload]
shapes = [{kind = "linear", in = 32, out = 16}, {kind = "linear", in = 16, out = 10}]
sparsity = 0.8

[search]
"hw.n_pe" = [1, 2, 4]
"""


@pytest.mark.parametrize("kind", ["sqlite", "journal"])
def test_sweep_export_and_dash_read_the_same_trials(tmp_path, kind, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "s.toml").write_text(SWEEP)
    url = "sqlite:///s.db" if kind == "sqlite" else f"journal://{tmp_path}/s.log"
    assert main(["sweep", "s.toml", "--storage", url, "--no-progress", "--json"]) == 0
    swept = json.loads(capsys.readouterr().out)
    assert swept["trials_done"] == 3

    assert main(["export", "--storage", url, "--out", "t.csv"]) == 0
    with open(tmp_path / "t.csv") as f:
        rows = list(csv.DictReader(f))
    assert sorted(int(r["params.hw.n_pe"]) for r in rows) == [1, 2, 4]
    capsys.readouterr()

    assert main(["dash", "--check", "--json", "--storage", url]) == 0
    seen = json.loads(capsys.readouterr().out)
    assert seen["study"] == "e2e" and seen["n_trials"] == 3 and seen["n_shown"] == 3
    exported = min(float(r["metrics.latency_us"]) for r in rows)
    assert seen["min_latency_us"] == pytest.approx(exported)
