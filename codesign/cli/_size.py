"""``codesign size``: the cheapest accelerator for a network under budgets.

Exit status: 0 when a config meets every budget; 3 when none does (the
message says which budget cannot be met and by how much); 2 for bad input.
"""

from __future__ import annotations

import argparse
import json
import math

from accelerators import InputError

EXIT_INFEASIBLE = 3


def _list(conv):
    """An argparse type: ``"8,16,32"`` -> ``(8, 16, 32)``; an empty or unparsable item is refused
    (argparse prefixes the flag: ``argument --n-pe: '8,,16' is not allowed: ...``)."""
    kind = {int: "integers, e.g. 8,16,32", float: "numbers, e.g. 4,16.5", str: "names"}[conv]

    def parse(text: str):
        items = [x.strip() for x in text.split(",")]
        try:
            if not all(items):
                raise ValueError
            return tuple(conv(x) for x in items)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"{text!r} is not allowed: expected comma-separated {kind}"
            ) from None

    return parse


def add_parser(subparsers, help_: str) -> None:
    from codesign.sizing import SizingGrid

    g = SizingGrid()
    p = subparsers.add_parser(
        "size",
        help=help_,
        description=(
            "Search a grid of accelerators (analytical screening, then SimPy on the candidates) "
            "for the smallest-area and lowest-energy configs that meet the budgets. "
            "Exit 0: found; 3: budgets cannot be met; 2: bad input."
        ),
    )
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--weights", help="a trained network: RUN_DIR/ternary.npz")
    src.add_argument("--workload", help="a built-in shape set (lfc, cnv) with --sparsity")
    p.add_argument(
        "--sparsity", type=float, default=0.9, help="weight sparsity for --workload (0..1)"
    )
    p.add_argument("--seed", type=int, default=0, help="random seed for --workload")
    p.add_argument(
        "--hw", default="default", help="base accelerator: preset or TOML (fields not searched)"
    )
    p.add_argument(
        "--set", action="append", default=[], metavar="FIELD=VALUE", help="override a base field"
    )
    p.add_argument(
        "--max-latency-us", type=float, help="latency budget (us, steady state: weights on chip)"
    )
    p.add_argument("--max-area-mm2", type=float, help="area budget (mm^2)")
    p.add_argument("--max-energy-uj", type=float, help="energy budget per inference (uJ)")
    p.add_argument(
        "--fidelity",
        choices=("simpy", "analytical"),
        default="simpy",
        help="final check (default simpy)",
    )
    p.add_argument(
        "--max-verify",
        type=int,
        default=8,
        help="SimPy checks per goal (default 8; 0: check every candidate)",
    )
    p.add_argument("--n-pe", type=_list(int), default=g.n_pe, help="grid axis, e.g. 8,16,32")
    p.add_argument("--lanes-per-pe", type=_list(int), default=g.lanes_per_pe, help="grid axis")
    p.add_argument(
        "--weight-sram-kib-per-pe",
        type=_list(float),
        default=g.weight_sram_kib_per_pe,
        help="grid axis",
    )
    p.add_argument("--fifo-depth", type=_list(int), default=g.fifo_depth, help="grid axis")
    p.add_argument(
        "--broadcast-acts-per-cycle",
        type=_list(int),
        default=g.broadcast_acts_per_cycle,
        help="grid axis",
    )
    p.add_argument("--zero-skip", type=_list(str), default=g.zero_skip, help="grid axis")
    p.add_argument("--json", action="store_true", help="print the result as one JSON object")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=run)


def run(args) -> int:
    from accelerators import load_hw, parse_overrides, workload_from_shapes, workload_from_tensors
    from codesign.files import load_weights
    from codesign.sizing import BUDGETS, SizingGrid, describe, size_accelerator

    budgets = {b: getattr(args, b) for b in BUDGETS if getattr(args, b) is not None}
    if not budgets:
        raise InputError.plain(
            "give at least one budget: --max-latency-us, --max-area-mm2 or --max-energy-uj"
        )
    for b, v in budgets.items():  # refused before any simulation
        if not math.isfinite(v) or v <= 0:
            raise InputError(f"--{b.replace('_', '-')}", v, "a finite number > 0")
    if not 0 <= args.max_verify <= 100_000:
        raise InputError(
            "--max-verify", args.max_verify, "an integer in 0..100000 (0: verify every candidate)"
        )
    base = load_hw(args.hw)
    if args.set:
        base = base.replace(**parse_overrides(args.set))
    grid = SizingGrid(**{name: getattr(args, name) for name in SizingGrid.__dataclass_fields__})
    if args.weights:
        workload = workload_from_tensors(load_weights(args.weights))
    else:
        if not 0 <= args.sparsity < 1:
            raise InputError("--sparsity", args.sparsity, "a fraction in [0, 1)")
        workload = workload_from_shapes(args.workload, args.sparsity, seed=args.seed)
    result = size_accelerator(
        workload,
        budgets,
        base=base,
        grid=grid,
        fidelity=args.fidelity,
        max_verify=args.max_verify,
        progress=not args.no_progress and not args.json,
    )
    if args.json:
        print(json.dumps(result.to_dict()))
    else:
        print(describe(result))
    return 0 if result.feasible else EXIT_INFEASIBLE
