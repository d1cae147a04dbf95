"""How fast the SimPy model runs: lfc and cnv on the default config, growth with width.

Run: ``python benchmarks/simulator_speed.py`` (about a minute on 2 shared cores).
Prints a table and writes ``benchmarks/results/simulator_speed.json``.

- wall times are medians of 5 runs of :func:`accelerators.simulate` (SimPy fidelity,
  area/energy included); "cold" builds a fresh workload graph each run, so the
  per-PE stream statistics (:func:`accelerators.encoding.pe_column_entries`) are
  computed inside the timing; "warm" reuses the graph's cached statistics;
- events/s: SimPy events processed per second of warm wall time;
- growth exponent: slope of log(time) against log(width) for an lfc-like network
  784-w-w-w-10 with w = 256 .. 1024 (4x), cold, in wall and in process CPU time
  (the machine is shared: CPU time is the steadier figure).
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np

from accelerators import HardwareConfig, simulate, workload_from_shapes

OUT = Path(__file__).parent / "results" / "simulator_speed.json"
REPS = 5


def timed(make_workload, cfg, warm: bool):
    g = make_workload()
    report = simulate(g, cfg)  # warms the statistics cache when warm
    walls, cpus = [], []
    for _ in range(REPS):
        if not warm:
            g = make_workload()
        t, c = time.perf_counter(), time.process_time()
        report = simulate(g, cfg)
        cpus.append(time.process_time() - c)
        walls.append(time.perf_counter() - t)
    return statistics.median(walls), report, statistics.median(cpus)


def lfc_width(w: int, sparsity: float = 0.95):
    shapes = [
        {"kind": "linear", "in": 784, "out": w},
        {"kind": "linear", "in": w, "out": w},
        {"kind": "linear", "in": w, "out": w},
        {"kind": "linear", "in": w, "out": 10},
    ]
    return workload_from_shapes(shapes, sparsity)


def main() -> int:
    cfg = HardwareConfig()  # default preset: 64 PEs x 4 lanes
    rows = []
    cases = [
        ("lfc", 0.95, "weights", 1.0),
        ("lfc", 0.95, "weights+activations", 1.0),
        ("cnv", 0.90, "weights", 30.0),
        ("cnv", 0.90, "weights+activations", 30.0),
    ]
    for name, s, skip, target in cases:
        c = cfg.replace(zero_skip=skip)
        cold, rep, cold_cpu = timed(lambda n=name, s=s: workload_from_shapes(n, s), c, False)
        warm, rep, _ = timed(lambda n=name, s=s: workload_from_shapes(n, s), c, True)
        rows.append(
            {
                "workload": name,
                "sparsity": s,
                "zero_skip": skip,
                "n_pe": c.n_pe,
                "lanes_per_pe": c.lanes_per_pe,
                "cycles": rep.cycles,
                "wall_s_cold_median": cold,
                "cpu_s_cold_median": cold_cpu,
                "wall_s_warm_median": warm,
                "events": rep.events,
                "events_per_s": rep.events / warm,
                "target_s": target,
                "met": cold <= target,
            }
        )
    widths = [256, 362, 512, 724, 1024]
    growth = []
    for w in widths:
        wall, rep, cpu = timed(lambda w=w: lfc_width(w), cfg, warm=False)
        growth.append(
            {"width": w, "wall_s_cold_median": wall, "cpu_s_cold_median": cpu, "cycles": rep.cycles}
        )
    logw = np.log(widths)
    slope = float(np.polyfit(logw, np.log([g["wall_s_cold_median"] for g in growth]), 1)[0])
    cpu_slope = float(np.polyfit(logw, np.log([g["cpu_s_cold_median"] for g in growth]), 1)[0])
    result = {
        "cases": rows,
        "width_growth": growth,
        "wall_growth_exponent": slope,
        "cpu_growth_exponent": cpu_slope,
    }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(result, indent=2) + "\n")

    print(
        f"{'workload':8} {'skip':20} {'cycles':>9} {'cold s':>8} {'warm s':>8} "
        f"{'events':>7} {'events/s':>10} {'target s':>8} met"
    )
    for r in rows:
        print(
            f"{r['workload']:8} {r['zero_skip']:20} {r['cycles']:9d} {r['wall_s_cold_median']:8.3f} "
            f"{r['wall_s_warm_median']:8.3f} {r['events']:7d} {r['events_per_s']:10.0f} "
            f"{r['target_s']:8.1f} {r['met']}"
        )
    print("width growth (784-w-w-w-10 @95%, cold):")
    for gr in growth:
        print(
            f"  w = {gr['width']:5d}: {gr['wall_s_cold_median']:.3f} s wall, "
            f"{gr['cpu_s_cold_median']:.3f} s CPU, {gr['cycles']} cycles"
        )
    print(f"growth exponent over 4x width: {slope:.2f} (wall), {cpu_slope:.2f} (CPU)", flush=True)
    print(f"wrote {OUT}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
