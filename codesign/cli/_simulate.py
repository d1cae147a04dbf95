"""``codesign simulate``: one network on the sparse ternary accelerator, as a table or JSON.

Thin: parse, call :mod:`codesign.simulation` (the library), print with
:mod:`codesign.cli._table`. The JSON object is
``Report.to_dict()`` (docs/contracts.md, contract 2); with ``--fidelity both`` it
is ``{"simpy": ..., "analytical": ..., "analytical_error": ...}``; with
``--compare-baselines`` a ``"baselines"`` object adds the same network run as
dense ternary and dense binary on the same template (``zero_skip = none``).
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

import accelerators
from accelerators import InputError
from accelerators.costs import load_tech
from accelerators.report import STALL_CAUSES
from accelerators.workload import BUILTIN_SHAPES
from codesign.simulation import BASELINES, FIDELITIES, load_network, simulate_network

from ._table import json_default, pct, table

__all__ = ["add_parser", "run"]


#: what a person reads for each stall cause of the report
#: (:func:`accelerators.sim.plan.onchip_stalls`, docs/simulate.md)
STALL_LABELS = {
    "imbalance": "PE load imbalance",
    "column_lanes": "lanes idle in a column",
    "broadcast": "broadcast rate",
    "fifo": "FIFO/pipeline",
    "dram": "DRAM",
    "readout": "readout",
}


def add_parser(subparsers: Any, help_: str) -> None:
    p = subparsers.add_parser(
        "simulate",
        help=help_,
        description=(
            "Simulate one inference of a ternary network on the EIE-style sparse "
            "ternary accelerator: cycles, latency, stalls by cause, utilization, "
            "area (mm^2) and energy (uJ) by component. See docs/simulate.md."
        ),
    )
    src = p.add_mutually_exclusive_group()
    src.add_argument(
        "--workload",
        metavar="lfc|cnv|PATH",
        help="built-in shapes (random ternary weights) or a shape file (.toml/.json) "
        "or a ternary.npz; default lfc",
    )
    src.add_argument(
        "--weights", metavar="FILE.npz", help="real ternary tensors (codesign train's ternary.npz)"
    )
    src.add_argument(
        "--onnx",
        metavar="MODEL.onnx",
        help="an ONNX network: its Gemm/MatMul/Conv layers; float weights ternarized by "
        "--threshold/--threshold-rule, ternary ones ({-s, 0, +s}) taken as they are",
    )
    p.add_argument(
        "--threshold",
        type=float,
        default=0.05,
        help="ONNX float weights: ternary threshold as a fraction of max|W| (default 0.05)",
    )
    p.add_argument(
        "--threshold-rule", default="max", help="ONNX float weights: max | twn (default max)"
    )
    p.add_argument(
        "--sparsity",
        type=float,
        default=0.9,
        help="weight sparsity of the built-in shapes, 0..1 (default 0.9)",
    )
    p.add_argument("--seed", type=int, default=0, help="random seed of the built-in shapes")
    p.add_argument(
        "--hw",
        default="default",
        metavar="FILE|PRESET",
        help="hardware preset (" + ", ".join(accelerators.preset_names()) + ") or a TOML file",
    )
    p.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override one hardware field, e.g. --set n_pe=32 (repeatable)",
    )
    p.add_argument("--tech", metavar="FILE", help="technology table (default: bundled tech45.toml)")
    p.add_argument("--fidelity", choices=FIDELITIES, default="simpy", help="model (default simpy)")
    p.add_argument(
        "--compare-baselines",
        action="store_true",
        help="also run the network as dense ternary and dense binary on the same template",
    )
    p.add_argument("--json", action="store_true", help="print one JSON object instead of tables")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    cfg = accelerators.load_hw(args.hw)
    if args.overrides:
        cfg = cfg.replace(**accelerators.parse_overrides(args.overrides))
    tech = load_tech(args.tech)
    if args.threshold_rule not in ("max", "twn"):
        raise InputError("--threshold-rule", args.threshold_rule, "max | twn")
    if not 0.0 <= args.threshold < 1.0:
        raise InputError("--threshold", args.threshold, "a fraction of max|W| in [0, 1)")
    workload = load_network(  # last: the cheap checks fail first
        weights=args.weights,
        workload=args.workload,
        onnx=args.onnx,
        sparsity=args.sparsity,
        seed=args.seed,
        threshold=args.threshold,
        rule=args.threshold_rule,
    )
    out = simulate_network(
        workload, cfg, args.fidelity, tech, args.seed, args.compare_baselines, progress=True
    )
    if workload.graph.get("notes"):  # ONNX: what was skipped
        out["notes"] = list(workload.graph["notes"])
    if args.json:
        json.dump(out, sys.stdout, default=json_default)
        sys.stdout.write("\n")
        return 0
    name = workload.graph.get("name", "workload")
    try:
        print(_render(out, name, cfg, args, tech.source), flush=True)
    except BrokenPipeError:  # e.g. `codesign simulate | head`: not an error
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return 0


def _layers_table(r: dict[str, Any]) -> str:
    head = ["layer", "kind", "shape", "nnz", "sparsity %", "cycles"]
    head += [f"{STALL_LABELS.get(c, c)} stall cycles" for c in STALL_CAUSES]
    head += ["utilization %", "busy %", "DRAM-bound"]
    rows = []
    for lay in r["layers"]:
        st = lay.get("stall_cycles", {})
        rows.append(
            [lay["name"], lay["kind"], "x".join(str(d) for d in lay["shape"]), lay["nnz"]]
            + [100 * lay["sparsity"], lay["cycles"]]
            + [st.get(c, 0) for c in STALL_CAUSES]
            + [100 * lay["utilization"], 100 * lay.get("busy", 0.0), lay.get("dram_bound", False)]
        )
    return table(head, rows)


def _totals_rows(r: dict[str, Any], weight_kib: float, bounds: bool = False) -> list[list[Any]]:
    """``[label, value, unit]`` rows; ``bounds`` adds the analytical cycle bounds (or "-")."""
    rows = [
        ["cycles, steady state", r["cycles"], "cycles"],
        ["latency, steady state (weights on chip)", r["latency_us"], "us"],
    ]
    if "first_inference_latency_us" in r:
        rows += [
            ["latency, first inference (weights from DRAM)", r["first_inference_latency_us"], "us"]
        ]
    rows += [
        ["throughput, steady state", r["throughput_inf_s"], "inf/s"],
        ["utilization (useful products)", 100 * r["utilization"], "%"],
    ]
    if "busy" in r:
        rows += [["busy (lane-cycles doing any entry)", 100 * r["busy"], "%"]]
    rows += [
        [f"{STALL_LABELS.get(c, c)} stalls", r["stall_cycles"].get(c, 0), "cycles"]
        for c in STALL_CAUSES
    ]
    if bounds or "cycles_lower" in r:
        rows += [["cycles lower bound", r.get("cycles_lower", "-"), "cycles"]]
        rows += [["cycles upper bound", r.get("cycles_upper", "-"), "cycles"]]
    rows += [["area", r["area_mm2"], "mm^2"]]
    rows += [[f"  {k}", v, "mm^2"] for k, v in r["area_breakdown_mm2"].items()]
    rows += [["energy, steady state (dynamic + leakage)", r["energy_uj"], "uJ"]]
    if "energy_dynamic_uj" in r:
        rows += [["  (dynamic)", r["energy_dynamic_uj"], "uJ"]]
        rows += [["  (leakage)", r["energy_leakage_uj"], "uJ"]]
    rows += [[f"  {k}", v, "uJ"] for k, v in r["energy_breakdown_uj"].items()]
    rows += [["weight storage", weight_kib, "KiB"]]
    return rows


def _dram_line(r: dict[str, Any], cfg) -> str:
    bound = [lay["name"] for lay in r["layers"] if lay.get("dram_bound")]
    if not bound:
        return "DRAM-bound: no (every layer's weights fit in the weight SRAM)"
    return (
        f"DRAM-bound: yes: {', '.join(bound)} stream their weights from DRAM at "
        f"{cfg.dram_bytes_per_cycle:g} bytes/cycle (the weight SRAM, "
        f"{cfg.weight_sram_kib_per_pe:g} KiB per PE x {cfg.n_pe} PEs, cannot hold them "
        "after the layers placed before)"
    )


def _render(out: dict[str, Any], name: str, cfg, args, tech_source: str) -> str:
    both = args.fidelity == "both"
    main = out["simpy"] if both else out
    if args.weights:
        src = f"--weights {args.weights}"
    elif args.onnx:
        src = f"--onnx {args.onnx}"
    else:
        src = args.workload or "lfc"
    if not args.weights and not args.onnx and src in BUILTIN_SHAPES:
        src += f" (sparsity {args.sparsity:g}, seed {args.seed})"
    lines = [
        f"workload  {name}: {src}",
        f"hardware  {args.hw}: {cfg.n_pe} PEs x {cfg.lanes_per_pe} lanes, {cfg.clock_mhz:g} MHz, "
        f"{cfg.tech_node_nm} nm, zero_skip {cfg.zero_skip}, weights {cfg.weight_format}, "
        f"weight SRAM {cfg.weight_sram_kib_per_pe:g} KiB/PE, act SRAM {cfg.act_sram_kib:g} KiB, "
        f"FIFO depth {cfg.fifo_depth}, broadcast {cfg.broadcast_acts_per_cycle} acts/cycle",
        f"costs     {tech_source}",
        *out.get("notes", []),
        f"model     {args.fidelity}",
        "",
        "per layer (" + ("simpy" if both else args.fidelity) + ")",
        _layers_table(main),
        "",
        _dram_line(main, cfg),
        "",
    ]
    if both:
        a, err = out["analytical"], out["analytical_error"]
        wkib = out["weight_storage_kib"]
        s_rows = _totals_rows(out["simpy"], wkib, bounds=True)
        a_rows = _totals_rows(a, wkib, bounds=True)
        rows = [[q, v, av, u] for (q, v, u), (_, av, _) in zip(s_rows, a_rows, strict=True)]
        lines += [
            "totals (one inference)",
            table(["quantity", "simpy", "analytical", "unit"], rows),
        ]
        lines += [
            "",
            "analytical error vs simpy: cycles "
            + pct(err["cycles_rel"])
            + ", latency "
            + pct(err["latency_us_rel"])
            + ", energy "
            + pct(err["energy_uj_rel"])
            + f", utilization {100 * err['utilization_abs']:+.1f} points"
            + f", worst layer {100 * err['max_abs_layer_cycles_rel']:.1f} %"
            + ", simpy cycles "
            + ("within" if err["within_bounds"] else "OUTSIDE")
            + " the analytical bounds",
        ]
        lines += [
            table(
                ["layer", "simpy cycles", "analytical cycles", "error %"],
                [
                    [
                        ls["name"],
                        ls["cycles"],
                        la["cycles"],
                        pct(err["layers_cycles_rel"][ls["name"]]),
                    ]
                    for ls, la in zip(out["simpy"]["layers"], a["layers"], strict=False)
                ],
            )
        ]
    else:
        lines += [
            "totals (one inference)",
            table(["quantity", "value", "unit"], _totals_rows(out, out["weight_storage_kib"])),
        ]
    if "baselines" in out:
        lines += [
            "",
            "same network, same template: sparse ternary vs dense baselines (zero_skip none)",
        ]
        entries = [("sparse ternary" if cfg.weight_format == "csc" else cfg.weight_format, out)]
        entries += [(BASELINES[k], v) for k, v in out["baselines"].items()]
        rows = []
        for label, r in entries:
            m = r["simpy"] if both else r
            rows.append(
                [label, m["cycles"], m["latency_us"], m["area_mm2"], m["energy_uj"]]
                + [r["weight_storage_kib"], m.get("dram_bound", False)]
            )
        lines += [
            table(
                [
                    "design",
                    "cycles",
                    "latency us",
                    "area mm^2",
                    "energy, steady uJ",
                    "weights KiB",
                    "DRAM-bound",
                ],
                rows,
            )
        ]
    return "\n".join(lines)
