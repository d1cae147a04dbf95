"""``codesign train``: train a sparse ternary (or baseline) network and write a run directory."""

from __future__ import annotations

import argparse
import contextlib
import json

from accelerators import InputError

from ._table import table

#: the most torch CPU threads --threads may ask for
MAX_THREADS = 1024

HELP_EPILOG = (
    "Writes RUN_DIR/report.json, RUN_DIR/model.pt and RUN_DIR/ternary.npz when --out is given. "
    "See docs/train.md."
)


def _widths(text: str) -> tuple[int, ...]:
    try:
        return tuple(int(v) for v in text.split(",") if v.strip())
    except ValueError:
        raise InputError("--hidden", text, "comma-separated integers, e.g. 256,256") from None


def _default_widths(model: str) -> tuple[int, ...]:
    """The default --hidden for ``model`` (cnn's are conv channels; others ignore it)."""
    if model == "cnn":
        return (16, 32)  # CNN_CONV of the torch model module (not imported here: it needs torch)
    from codesign.training_config import TrainConfig

    return TrainConfig().hidden_units


def _number(flag: str, text: str) -> int | float:
    """A number as typed: an int when it reads as one, else a float; TrainConfig checks the range."""
    try:
        return int(text)
    except ValueError:
        pass
    try:
        return float(text)
    except ValueError:
        raise InputError(flag, text, "a number") from None


def add_parser(subparsers, help_: str) -> None:
    from codesign.training_config import (
        DATASETS,
        DEVICES,
        METHODS,
        MODELS,
        REG_UPDATES,
        THRESHOLD_RULES,
        TrainConfig,
    )

    d = TrainConfig()
    p = subparsers.add_parser(
        "train",
        help=help_,
        description="Train a network with the three-stage sparse ternary method or a baseline.",
        epilog=HELP_EPILOG,
    )
    a = p.add_argument
    a("--dataset", default=d.dataset, help=f"{' | '.join(DATASETS)} (default {d.dataset})")
    a(
        "--data-dir",
        default=None,
        help="directory with the data set's files (mnist, cifar10; "
        "fashion-mnist defaults to /usr/share/datasets/fashion-mnist)",
    )
    a("--model", default=d.model, help=f"{' | '.join(MODELS)} (default {d.model})")
    a(
        "--hidden",
        default=None,
        help="comma-separated widths: hidden layers of --model mlp "
        f"(default {','.join(map(str, d.hidden_units))}) or conv channels of --model cnn "
        "(default 16,32)",
    )
    a("--method", default=d.method, help=f"{' | '.join(METHODS)} (default {d.method})")
    a("--epochs", default=d.epochs, help="stage 1 epochs (default %(default)s)")
    a(
        "--retrain-epochs",
        default=d.retrain_epochs,
        help="stage 3 epochs (default %(default)s)",
    )
    a(
        "--reg-strength",
        default=d.reg_strength,
        help="threshold regularizer weight (default %(default)s)",
    )
    a(
        "--capture",
        default=d.capture,
        help="capture zone in units of the threshold (default %(default)s)",
    )
    a(
        "--reg-update",
        default=d.reg_update,
        help=f"{' | '.join(REG_UPDATES)}: the regularizer's pull as a gradient through Adam, "
        "or as a shrinkage after each Adam step, proportional to each weight's hardware "
        "price (default %(default)s)",
    )
    a(
        "--threshold",
        default=d.threshold,
        help="ternary threshold as a fraction of max|W| (default %(default)s)",
    )
    a(
        "--threshold-rule",
        default=d.threshold_rule,
        help=f"{' | '.join(THRESHOLD_RULES)} (default %(default)s)",
    )
    a("--l2", default=d.l2, help="L2 weight (default %(default)s)")
    a("--lr", default=d.lr, help="Adam learning rate (default %(default)s)")
    a("--batch-size", default=d.batch_size, help="examples (default %(default)s)")
    a("--train-limit", default=0, help="use only the first N training examples (0 = all)")
    a("--seed", default=d.seed, help="random seed (default %(default)s)")
    a("--n-pe", default=d.n_pe, help="PEs for size accounting (default %(default)s)")
    a(
        "--index-bits",
        default=d.index_bits,
        help="relative index bits for size accounting (default %(default)s)",
    )
    a(
        "--threads",
        type=int,
        default=0,
        help=f"torch CPU threads, 0..{MAX_THREADS} (0 = torch's default)",
    )
    a(
        "--device",
        default="auto",
        help=f"{' | '.join(DEVICES)}: where the network trains (auto: CUDA when available; "
        "the hardware simulator always runs on the CPU) (default %(default)s)",
    )
    a(
        "--val-fraction",
        default=d.val_fraction,
        help="fraction of the training set held out for validation: the report gains "
        "val_accuracy (default %(default)s)",
    )
    a(
        "--onnx",
        metavar="MODEL.onnx",
        default=None,
        help="train this ONNX network (its Gemm/MatMul/Conv layers, weights as the start) "
        "instead of --model",
    )
    a(
        "--export-onnx",
        metavar="FILE.onnx",
        default=None,
        help="also write the trained network as ONNX (codesign simulate --onnx reads it)",
    )
    a("--out", metavar="RUN_DIR", default=None, help="run directory to write")
    a(
        "--overwrite",
        action="store_true",
        help="replace a run already in RUN_DIR (and an existing --export-onnx file)",
    )
    a("--json", action="store_true", help="print the report as one JSON object")
    a("--no-progress", action="store_true", help="no progress bars or per-epoch lines (stderr)")
    a(
        "--show",
        metavar="RUN_DIR",
        default=None,
        help="load an existing run (checkpoint checked) and print its report; trains nothing",
    )
    from codesign.hardware_cost import add_feedback_arguments

    add_feedback_arguments(p)
    p.set_defaults(func=run)


#: TrainConfig fields given as numbers on the command line (parsed leniently, range-checked by TrainConfig)
_NUMERIC = (
    "epochs",
    "retrain_epochs",
    "reg_strength",
    "capture",
    "threshold",
    "l2",
    "lr",
    "batch_size",
    "seed",
    "train_limit",
    "n_pe",
    "index_bits",
    "val_fraction",
)


def _config(args: argparse.Namespace):
    from codesign.training_config import TrainConfig

    n = {k: _number("--" + k.replace("_", "-"), str(getattr(args, k))) for k in _NUMERIC}
    return TrainConfig(
        dataset=args.dataset,
        data_dir=args.data_dir,
        model=args.model,
        hidden_units=_widths(args.hidden) if args.hidden else _default_widths(args.model),
        method=args.method,
        threshold_rule=args.threshold_rule,
        reg_update=args.reg_update,
        device=args.device,
        onnx=args.onnx,
        **n,
    )


def format_report(report: dict) -> str:
    """A readable summary of a run report (every figure with its unit)."""
    lines = [
        f"{report['method']} {report['model']} on {report['dataset']}: "
        f"test accuracy {100 * report['accuracy']:.2f} %, weight sparsity {100 * report['sparsity']:.2f} %, "
        f"wall time {report['wall_s']:.1f} s"
        + (f" on {report['device']}" if report.get("device") else ""),
        *(
            [
                f"validation accuracy {100 * report['val_accuracy']:.2f} % ({report['n_val']} examples held out)"
            ]
            if report.get("val_accuracy") is not None
            else []
        ),
        "",
        table(
            ["stage", "epochs", "test accuracy %", "weight sparsity %", "wall s"],
            [
                [s["name"], s["epochs"], f"{100 * s['accuracy']:.2f}"]
                + [f"{100 * s['sparsity']:.2f}", f"{s['wall_s']:.1f}"]
                for s in report["stages"]
            ],
            indent="",
        ),
        "",
        table(
            ["layer", "shape", "nnz", "sparsity %", "act density %"],
            [
                [lt["name"], "x".join(map(str, lt["shape"])), lt["nnz"]]
                + [f"{100 * lt['sparsity']:.2f}", f"{100 * lt['act_density']:.2f}"]
                for lt in report["layers"]
            ],
            indent="",
        ),
    ]
    sb = report["size_bits"]
    enc = report["size_encoding"]
    lines += [
        "",
        f"weight storage (KiB): fp32 {sb['fp32'] / 8192:.1f}, dense binary {sb['binary'] / 8192:.1f}, "
        f"dense ternary {sb['ternary'] / 8192:.1f}, sparse ternary {sb['sparse_ternary'] / 8192:.1f} "
        f"(n_pe {enc['n_pe']}, index_bits {enc['index_bits']})",
        f"this model: {report['size_kib']:.1f} KiB; compression (baseline size / this size): "
        f"{report['compression_vs_binary']:.2f}x vs dense binary, "
        f"{report['compression_vs_ternary']:.2f}x vs dense ternary",
    ]
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    if not 0 <= args.threads <= MAX_THREADS:  # 100,000 crashed OpenBLAS (segfault, exit 139)
        raise InputError("--threads", args.threads, f"an integer in 0..{MAX_THREADS}")
    if args.show:
        from codesign.training import load_run

        report = load_run(args.show).report
        if not report:
            raise InputError.plain(f"run {args.show!r} has a checkpoint but no report.json")
        print(json.dumps(report) if args.json else format_report(report))
        return 0
    config = _config(args)  # validate before any work
    from codesign.hardware_cost import provider_from_args
    from codesign.training import check_run_dir, resolve_device, train

    provider = provider_from_args(args)  # validates the hardware flags too
    resolve_device(config.device)  # --device cuda without CUDA: refused before any work
    if args.out:  # before training, not after: a run is never lost to an unwritable --out
        check_run_dir(args.out, args.overwrite)
    if args.export_onnx:
        from codesign.files import check_out_file

        if config.onnx:
            raise InputError(
                "--export-onnx",
                args.export_onnx,
                "a built-in --model (an --onnx network is a file already)",
            )
        check_out_file(args.export_onnx, "--export-onnx", args.overwrite)
    if config.onnx:
        from codesign.onnx_import import read_onnx

        read_onnx(config.onnx)  # a bad file is one error line before the data loads
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    from codesign.runs import hold_run_dir

    # one writer per run directory: a second train into it is refused before it trains
    with hold_run_dir(args.out) if args.out else contextlib.nullcontext():
        result = train(config, cost_provider=provider, progress=not args.no_progress)
        if args.out:
            result.save(args.out, overwrite=args.overwrite)
    if args.export_onnx:
        from codesign.onnx_export import export_onnx

        export_onnx(result.model, result.input_shape, args.export_onnx, result.layers)
    if args.json:
        print(json.dumps(result.report))
    else:
        print(format_report(result.report))
        if args.out:
            print(f"run written to {args.out}")
        if args.export_onnx:
            print(f"ONNX written to {args.export_onnx}")
    return 0
