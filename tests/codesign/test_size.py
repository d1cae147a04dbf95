"""``codesign size``: budgets met (smallest area, lowest energy) and not met (by how much)."""

import json
import subprocess
import sys

import pytest

from accelerators import load_hw, simulate, workload_from_shapes
from codesign.sizing import SizingGrid, size_accelerator

SHAPES = [{"kind": "linear", "in": 96, "out": 48}, {"kind": "linear", "in": 48, "out": 10}]
GRID = SizingGrid(
    n_pe=(1, 2, 4, 8),
    lanes_per_pe=(1, 2),
    weight_sram_kib_per_pe=(4.0,),
    fifo_depth=(8,),
    zero_skip=("weights",),
)


@pytest.fixture(scope="module")
def workload():
    return workload_from_shapes(SHAPES, 0.8, seed=0)


def brute(workload, fidelity):
    return [
        (cfg, simulate(workload, cfg, fidelity=fidelity).to_dict())
        for cfg in GRID.configs(load_hw("default"))
    ]


def test_budget_met_gives_the_smallest_area_that_meets_it(workload):
    every = brute(workload, "simpy")
    lat = sorted(r["latency_us"] for _, r in every)
    budget = lat[len(lat) // 2]  # half the grid meets it
    res = size_accelerator(workload, {"max_latency_us": budget}, grid=GRID, max_verify=16)
    ok = [r for _, r in every if r["latency_us"] <= budget]
    assert res.feasible and res.smallest_area.fidelity == "simpy"
    assert res.smallest_area.area_mm2 == min(r["area_mm2"] for r in ok)
    assert res.lowest_energy.energy_uj == min(r["energy_uj"] for r in ok)
    assert res.smallest_area.latency_us <= budget


def test_budget_not_met_says_the_best_achievable(workload):
    every = brute(workload, "analytical")
    best = min(r["latency_us"] for _, r in every)
    res = size_accelerator(workload, {"max_latency_us": best / 2}, grid=GRID, fidelity="analytical")
    assert not res.feasible and res.smallest_area is None
    s = res.shortfalls["latency_us"]
    assert s["best"] == best and s["over_pct"] == pytest.approx(100.0)


def test_budgets_met_alone_but_not_together(workload):
    every = brute(workload, "analytical")
    fastest = min(every, key=lambda x: x[1]["latency_us"])[1]
    smallest = min(every, key=lambda x: x[1]["area_mm2"])[1]
    budgets = {"max_latency_us": fastest["latency_us"], "max_area_mm2": smallest["area_mm2"]}
    if any(
        r["latency_us"] <= budgets["max_latency_us"] and r["area_mm2"] <= budgets["max_area_mm2"]
        for _, r in every
    ):
        pytest.skip("the fastest config is also the smallest here")
    res = size_accelerator(workload, budgets, grid=GRID, fidelity="analytical")
    assert not res.feasible and res.jointly_infeasible and not res.shortfalls


def _cli(tmp_path, *args):
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "codesign.cli.main",
            "size",
            "--workload",
            "lfc",
            "--sparsity",
            "0.95",
            "--n-pe",
            "16,64",
            "--lanes-per-pe",
            "4",
            "--weight-sram-kib-per-pe",
            "64",
            "--fifo-depth",
            "8",
            "--zero-skip",
            "weights",
            "--fidelity",
            "analytical",
            "--no-progress",
            *args,
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=300,
    )


def test_cli_exit_codes(tmp_path):
    ok = _cli(tmp_path, "--max-latency-us", "1e6", "--json")
    assert ok.returncode == 0, ok.stderr
    res = json.loads(ok.stdout)
    assert res["feasible"] and res["smallest_area"]["hw"]["n_pe"] == 16
    miss = _cli(tmp_path, "--max-area-mm2", "1e-6")
    assert miss.returncode == 3 and "cannot be met" in miss.stdout and "mm^2" in miss.stdout
    bad = _cli(tmp_path, "--max-area-mm2", "-1")
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1
    none = _cli(tmp_path)
    assert none.returncode == 2 and "budget" in none.stderr


@pytest.mark.parametrize(
    "args, needle",
    [
        (["--max-latency-us", "nan"], "--max-latency-us = nan"),
        (["--max-latency-us", "inf"], "--max-latency-us = inf"),
        (["--max-energy-uj", "-2"], "--max-energy-uj = -2.0"),
        (["--max-area-mm2", "0"], "--max-area-mm2 = 0.0"),
        (["--max-latency-us", "1e6", "--max-verify", "-1"], "--max-verify = -1"),
        (["--max-latency-us", "1e6", "--n-pe", "8,,16"], "--n-pe: '8,,16' is not allowed"),
        (["--max-latency-us", "1e6", "--n-pe", "1e3"], "expected comma-separated integers"),
        (["--max-latency-us", "1e6", "--zero-skip", "weights,"], "--zero-skip: 'weights,'"),
    ],
)
def test_cli_refuses_bad_budgets_and_counts(args, needle, capsys):
    from codesign.cli.main import main

    argv = ["size", "--workload", "lfc", "--n-pe", "16", "--no-progress", *args]
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse's own errors (a grid axis that does not parse)
        code = exc.code
    assert code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and needle in err


def test_max_verify_zero_checks_every_candidate(workload):
    """0 is no cap (was: nothing verified, so "nothing fits" though something did)."""
    budgets = {"max_latency_us": 1e6}
    capped = size_accelerator(workload, budgets, grid=GRID, max_verify=1)
    free = size_accelerator(workload, budgets, grid=GRID, max_verify=0)
    assert free.feasible and capped.feasible
    assert free.smallest_area.hw == capped.smallest_area.hw
    with pytest.raises(Exception, match="max-verify"):
        size_accelerator(workload, budgets, grid=GRID, max_verify=-1)
    with pytest.raises(Exception, match="finite number > 0"):
        size_accelerator(workload, {"max_latency_us": float("nan")}, grid=GRID)
