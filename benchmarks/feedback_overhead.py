"""What hardware-in-the-loop training costs: lfc on mnist5k, SimPy feedback each epoch vs none.

Two runs of the same training (``lfc``, ``mnist5k``, sparse-ternary), one with
the uniform regularizer, one with :class:`codesign.HardwareCost` (SimPy,
latency, default accelerator, one feedback per epoch: a base simulation plus
one per layer for the finite differences). Reported:

- epoch time (train stage wall / epochs) for each run;
- feedback time per period: the provider's own clock (``sim_wall_s``) and the
  extra wall time of the whole feedback call (network -> LayerTensors ->
  simulations), measured around ``provider.feedback``;
- overhead = feedback time per epoch / epoch time without feedback (target
  <= 10 %), and the raw wall-time ratio of the two runs (noisy on a shared CPU).

A one-epoch run first warms up data loading and torch (discarded): otherwise the
first measured run pays for it and the overhead looks smaller than it is.

    python benchmarks/feedback_overhead.py [--epochs 2]

Writes benchmarks/results/feedback_overhead.json.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import time

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "results")


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--dataset", default="mnist5k")
    args = ap.parse_args()
    import torch

    from accelerators import load_hw
    from codesign.hardware_cost import HardwareCost
    from codesign.training import TrainConfig, train

    torch.set_num_threads(2)
    cfg = TrainConfig(
        dataset=args.dataset, model="lfc", epochs=args.epochs, retrain_epochs=0, lr=0.003
    )

    class Timed(HardwareCost):
        calls: list = []

        def feedback(self, layers):
            t0 = time.perf_counter()
            fb = super().feedback(layers)
            self.calls.append(time.perf_counter() - t0)
            return fb

    train(dataclasses.replace(cfg, epochs=1))  # warm-up (data, torch), discarded
    loads = [os.getloadavg()]
    t0 = time.perf_counter()
    plain = train(cfg)
    wall_plain = time.perf_counter() - t0
    loads.append(os.getloadavg())
    prov = Timed(load_hw("default"), fidelity="simpy")
    t0 = time.perf_counter()
    fed = train(cfg, cost_provider=prov)
    wall_fed = time.perf_counter() - t0
    loads.append(os.getloadavg())

    def stage(rep):
        return next(s for s in rep["stages"] if s["name"] == "train")["wall_s"]

    epoch_plain = stage(plain.report) / args.epochs
    epoch_fed = stage(fed.report) / args.epochs
    periods = fed.report["feedback"]
    sim_s = [p["sim_wall_s"] for p in periods]
    call_s = prov.calls
    per_epoch_feedback = sum(call_s) / args.epochs
    overhead = per_epoch_feedback / epoch_plain
    print(
        f"lfc on {args.dataset}, {args.epochs} epochs, SimPy feedback once per epoch ({len(periods)} periods)"
    )
    print(f"{'':<34} {'seconds':>9}")
    print(f"{'epoch time, no feedback':<34} {epoch_plain:>9.2f}")
    print(f"{'epoch time, with feedback':<34} {epoch_fed:>9.2f}")
    print(f"{'feedback call per period (median)':<34} {sorted(call_s)[len(call_s) // 2]:>9.3f}")
    print(f"{'  of which simulations':<34} {sorted(sim_s)[len(sim_s) // 2]:>9.3f}")
    print(f"overhead (feedback per epoch / epoch without): {100 * overhead:.1f} % (target <= 10 %)")
    print(f"raw wall ratio with/without (noisy): {wall_fed / wall_plain:.3f}; load average {loads}")
    os.makedirs(OUT, exist_ok=True)
    with open(os.path.join(OUT, "feedback_overhead.json"), "w") as f:
        json.dump(
            {
                "benchmark": "feedback_overhead",
                "dataset": args.dataset,
                "model": "lfc",
                "epochs": args.epochs,
                "epoch_s_no_feedback": epoch_plain,
                "epoch_s_with_feedback": epoch_fed,
                "feedback_call_s": call_s,
                "feedback_sim_s": sim_s,
                "overhead": overhead,
                "wall_ratio": wall_fed / wall_plain,
                "target_met": overhead <= 0.10,
                "load_avg": loads,
            },
            f,
            indent=2,
        )


if __name__ == "__main__":
    main()
