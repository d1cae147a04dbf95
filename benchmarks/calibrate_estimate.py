"""Fit the analytical estimate's constants for broadcasts wider than one column per cycle.

With ``broadcast_acts_per_cycle = w > 1`` the PEs, not the broadcast, usually set
the pace, and FIFO back-pressure couples them: a tile takes between the lower
bound ``L`` and the depth-1 time ``U`` of :mod:`accelerators.analytical`. This
script measures where, ``frac = (T - L) / (U - L)`` with ``T`` the exact tile
time (:func:`accelerators.sim.timing.tile_cycles`), on random single-layer cases
(lfc and cnv layers, sparsity 0.5..0.98, n_pe 8..256, lanes 1..8, fifo_depth
2..16, w 2..8; seed 7, none of them the grids of ``benchmarks/fidelity.py``), and
fits ``log(frac + 0.01)`` by least squares on the logs of: ``fifo_depth``,
``n_pe``, the mean PE cycles per column, the broadcast slack ``(m / w) / max_p
W[p]`` and ``w``. It prints the coefficients to paste into
``accelerators/analytical.py`` (``_WIDE_COEF``) and the fit's error on a held-back
half.

It also measures ``_PATTERN_K``: with a one-wide broadcast, FIFO depth 2 or 3 and
tiles with their own activation patterns, the mean of ``(T - L) / (U - L)`` over
the tiles of random lfc/cnv layers (activation density 0.5; seed 11).

    python benchmarks/calibrate_estimate.py
"""

from __future__ import annotations

import numpy as np

from accelerators import HardwareConfig, workload_from_shapes
from accelerators.analytical import wide_features
from accelerators.sim.plan import plan_layer
from accelerators.sim.timing import tile_cycles


def cases(n: int, seed: int):
    rng = np.random.default_rng(seed)
    spars = (0.5, 0.7, 0.9, 0.95, 0.98)
    wl = {(k, s): workload_from_shapes(k, s) for k in ("lfc", "cnv") for s in spars}
    for _ in range(n):
        g = wl[(str(rng.choice(["lfc", "cnv"])), float(rng.choice(spars)))]
        cfg = HardwareConfig(
            n_pe=int(rng.choice([8, 16, 32, 64, 128, 256])),
            lanes_per_pe=int(rng.choice([1, 2, 4, 8])),
            fifo_depth=int(rng.choice([2, 3, 4, 8, 16])),
            broadcast_acts_per_cycle=int(rng.choice([2, 4, 8])),
        )
        yield plan_layer(g, str(rng.choice(g.graph["order"])), cfg), cfg


def main() -> int:
    X, y, rows = [], [], []
    for plan, cfg in cases(400, seed=7):
        w, depth = cfg.broadcast_acts_per_cycle, cfg.fifo_depth
        t = int(tile_cycles(plan.cost, depth, None, None, w)[0])
        m, pe_max = plan.cols, int(plan.pe_cost_all.max())
        lower = max(-(-m // w), 1 + pe_max)
        upper = m + plan.col_cost_max_sum
        X.append(
            wide_features(depth, cfg.n_pe, plan.pe_cost_all.mean() / m, m / w / max(1, pe_max), w)
        )
        y.append(np.log((t - lower) / max(upper - lower, 1) + 0.01))
        rows.append((t, lower, upper))
    X, y = np.array(X), np.array(y)
    fit = np.arange(len(y)) % 2 == 0
    coef, *_ = np.linalg.lstsq(X[fit], y[fit], rcond=None)
    print("_WIDE_COEF = (" + ", ".join(f"{c:.3f}" for c in coef) + ")")
    for name, sel in (("fit half", fit), ("held-back half", ~fit)):
        frac = np.clip(np.exp(X[sel] @ coef) - 0.01, 0.0, 1.0)
        t, lo, up = (np.array(v, dtype=float) for v in zip(*np.array(rows)[sel], strict=True))
        err = np.abs(lo + frac * (up - lo) - t) / t
        print(
            f"{name}: mean |error| {100 * err.mean():.2f} %, median {100 * np.median(err):.2f} %, "
            f"worst {100 * err.max():.1f} %"
        )
    print("_PATTERN_K = {" + ", ".join(f"{d}: {k:.2f}" for d, k in pattern_k(40, 11).items()) + "}")
    return 0


def pattern_k(n: int, seed: int) -> dict[int, float]:
    """Mean ``(T - L) / (U - L)`` of pattern tiles for a one-wide broadcast, depth 2 and 3."""
    from accelerators.analytical import tile_bounds

    rng = np.random.default_rng(seed)
    spars = (0.5, 0.7, 0.9, 0.95, 0.98)
    wl = {
        (k, s): workload_from_shapes(k, s, act_density=0.5) for k in ("lfc", "cnv") for s in spars
    }
    out = {}
    for depth in (2, 3):
        fracs = []
        for _ in range(n):
            g = wl[(str(rng.choice(["lfc", "cnv"])), float(rng.choice(spars)))]
            cfg = HardwareConfig(
                n_pe=int(rng.choice([8, 16, 32, 64, 128, 256])),
                lanes_per_pe=int(rng.choice([1, 2, 4, 8])),
                fifo_depth=depth,
                broadcast_acts_per_cycle=1,
                zero_skip="weights+activations",
            )
            plan = plan_layer(g, str(rng.choice(g.graph["order"])), cfg)
            t = tile_cycles(plan.cost, depth, plan.patterns, None, 1)
            cfg1 = cfg.replace(fifo_depth=1)
            lo, _, up, _ = tile_bounds(plan_layer(g, plan.tensor.name, cfg1), 1, None, 1)
            lo = np.maximum(np.asarray(lo), 0)
            keep = up > lo
            fracs.extend(((t[keep] - lo[keep]) / (up[keep] - lo[keep])).tolist())
        out[depth] = float(np.mean(fracs))
    return out


if __name__ == "__main__":
    raise SystemExit(main())
