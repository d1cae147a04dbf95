"""Does the analytical model follow SimPy's trends? FIFO depth, 64 vs 256 PEs, and speed.

Run: ``python benchmarks/analytical_trends.py`` (a few minutes on 2 shared cores).
Prints three tables and writes ``benchmarks/results/analytical_trends.json``.

- **FIFO depth**: cycles of single layers at ``fifo_depth`` 1, 2, 4, 8, 16, SimPy
  and analytical, with everything else held: the EIE layers Alex-7 and Alex-8 of
  ``benchmarks/validate_eie.py`` on the ``eie`` preset (one push per cycle, one lane;
  NeuralTalk We is not there: its Table III row was not found, see
  ``docs/validation.md``), lfc's fc1 at 90 % sparsity on the ``default`` preset
  (4 lanes, 4 pushes per cycle) and with one push per cycle, and cnv's conv3 (held
  out from the estimate's calibration) at 90 % sparsity on ``default``.
- **64 vs 256 PEs**: the speed-up ``cycles(64 PEs) / cycles(256 PEs)`` of whole lfc
  and cnv at 90 % sparsity (``default`` preset, weights and weights+activations
  skipping) and of the EIE layers (``eie`` preset), SimPy against analytical.
- **End-to-end speed**: wall time of :func:`accelerators.simulate` (area and
  energy included) for each fidelity on lfc and cnv at 90 % (``default`` preset,
  both skip modes), the two run alternately, median of ``REPS`` runs each after a
  warm-up (the per-PE statistics are cached on the workload, as in a sweep).
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from pathlib import Path

from accelerators import load_hw, simulate, workload_from_shapes, workload_from_tensors

sys.path.insert(0, str(Path(__file__).parent))
from validate_eie import eie_layer  # noqa: E402

OUT = Path(__file__).parent / "results" / "analytical_trends.json"
DEPTHS = (1, 2, 4, 8, 16)
REPS = 7


def one_layer(g, name):
    return workload_from_tensors([g.nodes[name]["tensor"]], name=name)


def cases():
    """``(label, single-layer workload, config)`` of the depth-trend layers."""
    lfc = workload_from_shapes("lfc", 0.9, act_density=0.5)
    cnv = workload_from_shapes("cnv", 0.9, act_density=0.5)
    default, eie = load_hw("default"), load_hw("eie")
    for name in ("Alex-7", "Alex-8"):
        yield f"EIE {name} (eie preset)", workload_from_tensors([eie_layer(name)], name=name), eie
    yield "lfc fc1 @90% (default)", one_layer(lfc, "fc1"), default
    yield (
        "lfc fc1 @90% (default, 1 push/cycle)",
        one_layer(lfc, "fc1"),
        default.replace(broadcast_acts_per_cycle=1),
    )
    yield "cnv conv3 @90% (default)", one_layer(cnv, "conv3"), default


def rel(a, b):
    return (a - b) / b


def depth_trend():
    rows = []
    for label, g, cfg in cases():
        for d in DEPTHS:
            c = cfg.replace(fifo_depth=d)
            sim, ana = simulate(g, c), simulate(g, c, fidelity="analytical")
            rows.append(
                {
                    "case": label,
                    "fifo_depth": d,
                    "simpy_cycles": sim.cycles,
                    "analytical_cycles": ana.cycles,
                    "cycles_lower": ana.cycles_lower,
                    "cycles_upper": ana.cycles_upper,
                    "rel_error": rel(ana.cycles, sim.cycles),
                }
            )
        print(f"  depth trend: {label}", file=sys.stderr)
    return rows


def pe_speedups():
    rows = []
    nets = [
        (f"{k} @90% {skip}", workload_from_shapes(k, 0.9, act_density=0.5), "default", skip)
        for k in ("lfc", "cnv")
        for skip in ("weights", "weights+activations")
    ]
    nets += [
        (f"EIE {n}", workload_from_tensors([eie_layer(n)], name=n), "eie", None)
        for n in ("Alex-7", "Alex-8")
    ]
    for label, g, preset, skip in nets:
        cfg = load_hw(preset)
        if skip:
            cfg = cfg.replace(zero_skip=skip)
        out = {}
        for fid in ("simpy", "analytical"):
            c64 = simulate(g, cfg.replace(n_pe=64), fidelity=fid).cycles
            c256 = simulate(g, cfg.replace(n_pe=256), fidelity=fid).cycles
            out[fid] = (c64, c256, c64 / c256)
        rows.append(
            {
                "case": label,
                "simpy_cycles_64": out["simpy"][0],
                "simpy_cycles_256": out["simpy"][1],
                "simpy_speedup": out["simpy"][2],
                "analytical_cycles_64": out["analytical"][0],
                "analytical_cycles_256": out["analytical"][1],
                "analytical_speedup": out["analytical"][2],
                "speedup_rel_error": rel(out["analytical"][2], out["simpy"][2]),
            }
        )
        print(f"  speed-ups: {label}", file=sys.stderr)
    return rows


def end_to_end():
    rows = []
    cfg0 = load_hw("default")
    for kind in ("lfc", "cnv"):
        g = workload_from_shapes(kind, 0.9, act_density=0.5)
        for skip in ("weights", "weights+activations"):
            cfg = cfg0.replace(zero_skip=skip)
            simulate(g, cfg), simulate(g, cfg, fidelity="analytical")  # warm the caches
            walls = {"simpy": [], "analytical": []}
            cpus = {"simpy": [], "analytical": []}
            for _ in range(REPS):
                for fid in walls:
                    w0, c0 = time.perf_counter(), time.process_time()
                    simulate(g, cfg, fidelity=fid)
                    cpus[fid].append(time.process_time() - c0)
                    walls[fid].append(time.perf_counter() - w0)
            med = {f: statistics.median(v) for f, v in walls.items()}
            cmed = {f: statistics.median(v) for f, v in cpus.items()}
            rows.append(
                {
                    "case": f"{kind} @90% {skip}",
                    "simpy_wall_s": med["simpy"],
                    "analytical_wall_s": med["analytical"],
                    "speedup_wall": med["simpy"] / med["analytical"],
                    "simpy_cpu_s": cmed["simpy"],
                    "analytical_cpu_s": cmed["analytical"],
                    "speedup_cpu": cmed["simpy"] / max(cmed["analytical"], 1e-9),
                }
            )
            print(f"  speed: {kind} {skip}", file=sys.stderr)
    return rows


def main() -> int:
    depth, pes, speed = depth_trend(), pe_speedups(), end_to_end()
    errs = [abs(r["rel_error"]) for r in depth]
    sp_errs = [abs(r["speedup_rel_error"]) for r in pes]
    summary = {
        "depth_trend_mean_abs_rel_error": statistics.mean(errs),
        "depth_trend_worst_abs_rel_error": max(errs),
        "pe_speedup_worst_abs_rel_error": max(sp_errs),
        "end_to_end_speedup_wall_median": statistics.median(r["speedup_wall"] for r in speed),
        "end_to_end_speedup_wall_range": [
            min(r["speedup_wall"] for r in speed),
            max(r["speedup_wall"] for r in speed),
        ],
    }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(
        json.dumps(
            {"summary": summary, "depth_trend": depth, "pe_speedups": pes, "end_to_end": speed},
            indent=2,
        )
        + "\n"
    )

    print("FIFO-depth trend: cycles, SimPy vs analytical (error of the analytical estimate)")
    print(f"  {'case':40} " + " ".join(f"{'depth ' + str(d):>24}" for d in DEPTHS))
    for label in dict.fromkeys(r["case"] for r in depth):
        cells = [
            f"{r['simpy_cycles']:>9} {r['analytical_cycles']:>7} {100 * r['rel_error']:+6.1f}%"
            for r in depth
            if r["case"] == label
        ]
        print(f"  {label:40} " + " ".join(f"{c:>24}" for c in cells))
    print(
        f"  mean |error| {100 * summary['depth_trend_mean_abs_rel_error']:.2f} %, "
        f"worst {100 * summary['depth_trend_worst_abs_rel_error']:.2f} %"
    )
    print("64 -> 256 PEs: speed-up cycles(64) / cycles(256)")
    print(f"  {'case':32} {'simpy':>7} {'analytical':>10} {'error':>7}")
    for r in pes:
        print(
            f"  {r['case']:32} {r['simpy_speedup']:7.3f} {r['analytical_speedup']:10.3f} "
            f"{100 * r['speedup_rel_error']:+6.1f}%"
        )
    print("simulate() end to end (area and energy included), median of", REPS, "runs each")
    print(f"  {'case':32} {'simpy s':>9} {'analyt s':>9} {'x wall':>7} {'x cpu':>7}")
    for r in speed:
        print(
            f"  {r['case']:32} {r['simpy_wall_s']:9.4f} {r['analytical_wall_s']:9.4f} "
            f"{r['speedup_wall']:7.1f} {r['speedup_cpu']:7.1f}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
