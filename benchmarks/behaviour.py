"""Behaviours the simulator's numbers must show, checked over grids; a table and JSON.

Run: ``python benchmarks/behaviour.py`` (about a minute on one core). Writes
``benchmarks/results/behaviour.json``. Every check uses the SimPy model (the
exact one) on random ternary weights from ``accelerators.workload_from_shapes``.

1. zero-skip never takes more cycles than the dense walk of the same weights
   (``zero_skip = weights`` and ``weights+activations`` vs ``none``, same CSC
   weights, same config), over a grid of sparsity x PEs x lanes x FIFO depth x
   index width x broadcast width x seeds;
2. on ``lfc`` at 95% sparsity zero-skip saves >= 5x cycles against the dense
   walk on the same config (per preset and skip mode: where it holds and where
   it does not, and why: a one-column-per-cycle broadcast caps weight skipping at
   the dense walk's cycles per column, and 4-bit indices cost a padding entry
   about every column at this sparsity);
3. a deeper FIFO never adds cycles (depth 1 .. 64 on several configs);
4. shrinking the weight SRAM below a layer's encoded weights turns it
   DRAM-bound, and the report says so (``dram_bound``, ``dram`` stall cycles);
5. dense binary, dense ternary and sparse ternary side by side on ``lfc``
   (cycles, latency, area, energy, weight storage).
"""

from __future__ import annotations

import itertools
import json
import math
import sys
import time
from pathlib import Path

from accelerators import (
    load_hw,
    simulate,
    workload_from_shapes,
)
from accelerators.sim.plan import plan_layer
from codesign.cli._table import json_default, table

OUT = Path(__file__).parent / "results" / "behaviour.json"


def cycles(g, cfg) -> int:
    return simulate(g, cfg).cycles


def check_zero_skip_grid() -> dict:
    rows, violations = [], []
    sparsities = [0.0, 0.5, 0.9, 0.95, 0.99]
    grid = itertools.product(sparsities, [0, 1], [8, 64], [1, 4], [1, 8], [2, 4], [1, 4])
    shapes = [{"name": "fc0", "kind": "linear", "in": 256, "out": 256}] + [
        {"name": "fc1", "kind": "linear", "in": 256, "out": 64}
    ]
    for s, seed, n_pe, lanes, depth, ib, width in grid:
        g = workload_from_shapes(shapes, s, seed=seed)
        cfg = load_hw("default").replace(
            n_pe=n_pe,
            lanes_per_pe=lanes,
            fifo_depth=depth,
            index_bits=ib,
            broadcast_acts_per_cycle=width,
        )
        dense = cycles(g, cfg.replace(zero_skip="none"))
        w = cycles(g, cfg.replace(zero_skip="weights"))
        wa = cycles(g, cfg.replace(zero_skip="weights+activations"))
        row = dict(sparsity=s, seed=seed, n_pe=n_pe, lanes=lanes, fifo=depth, index_bits=ib)
        row["broadcast"] = width
        row.update(dense=dense, weights=w, weights_acts=wa)
        rows.append(row)
        if w > dense or wa > dense:
            violations.append(row)
    # the same on the full lfc and cnv at a few points
    for name, s in [("lfc", 0.9), ("lfc", 0.5), ("cnv", 0.9)]:
        g = workload_from_shapes(name, s, seed=0)
        for hw in ["edge", "default"]:
            cfg = load_hw(hw)
            dense = cycles(g, cfg.replace(zero_skip="none"))
            w = cycles(g, cfg.replace(zero_skip="weights"))
            wa = cycles(g, cfg.replace(zero_skip="weights+activations"))
            row = dict(workload=name, sparsity=s, hw=hw, dense=dense, weights=w, weights_acts=wa)
            rows.append(row)
            if w > dense or wa > dense:
                violations.append(row)
    return {
        "target": "zero-skip cycles <= dense cycles for the same weights, every grid point",
        "points": len(rows),
        "violations": violations,
        "met": not violations,
        "max_ratio_skip_over_dense": max(
            max(r["weights"], r["weights_acts"]) / r["dense"] for r in rows
        ),
        "rows": rows,
    }


def check_lfc_95() -> dict:
    g = workload_from_shapes("lfc", 0.95, seed=0)
    rows = []
    configs = [
        ("edge", {}),
        ("default", {}),
        ("large", {}),
        ("default", {"lanes_per_pe": 1}),
        ("default", {"n_pe": 32, "lanes_per_pe": 2}),
        ("default", {"index_bits": 6}),
        ("default", {"broadcast_acts_per_cycle": 1}),  # EIE's one column per cycle
        ("default", {"broadcast_acts_per_cycle": 1, "index_bits": 4}),  # the old default
    ]
    for hw, kw in configs:
        cfg = load_hw(hw).replace(**kw)
        dense = simulate(g, cfg.replace(zero_skip="none"))
        for zs in ["weights", "weights+activations"]:
            r = simulate(g, cfg.replace(zero_skip=zs))
            label = hw + "".join(f" {k}={v}" for k, v in kw.items())
            rows.append(
                {
                    "hw": label,
                    "zero_skip": zs,
                    "dense_cycles": dense.cycles,
                    "skip_cycles": r.cycles,
                    "saving_x": dense.cycles / r.cycles,
                    "dense_cycles_per_column": _dense_cycles_per_column(cfg, 1024),
                    "dram_bound": r.dram_bound,
                    "met": dense.cycles / r.cycles >= 5.0,
                }
            )
    return {
        "target": "lfc at 95% sparsity: dense cycles / zero-skip cycles >= 5 on the same config",
        "rows": rows,
        "met_on": [f"{r['hw']} / {r['zero_skip']}" for r in rows if r["met"]],
        "missed_on": [f"{r['hw']} / {r['zero_skip']}" for r in rows if not r["met"]],
    }


def _dense_cycles_per_column(cfg, rows: int) -> int:
    """The dense walk's cycles per input column: ceil(ceil(rows / n_pe) / lanes)."""
    return math.ceil(math.ceil(rows / cfg.n_pe) / cfg.lanes_per_pe)


def check_fifo_depth() -> dict:
    depths = [1, 2, 4, 8, 16, 32, 64]
    cases = [
        ("lfc", 0.9, "default", {}),
        ("lfc", 0.9, "default", {"zero_skip": "weights+activations"}),
        ("lfc", 0.95, "edge", {}),
        ("lfc", 0.9, "default", {"lanes_per_pe": 1, "n_pe": 16}),
        ("cnv", 0.9, "default", {}),
    ]
    rows, violations = [], []
    for name, s, hw, kw in cases:
        g = workload_from_shapes(name, s, seed=0)
        cyc = [cycles(g, load_hw(hw).replace(fifo_depth=d, **kw)) for d in depths]
        ok = all(b <= a for a, b in zip(cyc, cyc[1:], strict=False))
        label = f"{name}@{s} {hw}" + "".join(f" {k}={v}" for k, v in kw.items())
        rows.append({"case": label, "depths": depths, "cycles": cyc, "non_increasing": ok})
        if not ok:
            violations.append(label)
    return {
        "target": "cycles never increase with fifo_depth",
        "rows": rows,
        "violations": violations,
        "met": not violations,
    }


def check_weight_sram() -> dict:
    shapes = [{"name": "fc", "kind": "linear", "in": 1024, "out": 1024}]
    g = workload_from_shapes(shapes, 0.9, seed=0)
    cfg = load_hw("default")
    plan = plan_layer(g, g.graph["order"][0], cfg)  # what the simulator places per PE
    per_pe_bits = plan.pe_bits
    need = int(per_pe_bits.max())  # the fullest PE decides
    if int(per_pe_bits.sum()) != simulate(g, cfg).weight_bits_stored:
        raise AssertionError("per-PE weight bits disagree with simulate's weight_bits_stored")
    rows, wrong = [], []
    for label, bits in [
        ("2x the encoded weights", 2 * need),
        ("exactly the fullest PE's share", need),
        ("one bit less", need - 1),
        ("half", need // 2),
        ("none", 0),
    ]:
        kib = bits / 8192
        r = simulate(g, cfg.replace(weight_sram_kib_per_pe=kib))
        expect = int(kib * 8192) < need
        rows.append(
            {
                "weight_sram": label,
                "weight_sram_kib_per_pe": kib,
                "dram_bound": r.dram_bound,
                "layer_dram_bound": r.layers[0].dram_bound,
                "expected_dram_bound": expect,
                "cycles": r.cycles,
                "dram_stall_cycles": r.stall_cycles["dram"],
                "dram_read_bits": r.counts.get("dram_read_bits", 0),
                "energy_dram_uj": r.energy_breakdown_uj["dram"],
            }
        )
        if r.dram_bound != expect or r.layers[0].dram_bound != expect:
            wrong.append(label)
        if expect and (r.stall_cycles["dram"] <= 0 or r.counts.get("dram_read_bits", 0) <= 0):
            wrong.append(label + " (no DRAM stalls or traffic)")
    lfc = workload_from_shapes("lfc", 0.9, seed=0)
    lfc_rows = []
    for kib in [8, 4, 3, 2, 1, 0]:
        r = simulate(lfc, load_hw("default").replace(weight_sram_kib_per_pe=kib))
        lfc_rows.append(
            {
                "weight_sram_kib_per_pe": kib,
                "dram_bound_layers": [lay.name for lay in r.layers if lay.dram_bound],
                "cycles": r.cycles,
                "dram_stall_cycles": r.stall_cycles["dram"],
            }
        )
    return {
        "target": "a layer is DRAM-bound (flag + dram stalls) exactly when the weight SRAM "
        "per PE is below the fullest PE's encoded share",
        "layer": f"1024x1024 at 90% sparsity, default preset ({cfg.n_pe} PEs, index_bits {cfg.index_bits})",
        "fullest_pe_bits": need,
        "mean_pe_bits": float(per_pe_bits.mean()),
        "rows": rows,
        "lfc_rows": lfc_rows,
        "wrong": wrong,
        "met": not wrong,
    }


def baselines() -> dict:
    rows = []
    for s, hw in [(0.9, "default"), (0.95, "default"), (0.9, "large")]:
        g = workload_from_shapes("lfc", s, seed=0)
        base = load_hw(hw)
        for label, kw in [
            ("sparse ternary", {}),
            ("dense ternary", {"zero_skip": "none", "weight_format": "dense-ternary"}),
            ("dense binary", {"zero_skip": "none", "weight_format": "dense-binary"}),
        ]:
            cfg = base.replace(**kw)
            r = simulate(g, cfg)
            rows.append(
                {
                    "sparsity": s,
                    "hw": hw,
                    "design": label,
                    "cycles": r.cycles,
                    "latency_us": r.latency_us,
                    "area_mm2": r.area_mm2,
                    "energy_uj": r.energy_uj,
                    "weight_kib": r.weight_kib_stored,
                    "dram_bound": r.dram_bound,
                }
            )
    return {"target": "side by side (no pass/fail)", "rows": rows}


def main() -> int:
    t0 = time.perf_counter()
    res = {}
    for key, fn in [
        ("zero_skip_never_slower", check_zero_skip_grid),
        ("lfc95_zero_skip_saving", check_lfc_95),
        ("fifo_depth_never_adds_cycles", check_fifo_depth),
        ("small_weight_sram_dram_bound", check_weight_sram),
        ("baselines_lfc", baselines),
    ]:
        t = time.perf_counter()
        res[key] = fn()
        res[key]["wall_s"] = time.perf_counter() - t
        print(f"[{key}: {res[key]['wall_s']:.1f} s]", file=sys.stderr)

    z = res["zero_skip_never_slower"]
    print(
        f"1. zero-skip never slower than dense: {z['points']} points, "
        f"{len(z['violations'])} violations, worst skip/dense cycle ratio "
        f"{z['max_ratio_skip_over_dense']:.3f} -> {'MET' if z['met'] else 'MISSED'}"
    )
    print("\n2. lfc at 95% sparsity, dense walk vs zero-skip on the same config (target >= 5x)")
    print(
        table(
            ["hw", "zero_skip", "dense cycles", "skip cycles", "saving x", "dense cyc/col", "met"],
            [
                [
                    r["hw"],
                    r["zero_skip"],
                    r["dense_cycles"],
                    r["skip_cycles"],
                    r["saving_x"],
                    r["dense_cycles_per_column"],
                    r["met"],
                ]
                for r in res["lfc95_zero_skip_saving"]["rows"]
            ],
        )
    )
    f = res["fifo_depth_never_adds_cycles"]
    print(f"\n3. deeper FIFO never adds cycles -> {'MET' if f['met'] else 'MISSED'}")
    print(
        table(
            ["case"] + [f"depth {d}" for d in f["rows"][0]["depths"]],
            [[r["case"], *r["cycles"]] for r in f["rows"]],
        )
    )
    w = res["small_weight_sram_dram_bound"]
    print(
        f"\n4. weight SRAM below the encoded weights -> DRAM-bound ({w['layer']}; fullest PE "
        f"{w['fullest_pe_bits']} bits) -> {'MET' if w['met'] else 'MISSED'}"
    )
    print(
        table(
            [
                "weight SRAM",
                "KiB/PE",
                "DRAM-bound",
                "expected",
                "cycles",
                "dram stall cycles",
                "DRAM uJ",
            ],
            [
                [
                    r["weight_sram"],
                    r["weight_sram_kib_per_pe"],
                    r["dram_bound"],
                    r["expected_dram_bound"],
                    r["cycles"],
                    r["dram_stall_cycles"],
                    r["energy_dram_uj"],
                ]
                for r in w["rows"]
            ],
        )
    )
    print(
        table(
            ["lfc@0.9 KiB/PE", "DRAM-bound layers", "cycles", "dram stall cycles"],
            [
                [
                    r["weight_sram_kib_per_pe"],
                    ", ".join(r["dram_bound_layers"]) or "-",
                    r["cycles"],
                    r["dram_stall_cycles"],
                ]
                for r in w["lfc_rows"]
            ],
        )
    )
    print("\n5. lfc: sparse ternary vs dense ternary vs dense binary on the same template")
    print(
        table(
            [
                "sparsity",
                "hw",
                "design",
                "cycles",
                "latency us",
                "area mm^2",
                "energy uJ",
                "weights KiB",
                "DRAM-bound",
            ],
            [
                [
                    r["sparsity"],
                    r["hw"],
                    r["design"],
                    r["cycles"],
                    r["latency_us"],
                    r["area_mm2"],
                    r["energy_uj"],
                    r["weight_kib"],
                    r["dram_bound"],
                ]
                for r in res["baselines_lfc"]["rows"]
            ],
        )
    )
    res["wall_s"] = time.perf_counter() - t0
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(res, indent=1, default=json_default) + "\n")
    print(f"\nwrote {OUT} ({res['wall_s']:.0f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
