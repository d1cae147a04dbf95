"""Epoch time on the GPU against the CPU: ``lfc`` on Fashion-MNIST, same config, same seed.

Trains ``lfc`` (sparse-ternary, uniform regularizer) for ``--epochs`` stage-1
epochs and no retraining on each device and reports the mean stage-1 epoch
time and the ratio GPU / CPU (below 1: the GPU is faster). The hardware
simulator is not involved (it always runs on the CPU). Without a CUDA device
it says so, writes that into the result file and exits 0: nothing is measured.

    python benchmarks/gpu_speed.py                    # full Fashion-MNIST, 1 epoch each
    python benchmarks/gpu_speed.py --train-limit 10000 --epochs 2

Writes benchmarks/results/gpu_speed.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "results", "gpu_speed.json")


def epoch_seconds(device: str, args) -> tuple[float, float]:
    """``(seconds per stage-1 epoch, test accuracy)`` of one run on ``device``."""
    from codesign.training import TrainConfig, train

    cfg = TrainConfig(
        dataset=args.dataset,
        data_dir=args.data_dir,
        model="lfc",
        epochs=args.epochs,
        retrain_epochs=0,
        train_limit=args.train_limit,
        seed=args.seed,
        device=device,
    )
    rep = train(cfg).report
    stage = rep["stages"][0]
    return stage["wall_s"] / max(stage["epochs"], 1), rep["accuracy"]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--dataset", default="fashion-mnist")
    ap.add_argument("--data-dir", default=None)
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--train-limit", type=int, default=0, help="training examples (0 = all)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=0, help="torch CPU threads (0 = default)")
    ap.add_argument("--out", default=OUT)
    args = ap.parse_args(argv)
    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    result = {
        "benchmark": "gpu_speed",
        "command": "python benchmarks/gpu_speed.py "
        + " ".join(sys.argv[1:] if argv is None else argv),
        "model": "lfc",
        "dataset": args.dataset,
        "epochs": args.epochs,
        "train_limit": args.train_limit,
        "torch": torch.__version__,
        "cpu": platform.processor() or platform.machine(),
        "cpu_threads": torch.get_num_threads(),
    }
    if not torch.cuda.is_available():
        result["status"] = "no CUDA device: nothing measured"
        print("no CUDA device: the GPU/CPU epoch-time ratio was not measured")
    else:
        gpu_s, gpu_acc = epoch_seconds("cuda", args)
        cpu_s, cpu_acc = epoch_seconds("cpu", args)
        result.update(
            status="measured",
            gpu=torch.cuda.get_device_name(0),
            cpu_epoch_s=cpu_s,
            gpu_epoch_s=gpu_s,
            ratio_gpu_over_cpu=gpu_s / cpu_s,
            cpu_accuracy=cpu_acc,
            gpu_accuracy=gpu_acc,
        )
        print(
            f"lfc on {args.dataset}: {cpu_s:.2f} s/epoch on the CPU, {gpu_s:.2f} s/epoch on "
            f"{result['gpu']}: ratio GPU/CPU {gpu_s / cpu_s:.3f} (test accuracy "
            f"{100 * cpu_acc:.2f} % / {100 * gpu_acc:.2f} %)"
        )
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w") as f:
        json.dump(result, f, indent=2)
        f.write("\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
