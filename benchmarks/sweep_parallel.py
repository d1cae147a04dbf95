"""Parallel sweeps: a 200-point simulate-only hardware sweep with --jobs 1, --jobs 2 and Dask.

The grid (n_pe x lanes_per_pe x fifo_depth x zero_skip = 5 x 4 x 5 x 2) runs on
``cnv`` at 90 % sparsity with the SimPy model, each arm into its own fresh
SQLite study; the trials' parameters and objective values must be identical
across arms. Target: --jobs 2 at least 1.7x faster than --jobs 1 on 2 cores.
Every arm computes with one BLAS thread per process (numpy would otherwise
use both cores in the "serial" arm). Rounds are interleaved (1, 2, dask, 1, 2, dask ...) and the medians compared;
the machine's load average and each arm's CPU seconds (this process plus its
reaped worker processes; and this process alone, the coordinator, which with
Dask also runs the scheduler) are recorded: the CPU is shared with other jobs,
so wall-time speedups are only meaningful on an otherwise idle machine.

    python benchmarks/sweep_parallel.py [--rounds 2]

Writes benchmarks/results/sweep_parallel.json.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "results")

SPEC = {
    "study": {
        "name": "par",
        "objectives": ["latency_us", "area_mm2", "energy_uj"],
        "sampler": "grid",
        "fidelity": "simpy",
    },
    "workload": {"shapes": "cnv", "sparsity": 0.9, "seed": 0},
    "hw": {"preset": "default"},
    "search": {
        "hw.n_pe": [4, 8, 16, 32, 64],
        "hw.lanes_per_pe": [1, 2, 4, 8],
        "hw.fifo_depth": [2, 4, 8, 16, 32],
        "hw.zero_skip": ["weights", "weights+activations"],
    },
}


def results(url: str) -> list:
    import optuna

    study = optuna.load_study(study_name="par", storage=url)
    return sorted(
        (json.dumps(t.params, sort_keys=True), t.state.name, tuple(t.values or ()))
        for t in study.trials
    )


def _cpu_s() -> tuple[float, float]:
    """CPU seconds (user + system) of this process, and of it plus its reaped children."""
    import resource

    me, kids = (
        resource.getrusage(resource.RUSAGE_SELF),
        resource.getrusage(resource.RUSAGE_CHILDREN),
    )
    own = me.ru_utime + me.ru_stime
    return own, own + kids.ru_utime + kids.ru_stime


def run_arm(spec, arm: str, tmp: str, i: int) -> tuple[float, list]:
    from distributed import LocalCluster

    from codesign.sweep import run_sweep

    url = f"sqlite:///{tmp}/{arm}-{i}.db"
    if arm == "dask":
        with LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cl:
            t0 = time.perf_counter()
            run_sweep(spec, storage=url, scheduler=cl.scheduler_address, progress=False)
            wall = time.perf_counter() - t0
    else:
        t0 = time.perf_counter()
        run_sweep(spec, storage=url, jobs=int(arm[-1]), progress=False)
        wall = time.perf_counter() - t0
    return wall, results(url)


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--rounds", type=int, default=2)
    args = ap.parse_args()
    import optuna

    from codesign.sweep import parse_spec

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    from threadpoolctl import threadpool_limits

    # one BLAS thread in the coordinator too, so --jobs 1 is really one core
    # (worker processes limit themselves; see codesign.sweep.pool._limit_threads)
    threadpool_limits(1)
    spec = parse_spec(SPEC)
    assert spec.trials == 200
    arms = ("jobs1", "jobs2", "dask")
    walls: dict[str, list[float]] = {a: [] for a in arms}
    cpus: dict[str, list[float]] = {a: [] for a in arms}
    coord: dict[str, list[float]] = {a: [] for a in arms}
    ref, identical = None, True
    loads = [os.getloadavg()]
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(args.rounds):
            for arm in arms:
                own0, all0 = _cpu_s()
                wall, res = run_arm(spec, arm, tmp, i)
                own1, all1 = _cpu_s()
                walls[arm].append(wall)
                cpus[arm].append(all1 - all0)  # workers are reaped children
                coord[arm].append(own1 - own0)
                ref = ref or res
                identical &= res == ref
                loads.append(os.getloadavg())
                print(
                    f"round {i + 1} {arm:<6} {wall:7.2f} s wall, {cpus[arm][-1]:7.2f} s CPU "
                    f"({coord[arm][-1]:.2f} s coordinator)  ({len(res)} trials)",
                    flush=True,
                )
    med = {a: statistics.median(w) for a, w in walls.items()}
    speed2 = med["jobs1"] / med["jobs2"]
    speedd = med["jobs1"] / med["dask"]
    print(f"{'arm':<8} {'median wall (s)':>15} {'speedup vs jobs 1':>18}")
    for a in arms:
        print(f"{a:<8} {med[a]:>15.2f} {med['jobs1'] / med[a]:>18.2f}")
    print(f"identical results across arms: {identical}; load average during run: {loads}")
    print(f"target --jobs 2 >= 1.7x: {'met' if speed2 >= 1.7 else 'MISSED'} ({speed2:.2f}x)")
    os.makedirs(OUT, exist_ok=True)
    with open(os.path.join(OUT, "sweep_parallel.json"), "w") as f:
        json.dump(
            {
                "benchmark": "sweep_parallel",
                "trials": 200,
                "workload": "cnv @ 90% sparsity, simpy",
                "walls_s": walls,
                "median_s": med,
                "cpu_s": cpus,
                "coordinator_cpu_s": coord,
                "speedup_jobs2": speed2,
                "speedup_dask": speedd,
                "identical": identical,
                "target_met": speed2 >= 1.7,
                "cpu_count": os.cpu_count(),
                "load_avg": loads,
            },
            f,
            indent=2,
        )


if __name__ == "__main__":
    main()
