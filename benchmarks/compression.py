# Over 400 lines: one self-contained experiment script (the seed-paper table, the
# regularizer curve and its plot) run as `python benchmarks/compression.py`.
"""Compression benchmark: the four methods side by side, and sparsity/accuracy vs regularizer strength.

Table (one run per method, same data, model, epochs and seed): test accuracy,
weight sparsity, weight storage in KiB (each method in its own encoding: fp32,
dense binary, dense ternary, or the accelerator's sparse ternary stream), size
ratio against dense binary and dense ternary, and training wall time.

Targets (from the seed paper's abstract): sparse-ternary >= 97 % weight sparsity,
accuracy no more than 1.5 points under dense ternary, encoded size >= 5x
smaller than dense binary and >= 11x smaller than dense ternary.

Curve: sparse-ternary at several ``reg_strength`` values (sparsity, accuracy,
size), as JSON and a PNG plot.

Usage (the exact commands behind the committed results are in docs/train.md and
in each JSON's ``command``)::

    python benchmarks/compression.py --dataset fashion-mnist --epochs 3 --retrain-epochs 1 \\
        --reg-strength 5e-4 --threads 1 --curve 0,0.0005,0.001,0.002
    python benchmarks/compression.py --dataset mnist5k --epochs 15 --retrain-epochs 5 \\
        --reg-strength 2e-3 --threads 1

Results go to ``benchmarks/results/compression_<dataset>.json`` (table) and
``compression_curve_<dataset>.json`` / ``.png`` (curve); each is rewritten after
every run, so an interrupted benchmark keeps what it finished. ``--tag NAME``
writes ``..._<NAME>.json`` instead (extra runs made separately); ``--merge
NAME,...`` appends tagged tables' rows to the main table; ``--replot`` redraws a
curve and adds the table's sparse-ternary runs whose config differs only in
``reg_strength``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time

import torch

from codesign.cli._table import table
from codesign.training import METHODS, TrainConfig, train

RESULTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results")
TARGETS = {"sparsity": 0.97, "accuracy_drop_pts": 1.5, "vs_binary": 5.0, "vs_ternary": 11.0}


def _row(report: dict) -> dict:
    return {
        "method": report["method"],
        "accuracy": report["accuracy"],
        "sparsity": report["sparsity"],
        "size_kib": report["size_kib"],
        "size_bits": report["size_bits"],
        "compression_vs_binary": report["compression_vs_binary"],
        "compression_vs_ternary": report["compression_vs_ternary"],
        "wall_s": report["wall_s"],
        "stages": report["stages"],
        "layers": [{k: v for k, v in lt.items()} for lt in report["layers"]],
        "config": report["config"],
    }


def _table(rows: list[dict]) -> str:
    head = ["method", "accuracy %", "sparsity %", "size KiB", "vs binary x", "vs ternary x"]
    body = []
    for r in rows:
        label = r["method"]
        if label == "sparse-ternary":
            label = f"sparse {r['config']['reg_strength']:g}"
        body.append(
            [label, f"{100 * r['accuracy']:.2f}", f"{100 * r['sparsity']:.2f}"]
            + [f"{r['size_kib']:.1f}", f"{r['compression_vs_binary']:.2f}"]
            + [f"{r['compression_vs_ternary']:.2f}", f"{r['wall_s']:.0f}"]
        )
    return table([*head, "wall s"], body, indent="")


def _targets(rows: list[dict]) -> list[dict] | None:
    """The seed's targets, checked for every sparse-ternary row against the dense ternary row."""
    dense = [r for r in rows if r["method"] == "ternary"]
    sparse = [r for r in rows if r["method"] == "sparse-ternary"]
    if not dense or not sparse:
        return None
    t = dense[0]
    out = []
    for s in sparse:
        drop = 100 * (t["accuracy"] - s["accuracy"])
        out.append(
            {
                "reg_strength": s["config"]["reg_strength"],
                "sparsity": {
                    "measured": s["sparsity"],
                    "target": ">= 0.97",
                    "met": s["sparsity"] >= 0.97,
                },
                "accuracy_drop_pts": {
                    "measured": drop,
                    "target": "<= 1.5 points under dense ternary",
                    "met": drop <= TARGETS["accuracy_drop_pts"],
                },
                "vs_binary": {
                    "measured": s["compression_vs_binary"],
                    "target": ">= 5x",
                    "met": s["compression_vs_binary"] >= TARGETS["vs_binary"],
                },
                "vs_ternary": {
                    "measured": s["compression_vs_ternary"],
                    "target": ">= 11x",
                    "met": s["compression_vs_ternary"] >= TARGETS["vs_ternary"],
                },
            }
        )
    return out


def _print_targets(targets: list[dict] | None) -> None:
    for t in targets or []:
        for name, v in t.items():
            if name == "reg_strength":
                continue
            print(
                f"reg_strength {t['reg_strength']:g}: target {name}: measured {v['measured']:.4g}, "
                f"want {v['target']}: {'met' if v['met'] else 'MISSED'}"
            )


def _write(path: str, obj: dict) -> None:
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(obj, f, indent=2)
        f.write("\n")
    os.replace(tmp, path)


def _plot(curve: list[dict], path: str, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    pts = sorted(curve, key=lambda p: p["reg_strength"])
    xs = [max(p["reg_strength"], 1e-5) for p in pts]
    fig, ax = plt.subplots(figsize=(6.4, 4.0))
    ax.plot(xs, [100 * p["sparsity"] for p in pts], "o-", color="tab:blue", label="weight sparsity")
    ax.set_xscale("log")
    ax.set_xlabel("reg_strength (log; 0 drawn at 1e-5)")
    ax.set_ylabel("weight sparsity (%)", color="tab:blue")
    ax2 = ax.twinx()
    ax2.plot(xs, [100 * p["accuracy"] for p in pts], "s--", color="tab:red", label="test accuracy")
    ax2.set_ylabel("test accuracy (%)", color="tab:red")
    ax.set_title(title)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def _point(r: dict) -> dict:
    return {
        "reg_strength": r["config"]["reg_strength"],
        "accuracy": r["accuracy"],
        "sparsity": r["sparsity"],
        "size_kib": r["size_kib"],
        "compression_vs_binary": r["compression_vs_binary"],
        "compression_vs_ternary": r["compression_vs_ternary"],
        "wall_s": r["wall_s"],
        "config": r["config"],
    }


def _with_table_rows(points: list[dict], dataset: str) -> list[dict]:
    """Add the table's sparse-ternary runs whose config differs from the curve's only in
    ``reg_strength`` (same data, epochs, seed ...): they are points of the same curve."""

    def key(cfg: dict) -> dict:
        return {k: v for k, v in cfg.items() if k != "reg_strength"}

    path = os.path.join(RESULTS, f"compression_{dataset}.json")
    if not points or not os.path.isfile(path):
        return points
    with open(path) as f:
        rows = json.load(f)["rows"]
    have = [p["config"] for p in points]
    extra = [
        dict(_point(r), source="table")
        for r in rows
        if r["method"] == "sparse-ternary"
        and key(r["config"]) == key(points[0]["config"])
        and r["config"] not in have
    ]
    return sorted(points + extra, key=lambda p: p["reg_strength"])


def _title(cfg: dict) -> str:
    n = (
        f"first {cfg['train_limit']:,} training examples"
        if cfg["train_limit"]
        else "all training examples"
    )
    return (
        f"sparse ternary {cfg['model']} on {cfg['dataset']}\n({n}, {cfg['epochs']}+"
        f"{cfg['retrain_epochs']} epochs, capture {cfg['capture']:g}, t {cfg['threshold']:g})"
    )


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--dataset", default="fashion-mnist")
    p.add_argument("--model", default="lfc")
    p.add_argument("--epochs", type=int, default=5, help="stage-1 epochs (all methods)")
    p.add_argument("--retrain-epochs", type=int, default=2, help="stage-3 epochs (all methods)")
    p.add_argument("--reg-strength", type=float, default=3e-3)
    p.add_argument("--capture", type=float, default=10.0)
    p.add_argument("--threshold", type=float, default=0.05)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--batch-size", type=int, default=100)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--methods", default=",".join(METHODS))
    p.add_argument(
        "--curve", default="", help="comma-separated reg_strength values ('' = no curve)"
    )
    p.add_argument("--curve-epochs", type=int, default=None, help="default: --epochs")
    p.add_argument(
        "--curve-retrain-epochs", type=int, default=None, help="default: --retrain-epochs"
    )
    p.add_argument(
        "--curve-train-limit", type=int, default=0, help="training examples for the curve (0 = all)"
    )
    p.add_argument("--curve-first", action="store_true", help="run the curve before the table")
    p.add_argument(
        "--replot", action="store_true", help="redraw the curve PNG from its JSON and exit"
    )
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--tag", default="", help="write the table to compression_<dataset>_<tag>.json")
    p.add_argument(
        "--merge",
        default="",
        help="comma-separated tags: append their rows to compression_<dataset>.json and exit",
    )
    p.add_argument("--data-dir", default=None)
    p.add_argument(
        "--seed-paper",
        action="store_true",
        help="the seed paper's comparison: lfc on MNIST (--mnist-dir) and cnv on CIFAR-10 "
        "(--cifar-dir), the four methods each; a data set whose files are absent is skipped "
        "with one line saying which file was expected where",
    )
    p.add_argument("--mnist-dir", default=None, help="MNIST IDX files (for --seed-paper)")
    p.add_argument("--cifar-dir", default=None, help="CIFAR-10 python batches (for --seed-paper)")
    args = p.parse_args(argv)
    if args.seed_paper:
        return _seed_paper(args, argv if argv is not None else sys.argv[1:])
    if args.merge:
        path = os.path.join(RESULTS, f"compression_{args.dataset}.json")
        with open(path) as f:
            main_table = json.load(f)
        commands = main_table["command"]
        commands = commands if isinstance(commands, list) else [commands]
        for tag in args.merge.split(","):
            with open(os.path.join(RESULTS, f"compression_{args.dataset}_{tag}.json")) as f:
                extra = json.load(f)
            have = [r["config"] for r in main_table["rows"]]
            main_table["rows"] += [r for r in extra["rows"] if r["config"] not in have]
            if extra["command"] not in commands:
                commands.append(extra["command"])
        main_table["command"] = commands
        main_table["targets"] = _targets(main_table["rows"])
        _write(path, main_table)
        print(_table(main_table["rows"]))
        _print_targets(main_table["targets"])
        return 0
    if args.replot:  # also picks up table rows of the same config added since
        suffix = f"_{args.tag}" if args.tag else ""
        path = os.path.join(RESULTS, f"compression_curve_{args.dataset}{suffix}.json")
        with open(path) as f:
            curve_json = json.load(f)
        own = [p for p in curve_json["points"] if p.get("source") != "table"]
        curve_json["points"] = points = _with_table_rows(own, args.dataset)
        _write(path, curve_json)
        _plot(points, path[:-5] + ".png", _title(points[0]["config"]))
        print(f"wrote {path[:-5]}.png")
        return 0
    torch.set_num_threads(args.threads)
    os.makedirs(RESULTS, exist_ok=True)
    common = dict(
        dataset=args.dataset,
        data_dir=args.data_dir,
        model=args.model,
        capture=args.capture,
        threshold=args.threshold,
        lr=args.lr,
        batch_size=args.batch_size,
        seed=args.seed,
    )
    env = {
        "torch": torch.__version__,
        "threads": args.threads,
        "cpu": platform.processor() or platform.machine(),
        "cores": os.cpu_count(),
        "note": "2 shared CPU cores: wall times are single runs on a busy machine",
    }
    command = "python benchmarks/compression.py " + " ".join(sys.argv[1:] if argv is None else argv)

    def table() -> None:
        methods = [m for m in args.methods.split(",") if m.strip()]
        if not methods:
            return
        suffix = f"_{args.tag}" if args.tag else ""
        path = os.path.join(RESULTS, f"compression_{args.dataset}{suffix}.json")
        rows: list[dict] = []
        for method in methods:
            cfg = TrainConfig(
                method=method,
                epochs=args.epochs,
                retrain_epochs=args.retrain_epochs,
                reg_strength=args.reg_strength if method == "sparse-ternary" else 0.0,
                **common,
            )
            t0 = time.perf_counter()
            rows.append(_row(train(cfg, progress=False).report))
            print(
                f"[{time.strftime('%H:%M:%S')}] {method}: {time.perf_counter() - t0:.0f} s",
                flush=True,
            )
            _write(
                path,
                {"command": command, "env": env, "rows": rows, "targets": _targets(rows)},
            )
        print(_table(rows))
        _print_targets(_targets(rows))
        print(f"wrote {path}", flush=True)

    def curve() -> None:
        strengths = [float(v) for v in args.curve.split(",") if v.strip()]
        if not strengths:
            return
        suffix = f"_{args.tag}" if args.tag else ""
        path = os.path.join(RESULTS, f"compression_curve_{args.dataset}{suffix}.json")
        points: list[dict] = []
        for lam in strengths:
            cfg = TrainConfig(
                method="sparse-ternary",
                epochs=args.curve_epochs if args.curve_epochs is not None else args.epochs,
                retrain_epochs=(
                    args.curve_retrain_epochs
                    if args.curve_retrain_epochs is not None
                    else args.retrain_epochs
                ),
                reg_strength=lam,
                train_limit=args.curve_train_limit,
                **common,
            )
            r = train(cfg, progress=False).report
            points.append(_point(r))
            print(
                f"[{time.strftime('%H:%M:%S')}] reg_strength {lam:g}: accuracy {100 * r['accuracy']:.2f} %, "
                f"sparsity {100 * r['sparsity']:.2f} %, {r['size_kib']:.1f} KiB, "
                f"{r['compression_vs_ternary']:.2f}x vs ternary, {r['wall_s']:.0f} s",
                flush=True,
            )
            points = _with_table_rows(points, args.dataset)
            _write(path, {"command": command, "env": env, "points": points})
            _plot(points, path[:-5] + ".png", _title(r["config"]))
        print(f"wrote {path}", flush=True)

    for step in (curve, table) if args.curve_first else (table, curve):
        step()
    return 0


def _seed_paper(args, argv: list[str]) -> int:
    """Run the table for (mnist, lfc) and (cifar10, cnv) where their files are present."""
    from accelerators import InputError
    from codesign.data import load_dataset

    skip = {"--seed-paper", "--mnist-dir", "--cifar-dir", "--dataset", "--model", "--data-dir"}
    rest, i = [], 0
    while i < len(argv):  # pass every other flag through
        a = argv[i]
        flag = a.split("=")[0]
        takes_value = flag != "--seed-paper" and "=" not in a
        if flag in skip:
            i += 2 if takes_value else 1
            continue
        rest.append(a)
        i += 1
    ran = 0
    for dataset, model, d in (("mnist", "lfc", args.mnist_dir), ("cifar10", "cnv", args.cifar_dir)):
        if d is None:
            print(
                f"{dataset}: skipped (no --{'mnist' if dataset == 'mnist' else 'cifar'}-dir given)"
            )
            continue
        try:
            load_dataset(dataset, d)
        except InputError as exc:
            print(f"{dataset}: skipped: {exc}")
            continue
        print(f"{dataset}: {model}, files in {d}", flush=True)
        main(["--dataset", dataset, "--model", model, "--data-dir", d, *rest])
        ran += 1
    return 0 if ran else 1


if __name__ == "__main__":
    raise SystemExit(main())
