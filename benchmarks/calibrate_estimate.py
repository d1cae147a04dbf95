"""Measure ``K(D)``, the one fitted constant per FIFO depth of the analytical estimate.

The analytical model (:mod:`accelerators.analytical`) bounds a tile from below by
the longest of a family of period paths, ``B`` (:func:`accelerators.analytical.path_bound`),
and from above by the depth-1 time ``U``. Fixed periods cannot follow the exact
longest path, which picks its own segment lengths, so ``B`` is a little short of
the exact time ``T`` (:func:`accelerators.sim.timing.tile_cycles`); the aligned
period paths ``R`` (:func:`accelerators.analytical.path_paths`) come closer. This
script measures, for each FIFO depth 2, 3, 4, 8, 16, the median of ``(T - R) / (U - R)``
(at least 0)
over single tiles of random cases and prints ``_PATH_K`` to paste into
``accelerators/analytical.py``, with the estimate's error on the cases of odd and
even index (the constant is fitted on the even ones).

Cases (seed 7): the layers of lfc (sparsity 0.5..0.98) and random layer shapes
(linear, 16..1024 rows x 27..2304 columns, sparsity 0.5..0.98), n_pe 8..256,
lanes 1..8, broadcast 1..8 columns per cycle. None of them is a layer of cnv,
which ``benchmarks/fidelity.py`` and ``benchmarks/analytical_trends.py`` hold out.

    python benchmarks/calibrate_estimate.py          # about 10 s
"""

from __future__ import annotations

import numpy as np

from accelerators import HardwareConfig, workload_from_shapes
from accelerators.analytical import path_paths
from accelerators.sim.plan import plan_layer
from accelerators.sim.timing import tile_cycles

DEPTHS = (2, 3, 4, 8, 16)
SPARSITIES = (0.5, 0.7, 0.9, 0.95, 0.98)


def cases(n: int, seed: int):
    """``(plan, cfg)`` of ``n`` random single-layer cases (no cnv layer among them)."""
    rng = np.random.default_rng(seed)
    lfc = {s: workload_from_shapes("lfc", s) for s in SPARSITIES}
    for i in range(n):
        cfg = HardwareConfig(
            n_pe=int(rng.choice([8, 16, 32, 64, 128, 256])),
            lanes_per_pe=int(rng.choice([1, 2, 4, 8])),
            fifo_depth=int(rng.choice(DEPTHS)),
            broadcast_acts_per_cycle=int(rng.choice([1, 2, 4, 8])),
        )
        s = float(rng.choice(SPARSITIES))
        if i % 2:
            g = lfc[s]
            name = str(rng.choice(g.graph["order"]))
        else:
            shape = {
                "kind": "linear",
                "in": int(rng.integers(27, 2305)),
                "out": int(rng.integers(16, 1025)),
            }
            g = workload_from_shapes([shape], s, seed=int(rng.integers(1 << 30)))
            name = g.graph["order"][0]
        yield plan_layer(g, name, cfg), cfg


def measure(n: int = 300, seed: int = 7) -> list[tuple[int, int, float, int, int]]:
    """``(depth, T, R, U, B)`` of each case."""
    out = []
    for plan, cfg in cases(n, seed):
        d, w = cfg.fifo_depth, cfg.broadcast_acts_per_cycle
        t = int(tile_cycles(plan.cost, d, None, None, w)[0])
        b, r, u = path_paths(plan.cost, d, w)
        out.append((d, t, r, u, b))
    return out


def main() -> int:
    rows = np.array(measure(), dtype=float)
    fit = np.arange(len(rows)) % 2 == 0
    k = {}
    for d in DEPTHS:
        sel = fit & (rows[:, 0] == d) & (rows[:, 3] > rows[:, 2])
        dd, t, r, u, _ = rows[sel].T
        k[d] = max(0.0, float(np.median((t - r) / (u - r)))) if sel.any() else 0.0
    print("_PATH_K = {" + ", ".join(f"{d}: {v:.4f}" for d, v in k.items()) + "}")
    for name, sel in (("fit (even) cases", fit), ("held-back (odd) cases", ~fit)):
        d, t, r, u, b = rows[sel].T
        kk = np.array([k[int(x)] for x in d])
        est = r + kk * (u - r)
        err, err_b = np.abs(est - t) / t, np.abs(b - t) / t
        rel = np.abs(r - t) / t
        print(
            f"{name}: estimate mean |error| {100 * err.mean():.2f} %, worst {100 * err.max():.1f} %; "
            f"R alone {100 * rel.mean():.2f} %, worst {100 * rel.max():.1f} %; "
            f"path bound alone mean {100 * err_b.mean():.2f} %, worst {100 * err_b.max():.1f} %; "
            f"bound holds: {bool((b <= t).all())}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
