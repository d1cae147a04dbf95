# Over 400 lines: one self-contained experiment script (protocol, sweeps, statistics,
# plot, markdown table) run as `python benchmarks/feedback_pays.py`.
"""Does hardware feedback pay? Uniform vs hardware-driven regularizer, same epochs, same hardware.

Sweeps ``reg_strength`` (at a fixed quantization ``threshold``) for the seed
paper's uniform regularizer and for :class:`codesign.HardwareCost` (latency
objective, SimPy feedback every ``--period-steps`` steps), through
``codesign.sweep`` (trials land in ``runs/<name>.db``), one grid per seed,
scores every network with SimPy on the same accelerator, and compares the
fronts of accuracy (up) vs simulated latency (down).

Defaults (the issue-13 protocol): ``--model lfc`` on mnist5k, the shipped
``default`` preset (64 PEs x 4 lanes; ``--hw legacy`` is each model's small
template of the earlier runs), seeds 0, 1, 2, and a validation split of 10 %
of the training set (``TrainConfig.val_fraction``): fronts are chosen and
matched on validation accuracy and reported with their test accuracy.

Matched-accuracy latency reduction: for each point ``u`` of a seed's uniform
front, the hardware-driven point of the same seed with accuracy >= ``acc_u -
0.005`` and the lowest latency ``lat_h``; reduction ``1 - lat_h / lat_u``.
Per seed: the mean (and the best) over the front; over seeds: the mean with a
two-sided 95 % Student-t interval. Target: >= 20 %, interval excluding 0.

    python benchmarks/feedback_pays.py                       # lfc, ~20 min on 2 busy cores
    python benchmarks/feedback_pays.py --model cnn --epochs 3 --retrain-epochs 1 \
        --strengths 0.0003,0.001,0.003,0.01,0.03             # cnn 16,32, ~12 min
    python benchmarks/feedback_pays.py --model cnn ... --per-row   # per-row coefficients
    python benchmarks/feedback_pays.py --per-column --hw-set skip_empty_columns=true \
        --strengths 0.001,0.003,0.01,0.03,0.1 --name feedback_pays_lfc_skipcols2
                                           # per-column coefficients, empty columns skipped
    python benchmarks/feedback_pays.py --markdown benchmarks/results/X.json [--replot]
                                           # (adds the latency floor to an older result)
    python benchmarks/feedback_pays.py --quick --seeds 0     # 2 strengths, 1+1 epochs

Writes benchmarks/results/<name>.json and <name>.png (name:
``feedback_pays_<model>_default``, ``_rows`` with ``--per-row``, ``_cols`` with
``--per-column``). Results and
their reading: docs/sweep.md.

Why the CNN is the interesting case: a convolution re-uses each nonzero for
every output pixel, so on a weight-skipping accelerator one nonzero of a conv
costs about ``out_pixels`` times what one of an FC layer costs. The ``cnn``
model (conv3x3 16, conv3x3 32, maxpool, FC 128, FC 10; 28x28 in) holds 99 %
of its weights in fc1 (4608 x 128) but most of its work in conv2 (32 x 144
weights, 576 output pixels). On an MLP every nonzero costs about the same, so
reweighting layers cannot move latency much.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "results")

HW = {
    "preset": "default",
    "n_pe": 16,
    "lanes_per_pe": 4,
    "weight_sram_kib_per_pe": 0.5,
    "dram_bytes_per_cycle": 4.0,
    "zero_skip": "weights+activations",
}
HW_CNN = {
    "preset": "default",
    "n_pe": 4,
    "lanes_per_pe": 1,
    "broadcast_acts_per_cycle": 4,  # the preset's; 1 before the template had the knob
    "index_bits": 5,  # the preset's; 4 before
    "weight_sram_kib_per_pe": 256.0,
    "zero_skip": "weights+activations",
}
DEFAULTS = {  # per model: hidden widths, legacy hardware, result name, torch threads
    "mlp": ("512,512", HW, "feedback_pays", 2),
    "cnn": ("16,32", HW_CNN, "feedback_pays_cnn", 1),
    "lfc": ("1024,1024,1024", HW, "feedback_pays_lfc", 1),
}
HW_DEFAULT = {"preset": "default"}  # 64 PEs x 4 lanes, as shipped
# Student's t 0.975 quantile by degrees of freedom (two-sided 95 % interval), as
# scipy.stats.t.ppf(0.975, df) gives it; copied to keep this script scipy-free
T_975 = {1: 12.706, 2: 4.303, 3: 3.182, 4: 2.776, 5: 2.571, 6: 2.447, 7: 2.365, 8: 2.306, 9: 2.262}


def front(points, key="accuracy", cost="latency_us"):
    """Non-dominated (``key`` up, ``cost`` down) points, by ``key`` (the project's one
    Pareto rule, :func:`codesign.study.non_dominated`; equal points are all kept).

    >>> [p["a"] for p in front([{"a": 1, "c": 5}, {"a": 2, "c": 4}, {"a": 3, "c": 9}], "a", "c")]
    [2, 3]
    """
    from codesign.study.pareto import non_dominated

    if not points:
        return []
    mask = non_dominated([[p[key], p[cost]] for p in points], [True, False])
    return sorted((p for p, keep in zip(points, mask, strict=True) if keep), key=lambda p: p[key])


def matched(uniform_front, hw_points, tol=0.005, key="accuracy", cost="latency_us"):
    """For each uniform point: the cheapest hardware point with ``key`` >= its ``key - tol``."""
    rows = []
    for u in uniform_front:
        ok = [h for h in hw_points if h[key] >= u[key] - tol]
        if not ok:
            rows.append({"uniform": u, "hardware": None, "reduction": None})
            continue
        h = min(ok, key=lambda p: p[cost])
        rows.append({"uniform": u, "hardware": h, "reduction": 1 - h[cost] / u[cost]})
    return rows


def mean_ci(values):
    """``(mean, half-width of the two-sided 95 % Student-t interval)``; half-width None for n < 2.

    >>> mean_ci([1.0, 2.0, 3.0])  # doctest: +ELLIPSIS
    (2.0, 2.484...)
    """
    n = len(values)
    if n == 0:
        return None, None
    m = sum(values) / n
    if n < 2:
        return m, None
    sd = (sum((v - m) ** 2 for v in values) / (n - 1)) ** 0.5
    return m, T_975.get(n - 1, 1.96) * sd / n**0.5


def plot(points, path, title="accuracy vs latency: uniform vs hardware-driven", key="accuracy"):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    for fb, label, color in (
        ("none", "uniform regularizer", "tab:blue"),
        ("simpy", "hardware-driven (SimPy)", "tab:red"),
    ):
        pts = [p for p in points if p["feedback"] == fb]
        ax.scatter(
            [p["latency_us"] for p in pts],
            [100 * p[key] for p in pts],
            color=color,
            alpha=0.4,
        )
        for i, seed in enumerate(sorted({p.get("seed", 0) for p in pts})):
            f = front([p for p in pts if p.get("seed", 0) == seed], key)
            ax.plot(
                [p["latency_us"] for p in f],
                [100 * p[key] for p in f],
                "-o",
                color=color,
                alpha=0.9,
                label=label if i == 0 else None,
            )
    lats = [p["latency_us"] for p in points]
    if lats and max(lats) > 5 * min(lats):
        ax.set_xscale("log")
    ax.set_xlabel("simulated latency (us)")
    ax.set_ylabel(f"{'validation' if key == 'val_accuracy' else 'test'} accuracy (%)")
    ax.set_title(title, fontsize=10)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def _variant(args) -> str:
    """The study and result name's suffix for the options that change the method."""
    return (
        ("_quick" if args.quick else "")
        + ("_rows" if args.per_row else "")
        + ("_cols" if args.per_column else "")
        + ("_prox" if args.reg_update == "proximal" else "")
        + (f"_smooth{args.smoothing:g}" if args.smoothing else "")
    )


def _sweep_points(args, hw_cfg, seed, strengths):
    """Run (or resume) one seed's grid and return its points."""
    import optuna

    from codesign.sweep import parse_spec, run_sweep

    name = f"{args.name}_seed{seed}{_variant(args)}"
    storage = args.storage or f"sqlite:///runs/{args.name}.db"
    raw = {
        "study": {
            "name": name,
            "objectives": ["accuracy", "latency_us"],
            "sampler": "grid",
            "fidelity": "simpy",
        },
        "train": {
            "dataset": args.dataset,
            "model": args.model,
            "hidden_units": [int(h) for h in args.hidden.split(",")],
            "epochs": args.epochs,
            "retrain_epochs": args.retrain_epochs,
            "batch_size": 100,
            "lr": args.lr,
            "seed": seed,
            "val_fraction": args.val_fraction,
            "feedback_objective": "latency",
            "feedback_per_row": args.per_row,
            "feedback_per_column": args.per_column,
            "reg_update": args.reg_update,
            "feedback_smoothing": args.smoothing,
            **({"feedback_period_steps": args.period_steps} if args.period_steps else {}),
        },
        "hw": hw_cfg,
        "search": {
            "train.threshold": [float(x) for x in args.thresholds.split(",")],
            "train.reg_strength": strengths,
            "train.feedback": ["none", "simpy"],
        },
    }
    spec = parse_spec(raw)
    run_sweep(spec, storage=storage, jobs=args.jobs, progress=True)
    study = optuna.load_study(study_name=spec.name, storage=storage)
    points = []
    for t in study.trials:
        if t.state.name != "COMPLETE":
            continue
        m = t.user_attrs["metrics"]
        rep = t.user_attrs["train_report"]
        points.append(
            {
                "seed": seed,
                "feedback": t.params["train.feedback"],
                "reg_strength": t.params["train.reg_strength"],
                "threshold": t.params["train.threshold"],
                "accuracy": m["accuracy"],
                "val_accuracy": rep.get("val_accuracy"),
                "latency_us": m["latency_us"],
                "sparsity": m["sparsity"],
                "energy_uj": m["energy_uj"],
                "layer_sparsity": {lay["name"]: round(lay["sparsity"], 4) for lay in rep["layers"]},
                "layer_cycles": {
                    lay["name"]: lay["cycles"] for lay in t.user_attrs["hw_report"]["layers"]
                },
                "last_coefficients": (rep.get("feedback") or [{}])[-1].get("coefficients"),
            }
        )
    return spec, points


def latency_floor(dataset: str, model: str, hidden: str, hw: dict) -> dict:
    """The network's steady-state latency with every weight zero: what no regularizer beats.

    An all-zero CSC stream holds no entries at all (a padding entry only ever
    precedes a nonzero), and a tile's cycles never fall when a (PE, column) gets
    more entries (the max-plus recurrence of :mod:`accelerators.sim.timing` is
    monotone). Without activation skipping (the ``default`` preset) the pushed
    columns do not depend on the weights either, so this latency, simulated by
    SimPy on ``hw`` (a result's hardware dict), is a lower bound for any ternary
    weights of this shape on it: ``1 - floor / latency`` bounds the reduction
    any regularizer can give a point. (With activation skipping it uses the
    zeroed network's activations on 100 training images.)

    Returns ``{"latency_us": ..., "layer_cycles": {layer: cycles}}``.
    """
    import dataclasses

    import numpy as np
    import torch

    from accelerators import load_hw, simulate, workload_from_tensors
    from codesign.bridge import ternary_layers
    from codesign.data import load_dataset
    from codesign.models import build_model

    data = load_dataset(dataset)
    widths = tuple(int(h) for h in hidden.split(","))
    net = build_model(model, data.input_shape, data.n_classes, hidden_units=widths)
    with torch.no_grad():
        for p in net.parameters():
            p.zero_()
    layers = ternary_layers(net, data.x_train[:100])
    zero = [dataclasses.replace(t, weight=np.zeros_like(t.weight)) for t in layers]
    fields = {k: v for k, v in hw.items() if k != "preset"}
    cfg = load_hw(hw.get("preset", "default")).replace(**fields)
    report = simulate(workload_from_tensors(zero), cfg).to_dict()
    return {
        "latency_us": report["latency_us"],
        "layer_cycles": {lay["name"]: lay["cycles"] for lay in report["layers"]},
    }


def summarize(points, seeds, key, tol=0.005):
    """Per seed: fronts chosen on ``key`` (validation), matched on ``key``, reported on test.

    Returns ``(rows, per_seed, summary)``: every matched pair, each seed's mean
    latency reduction and mean test-accuracy difference (hardware - uniform),
    and their means with 95 % t-intervals over the seeds.
    """
    rows, per_seed = [], []
    for seed in seeds:
        uni = [p for p in points if p["seed"] == seed and p["feedback"] == "none"]
        hw = [p for p in points if p["seed"] == seed and p["feedback"] == "simpy"]
        r = matched(front(uni, key), hw, tol, key)
        for row in r:
            row["seed"] = seed
        rows += r
        ok = [x for x in r if x["hardware"] is not None]
        if ok:
            per_seed.append(
                {
                    "seed": seed,
                    "mean_reduction": sum(x["reduction"] for x in ok) / len(ok),
                    "best_reduction": max(x["reduction"] for x in ok),
                    "mean_test_acc_diff": sum(
                        x["hardware"]["accuracy"] - x["uniform"]["accuracy"] for x in ok
                    )
                    / len(ok),
                    "matched": len(ok),
                    "front": len(r),
                }
            )
    red_m, red_h = mean_ci([s["mean_reduction"] for s in per_seed])
    best_m, best_h = mean_ci([s["best_reduction"] for s in per_seed])
    acc_m, acc_h = mean_ci([s["mean_test_acc_diff"] for s in per_seed])
    summary = {
        "mean_reduction": red_m,
        "mean_reduction_ci95": red_h,
        "best_reduction": best_m,
        "best_reduction_ci95": best_h,
        "test_acc_diff": acc_m,
        "test_acc_diff_ci95": acc_h,
    }
    return rows, per_seed, summary


def add_floor(result: dict) -> dict:
    """Put :func:`latency_floor` into a result, and each matched point's ``max_reduction``.

    ``max_reduction = 1 - floor / latency`` of the uniform point: the most any
    weights could cut it; over seeds as ``summary["max_reduction"]`` (mean of the
    per-seed means, with its 95 % t-interval).
    """
    model, hidden = result["model"].split()
    floor = result.get("latency_floor") or latency_floor(
        result["dataset"], model, hidden, result["hw"]
    )
    result["latency_floor"] = floor
    per_seed = {}
    for row in result["matched"]:
        row["max_reduction"] = 1 - floor["latency_us"] / row["uniform"]["latency_us"]
        if row["hardware"] is not None:
            per_seed.setdefault(row["seed"], []).append(row["max_reduction"])
    for s in result["per_seed"]:
        s["mean_max_reduction"] = sum(per_seed[s["seed"]]) / len(per_seed[s["seed"]])
    m, h = mean_ci([s["mean_max_reduction"] for s in result["per_seed"]])
    result["summary"]["max_reduction"], result["summary"]["max_reduction_ci95"] = m, h
    return result


def markdown(result: dict) -> str:
    """The per-seed table and the summary line of a result JSON, as Markdown (for docs/sweep.md)."""
    label = result.get("chosen_on", "test")
    lines = [
        f"| seed | uniform front ({label} / test acc %, latency us) | best hardware point "
        f"({label} / test acc %, latency us) | latency reduction | most any weights could give |",
        "|---|---|---|---|---|",
    ]
    key = "val_accuracy" if label == "validation" else "accuracy"
    for r in result["matched"]:
        u, h = r["uniform"], r["hardware"]
        cell_u = f"{100 * u[key]:.2f} / {100 * u['accuracy']:.2f} @ {u['latency_us']:.2f}"
        if h is None:
            lines.append(f"| {r['seed']} | {cell_u} | none within 0.5 points | - | - |")
            continue
        cell_h = f"{100 * h[key]:.2f} / {100 * h['accuracy']:.2f} @ {h['latency_us']:.2f}"
        lines.append(
            f"| {r['seed']} | {cell_u} | {cell_h} | {100 * r['reduction']:+.1f} % "
            f"| {100 * r['max_reduction']:.1f} % |"
        )
    lines += [
        "",
        "| seed | mean reduction | best reduction | test acc hardware - uniform (points) "
        "| most any weights could give (mean) |",
    ]
    lines += ["|---|---|---|---|---|"]
    for p in result["per_seed"]:
        lines.append(
            f"| {p['seed']} | {100 * p['mean_reduction']:+.1f} % | {100 * p['best_reduction']:+.1f} % "
            f"| {100 * p['mean_test_acc_diff']:+.2f} | {100 * p['mean_max_reduction']:.1f} % |"
        )
    s = result["summary"]

    def ci(m, h, scale=100):
        if m is None:
            return "n/a"
        return f"{scale * m:+.1f}" + (f" +- {scale * h:.1f}" if h is not None else "")

    lines.append(
        f"| mean +- 95 % t-interval | {ci(s['mean_reduction'], s['mean_reduction_ci95'])} % "
        f"| {ci(s['best_reduction'], s['best_reduction_ci95'])} % "
        f"| {ci(s['test_acc_diff'], s['test_acc_diff_ci95'])} "
        f"| {ci(s['max_reduction'], s['max_reduction_ci95'])} % |"
    )
    floor = result["latency_floor"]
    cycles = ", ".join(f"{k} {v:,}" for k, v in floor["layer_cycles"].items())
    lines += [
        "",
        f"Latency floor (every weight zero, SimPy): {floor['latency_us']:.2f} us "
        f"(cycles per layer: {cycles}).",
    ]
    return "\n".join(lines)


def _hw_words(hw: dict) -> str:
    """The plot title's hardware: PEs x lanes, and whether empty columns are skipped."""
    words = f"{hw['n_pe']} PEs x {hw['lanes_per_pe']} lanes"
    return words + (", empty columns skipped" if hw.get("skip_empty_columns") else "")


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--dataset", default="mnist5k")
    ap.add_argument("--model", choices=sorted(DEFAULTS), default="lfc")
    ap.add_argument("--hidden", default=None, help="mlp: hidden widths; cnn: conv channel widths")
    ap.add_argument(
        "--hw",
        choices=("default", "legacy"),
        default="default",
        help="default: the shipped 64 PE x 4 lane preset; legacy: the model's small template",
    )
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--retrain-epochs", type=int, default=1)
    ap.add_argument("--strengths", default="0.003,0.01,0.03,0.1")
    ap.add_argument("--thresholds", default="0.15", help="quantization thresholds (x max|W|)")
    ap.add_argument("--lr", type=float, default=0.003)
    ap.add_argument(
        "--per-row", action="store_true", help="per-row coefficients for the hardware arm"
    )
    ap.add_argument(
        "--per-column",
        action="store_true",
        help="per-column coefficients for the hardware arm (see codesign/hardware_cost.py)",
    )
    ap.add_argument(
        "--hw-set",
        action="append",
        default=[],
        metavar="FIELD=VALUE",
        help="override a hardware field for both arms, e.g. skip_empty_columns=true",
    )
    ap.add_argument(
        "--reg-update",
        choices=("gradient", "proximal"),
        default="gradient",
        help="how the regularizer pulls: a gradient through Adam or a proximal shrinkage "
        "after each step (TrainConfig.reg_update)",
    )
    ap.add_argument(
        "--smoothing",
        type=float,
        default=0.0,
        help="moving-average weight of the previous periods' measured costs "
        "(HardwareCost smoothing)",
    )
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--sram-kib", type=float, default=None, help="weight SRAM per PE (KiB)")
    ap.add_argument("--n-pe", type=int, default=None, help="PEs (default: the preset's)")
    ap.add_argument("--lanes", type=int, default=None, help="lanes per PE")
    ap.add_argument(
        "--period-steps", type=int, default=10, help="feedback period in steps (0: per epoch)"
    )
    ap.add_argument("--threads", type=int, default=None, help="torch threads")
    ap.add_argument("--jobs", type=int, default=1, help="sweep worker processes")
    ap.add_argument("--seeds", default="0,1,2", help="training seeds (one grid each)")
    ap.add_argument(
        "--val-fraction",
        type=float,
        default=0.1,
        help="validation split carved from the training set: fronts are chosen and matched "
        "on it, accuracy is reported on test (0: choose on test, as before)",
    )
    ap.add_argument("--name", default=None, help="study and result file name")
    ap.add_argument("--storage", default=None, help="default sqlite:///runs/<name>.db")
    ap.add_argument(
        "--markdown",
        metavar="RESULT.json",
        help="print a result file's tables as Markdown and exit",
    )
    ap.add_argument("--replot", action="store_true", help="with --markdown: redraw its PNG")
    args = ap.parse_args()
    if args.markdown:
        with open(args.markdown) as f:
            result = json.load(f)
        if "latency_floor" not in result:  # an older result: add the floor and keep it
            add_floor(result)
            with open(args.markdown, "w") as f:
                json.dump(result, f, indent=2)
        print(markdown(result))
        if args.replot:
            hw = result["hw"]
            key = "val_accuracy" if result.get("chosen_on") == "validation" else "accuracy"
            plot(
                result["points"],
                args.markdown[:-5] + ".png",
                f"{result['dataset']}, {result['model']}, {result['epochs']}+"
                f"{result['retrain_epochs']} epochs, {_hw_words(hw)}, "
                f"seeds {','.join(map(str, result['seeds']))}\n"
                f"{result.get('chosen_on', 'test')} accuracy vs latency: uniform vs hardware-driven",
                key,
            )
        return
    hidden, legacy_hw, default_name, threads = DEFAULTS[args.model]
    args.hidden = args.hidden or hidden
    if args.model == "lfc" and args.hidden != hidden:
        ap.error("lfc has fixed widths 1024,1024,1024; use --model mlp --hidden ...")
    hw_cfg = dict(HW_DEFAULT if args.hw == "default" else legacy_hw)
    args.name = args.name or default_name + ("_default" if args.hw == "default" else "")
    for field, v in (
        ("weight_sram_kib_per_pe", args.sram_kib),
        ("n_pe", args.n_pe),
        ("lanes_per_pe", args.lanes),
    ):
        if v is not None:
            hw_cfg[field] = v
    from accelerators import parse_overrides

    hw_cfg.update(parse_overrides(args.hw_set))
    if args.quick:
        args.epochs, args.retrain_epochs, args.strengths, args.thresholds = 1, 1, "0.1,1.0", "0.2"
    import torch

    torch.set_num_threads(args.threads or threads)
    strengths = [float(x) for x in args.strengths.split(",")]
    seeds = [int(x) for x in args.seeds.split(",")]
    key = "val_accuracy" if args.val_fraction > 0 else "accuracy"
    t0 = time.perf_counter()
    points, spec = [], None
    for seed in seeds:
        spec, pts = _sweep_points(args, hw_cfg, seed, strengths)
        points += pts
    wall = time.perf_counter() - t0
    rows, per_seed, summary = summarize(points, seeds, key)
    print(
        f"{'seed':>4} {'arm':<9} {'thr':>5} {'reg':>8} {'val %':>7} {'test %':>7} {'lat us':>9} "
        f"{'sparsity %':>10}  layer sparsity"
    )
    for p in sorted(
        points, key=lambda p: (p["seed"], p["feedback"], p["threshold"], p["reg_strength"])
    ):
        arm = "uniform" if p["feedback"] == "none" else "hardware"
        ls = " ".join(f"{k}={100 * v:.1f}" for k, v in p["layer_sparsity"].items())
        val = f"{100 * p['val_accuracy']:>7.2f}" if p["val_accuracy"] is not None else f"{'-':>7}"
        print(
            f"{p['seed']:>4} {arm:<9} {p['threshold']:>5} {p['reg_strength']:>8.0e} {val} "
            f"{100 * p['accuracy']:>7.2f} {p['latency_us']:>9.3f} {100 * p['sparsity']:>10.2f}  {ls}"
        )
    label = "validation" if key == "val_accuracy" else "test"
    print(f"matched {label} accuracy (hardware >= uniform - 0.5 pt), test accuracy in brackets:")
    for r in rows:
        u, h = r["uniform"], r["hardware"]
        head_ = f"  seed {r['seed']}: uniform {100 * u[key]:.2f} % [{100 * u['accuracy']:.2f}] @ {u['latency_us']:.3f} us"
        if h is None:
            print(head_ + ": no hardware point that accurate")
        else:
            print(
                head_ + f" -> hardware {100 * h[key]:.2f} % [{100 * h['accuracy']:.2f}] @ "
                f"{h['latency_us']:.3f} us: {100 * r['reduction']:+.1f} % latency"
            )

    def fmt(m, h, scale=100.0, unit="%"):
        if m is None:
            return "n/a"
        return f"{scale * m:+.1f} {unit}" + (f" +- {scale * h:.1f}" if h is not None else "")

    print(
        f"over {len(per_seed)} seeds (mean, 95 % t-interval): latency reduction at matched "
        f"accuracy {fmt(summary['mean_reduction'], summary['mean_reduction_ci95'])} "
        f"(best point per seed {fmt(summary['best_reduction'], summary['best_reduction_ci95'])}); "
        f"test accuracy hardware - uniform {fmt(summary['test_acc_diff'], summary['test_acc_diff_ci95'], 100, 'pt')}"
    )
    m, h = summary["mean_reduction"], summary["mean_reduction_ci95"]
    met = bool(m is not None and h is not None and m >= 0.2 and m - h > 0)
    print(f"target (>= 20 % lower latency, interval excluding 0): {'met' if met else 'missed'}")
    os.makedirs(OUT, exist_ok=True)
    name = args.name + _variant(args)
    import dataclasses

    hw_desc = {**hw_cfg, **dataclasses.asdict(spec.hw_config())} if spec else hw_cfg
    plot(
        points,
        os.path.join(OUT, f"{name}.png"),
        f"{args.dataset}, {args.model} {args.hidden}, {args.epochs}+{args.retrain_epochs} epochs, "
        f"{_hw_words(hw_desc)}, seeds {args.seeds}\n"
        f"{label} accuracy vs latency: uniform vs hardware-driven",
        key,
    )
    result = {
        "benchmark": name,
        "command": "python benchmarks/feedback_pays.py " + " ".join(sys.argv[1:]),
        "dataset": args.dataset,
        "model": f"{args.model} {args.hidden}",
        "epochs": args.epochs,
        "retrain_epochs": args.retrain_epochs,
        "reg_update": args.reg_update,
        "feedback_smoothing": args.smoothing,
        "seeds": seeds,
        "val_fraction": args.val_fraction,
        "chosen_on": label,
        "hw": hw_desc,
        "feedback_period_steps": args.period_steps or "epoch",
        "strengths": strengths,
        "points": points,
        "matched": rows,
        "per_seed": per_seed,
        "summary": summary,
        "target_met": met,
        "wall_s": wall,
        "load_avg": os.getloadavg(),
    }
    add_floor(result)
    s = result["summary"]
    print(
        f"latency floor (every weight zero, SimPy): {result['latency_floor']['latency_us']:.3f} us; "
        f"the most any weights could cut the matched uniform points: "
        f"{fmt(s['max_reduction'], s['max_reduction_ci95'])}"
    )
    with open(os.path.join(OUT, f"{name}.json"), "w") as f:
        json.dump(result, f, indent=2)


if __name__ == "__main__":
    main()
