"""``codesign simulate``: one network on the sparse ternary accelerator, as a table or JSON.

Thin: parse, call :func:`accelerators.simulate`, print. The JSON object is
``Report.to_dict()`` (docs/contracts.md, contract 2); with ``--fidelity both`` it
is ``{"simpy": ..., "analytical": ..., "analytical_error": ...}``; with
``--compare-baselines`` a ``"baselines"`` object adds the same network run as
dense ternary and dense binary on the same template (``zero_skip = none``).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from typing import Any

import accelerators
from accelerators import InputError
from accelerators.costs import load_tech
from accelerators.workload import BUILTIN_SHAPES, layers_of

__all__ = ["add_parser", "run", "analytical_error", "weight_storage_kib"]

FIDELITIES = ("simpy", "analytical", "both")
BASELINES = {"dense-ternary": "dense ternary", "dense-binary": "dense binary"}
STALL_CAUSES = ("imbalance", "dram", "readout")


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


# ------------------------------------------------------------------ the work


def _workload(args: argparse.Namespace):
    if args.weights:
        layers = accelerators.load_ternary_npz(args.weights)
        return accelerators.workload_from_tensors(layers, name=_stem(args.weights))
    name = args.workload or "lfc"
    if name in BUILTIN_SHAPES:
        if isinstance(args.sparsity, bool) or not 0.0 <= args.sparsity < 1.0:
            raise InputError("--sparsity", args.sparsity, "a fraction in [0, 1)")
        return accelerators.workload_from_shapes(name, args.sparsity, seed=args.seed)
    return accelerators.load_workload(name)


def _stem(path: str) -> str:
    import os

    return os.path.splitext(os.path.basename(path))[0]


def _simulate(workload, cfg, fidelity: str, tech, seed: int) -> dict[str, Any]:
    def one(f: str) -> dict[str, Any]:
        return accelerators.simulate(workload, cfg, fidelity=f, tech=tech, seed=seed).to_dict()

    if fidelity != "both":
        return one(fidelity)
    s, a = one("simpy"), one("analytical")
    return {"simpy": s, "analytical": a, "analytical_error": analytical_error(s, a)}


def _rel(ref: float, est: float) -> float:
    if ref == 0:
        return 0.0 if est == 0 else math.inf
    return (est - ref) / ref


def analytical_error(simpy: dict[str, Any], analytical: dict[str, Any]) -> dict[str, Any]:
    """The analytical model's error against SimPy: ``(analytical - simpy) / simpy``.

    ``cycles_rel``, ``latency_us_rel``, ``energy_uj_rel`` (signed fractions),
    ``utilization_abs`` (difference of the 0..1 fractions), per-layer
    ``layers_cycles_rel`` and ``max_abs_layer_cycles_rel``, and ``within_bounds``:
    whether SimPy's cycles lie in the analytical ``[cycles_lower, cycles_upper]``.

    >>> s = {"cycles": 100, "latency_us": 0.2, "energy_uj": 1.0, "utilization": 0.5,
    ...      "layers": [{"name": "fc0", "cycles": 100}]}
    >>> a = {"cycles": 110, "latency_us": 0.22, "energy_uj": 1.0, "utilization": 0.45,
    ...      "cycles_lower": 90, "cycles_upper": 120, "layers": [{"name": "fc0", "cycles": 110}]}
    >>> e = analytical_error(s, a)
    >>> round(e["cycles_rel"], 3), round(e["utilization_abs"], 3), e["within_bounds"]
    (0.1, -0.05, True)
    """
    per_layer = {
        ls["name"]: _rel(ls["cycles"], la["cycles"])
        for ls, la in zip(simpy["layers"], analytical["layers"], strict=False)
    }
    lo = analytical.get("cycles_lower", analytical["cycles"])
    hi = analytical.get("cycles_upper", analytical["cycles"])
    return {
        "cycles_rel": _rel(simpy["cycles"], analytical["cycles"]),
        "latency_us_rel": _rel(simpy["latency_us"], analytical["latency_us"]),
        "energy_uj_rel": _rel(simpy["energy_uj"], analytical["energy_uj"]),
        "utilization_abs": analytical["utilization"] - simpy["utilization"],
        "layers_cycles_rel": per_layer,
        "max_abs_layer_cycles_rel": max((abs(v) for v in per_layer.values()), default=0.0),
        "within_bounds": bool(lo <= simpy["cycles"] <= hi),
    }


def weight_storage_kib(workload, cfg) -> float:
    """KiB of weight storage of ``workload`` in ``cfg``'s format (CSC entries or dense bits)."""
    bits = 0
    for lt in layers_of(workload):
        if cfg.weight_format == "csc":
            bits += accelerators.encoded_bits(lt.matrix, cfg.n_pe, cfg.index_bits)
        else:
            per = 2 if cfg.weight_format == "dense-ternary" else 1
            bits += accelerators.dense_bits(lt.matrix, per)
    return bits / 8192


def run(args: argparse.Namespace) -> int:
    cfg = accelerators.load_hw(args.hw)
    if args.overrides:
        cfg = cfg.replace(**accelerators.parse_overrides(args.overrides))
    tech = load_tech(args.tech)
    workload = _workload(args)  # last: the cheap checks fail first

    runs = {"main": cfg}
    if args.compare_baselines:
        for fmt in BASELINES:
            runs[fmt] = cfg.replace(zero_skip="none", weight_format=fmt)
    results: dict[str, dict[str, Any]] = {}
    from tqdm import tqdm

    bar = tqdm(
        runs.items(),
        desc="simulate",
        unit="run",
        file=sys.stderr,
        disable=True if len(runs) < 2 else None,
    )
    for key, c in bar:
        bar.set_postfix_str(key)
        results[key] = _simulate(workload, c, args.fidelity, tech, args.seed)
        results[key]["weight_storage_kib"] = weight_storage_kib(workload, c)

    out = dict(results["main"])
    if args.compare_baselines:
        out["baselines"] = {k: results[k] for k in BASELINES}
    if args.json:
        json.dump(out, sys.stdout, default=_json_default)
        sys.stdout.write("\n")
        return 0
    name = workload.graph.get("name", "workload")
    try:
        print(_render(out, name, cfg, args, tech.source), flush=True)
    except BrokenPipeError:  # e.g. `codesign simulate | head`: not an error
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return 0


def _json_default(o: Any) -> Any:
    if hasattr(o, "item"):
        return o.item()
    if hasattr(o, "tolist"):
        return o.tolist()
    raise TypeError(f"{type(o).__name__} is not JSON serializable")


# ------------------------------------------------------------------ the tables


def _table(headers: list[str], rows: list[list[Any]], indent: str = "  ") -> str:
    cells = [headers] + [[_cell(v) for v in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    lines = []
    for j, r in enumerate(cells):
        parts = [
            c.ljust(w) if i == 0 else c.rjust(w)
            for i, (c, w) in enumerate(zip(r, widths, strict=True))
        ]
        lines.append(indent + "  ".join(parts).rstrip())
        if j == 0:
            lines.append(indent + "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _cell(v: Any) -> str:
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, int):
        return f"{v:,}"
    if isinstance(v, float):
        return f"{v:,.4g}" if abs(v) < 1000 else f"{v:,.0f}"
    return str(v)


def _pct(x: float) -> str:
    return "inf" if math.isinf(x) else f"{100 * x:+.1f} %"


def _layers_table(r: dict[str, Any]) -> str:
    head = ["layer", "kind", "shape", "nnz", "sparsity %", "cycles"]
    head += [f"{c} stall cycles" for c in STALL_CAUSES] + ["utilization %", "DRAM-bound"]
    rows = []
    for lay in r["layers"]:
        st = lay.get("stall_cycles", {})
        rows.append(
            [lay["name"], lay["kind"], "x".join(str(d) for d in lay["shape"]), lay["nnz"]]
            + [100 * lay["sparsity"], lay["cycles"]]
            + [st.get(c, 0) for c in STALL_CAUSES]
            + [100 * lay["utilization"], lay.get("dram_bound", False)]
        )
    return _table(head, rows)


def _totals_rows(r: dict[str, Any], weight_kib: float, bounds: bool = False) -> list[list[Any]]:
    """``[label, value, unit]`` rows; ``bounds`` adds the analytical cycle bounds (or "-")."""
    rows = [
        ["cycles", r["cycles"], "cycles"],
        ["latency", r["latency_us"], "us"],
        ["throughput", r["throughput_inf_s"], "inf/s"],
        ["utilization", 100 * r["utilization"], "%"],
    ]
    rows += [[f"{c} stalls", r["stall_cycles"].get(c, 0), "cycles"] for c in STALL_CAUSES]
    if bounds or "cycles_lower" in r:
        rows += [["cycles lower bound", r.get("cycles_lower", "-"), "cycles"]]
        rows += [["cycles upper bound", r.get("cycles_upper", "-"), "cycles"]]
    rows += [["area", r["area_mm2"], "mm^2"]]
    rows += [[f"  {k}", v, "mm^2"] for k, v in r["area_breakdown_mm2"].items()]
    rows += [["energy", r["energy_uj"], "uJ"]]
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
    src = f"--weights {args.weights}" if args.weights else (args.workload or "lfc")
    if not args.weights and (args.workload or "lfc") in BUILTIN_SHAPES:
        src += f" (sparsity {args.sparsity:g}, seed {args.seed})"
    lines = [
        f"workload  {name}: {src}",
        f"hardware  {args.hw}: {cfg.n_pe} PEs x {cfg.lanes_per_pe} lanes, {cfg.clock_mhz:g} MHz, "
        f"{cfg.tech_node_nm} nm, zero_skip {cfg.zero_skip}, weights {cfg.weight_format}, "
        f"weight SRAM {cfg.weight_sram_kib_per_pe:g} KiB/PE, act SRAM {cfg.act_sram_kib:g} KiB, "
        f"FIFO depth {cfg.fifo_depth}, broadcast {cfg.broadcast_acts_per_cycle} acts/cycle",
        f"costs     {tech_source}",
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
            _table(["quantity", "simpy", "analytical", "unit"], rows),
        ]
        lines += [
            "",
            "analytical error vs simpy: cycles "
            + _pct(err["cycles_rel"])
            + ", latency "
            + _pct(err["latency_us_rel"])
            + ", energy "
            + _pct(err["energy_uj_rel"])
            + f", utilization {100 * err['utilization_abs']:+.1f} points"
            + f", worst layer {100 * err['max_abs_layer_cycles_rel']:.1f} %"
            + ", simpy cycles "
            + ("within" if err["within_bounds"] else "OUTSIDE")
            + " the analytical bounds",
        ]
        lines += [
            _table(
                ["layer", "simpy cycles", "analytical cycles", "error %"],
                [
                    [
                        ls["name"],
                        ls["cycles"],
                        la["cycles"],
                        _pct(err["layers_cycles_rel"][ls["name"]]),
                    ]
                    for ls, la in zip(out["simpy"]["layers"], a["layers"], strict=False)
                ],
            )
        ]
    else:
        lines += [
            "totals (one inference)",
            _table(["quantity", "value", "unit"], _totals_rows(out, out["weight_storage_kib"])),
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
            _table(
                [
                    "design",
                    "cycles",
                    "latency us",
                    "area mm^2",
                    "energy uJ",
                    "weights KiB",
                    "DRAM-bound",
                ],
                rows,
            )
        ]
    return "\n".join(lines)
