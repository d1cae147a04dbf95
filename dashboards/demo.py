"""Write a realistic sweep study (contract 3) without training anything.

Tests, the benchmark and people trying the app need a study before ``codesign
sweep`` has produced one. :func:`write_demo_study` writes trials through
Optuna's storage API with exactly the attributes of contract 3 in
``docs/contracts.md``. Each trial's ``hw_report`` comes from
``accelerators.simulate(workload_from_shapes("lfc", sparsity), hw,
fidelity="analytical")`` when that API exists, and otherwise from
:func:`synthetic_report`, a rough closed-form stand-in with exactly contract 2's
fields (its numbers are plausible, not a hardware model).

The network is FINN's LFC multilayer perceptron (784-1024-1024-1024-10).
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable

__all__ = [
    "LFC_SHAPES",
    "OBJECTIVES",
    "bulk_add_trials",
    "demo_trial",
    "synthetic_report",
    "write_demo_study",
]

OBJECTIVES = ["accuracy", "area_mm2", "latency_us", "energy_uj"]
DIRECTIONS = ["maximize", "minimize", "minimize", "minimize"]
LFC_SHAPES = [("fc1", 1024, 784), ("fc2", 1024, 1024), ("fc3", 1024, 1024), ("fc4", 10, 1024)]
ZERO_SKIP = ["none", "weights", "weights+activations"]
METHODS = ["binary", "ternary", "sparse-ternary"]


def _hw_config(n_pe: int, lanes: int, zero_skip: str, sram_kib: int, weight_format="csc"):
    return {
        "n_pe": n_pe,
        "lanes_per_pe": lanes,
        "clock_mhz": 500.0,
        "tech_node_nm": 45,
        "act_bits": 8,
        "acc_bits": 24,
        "index_bits": 4,
        "weight_sram_kib_per_pe": sram_kib,
        "act_sram_kib": 16,
        "fifo_depth": 8,
        "dram_bytes_per_cycle": 16,
        "dram_latency_cycles": 100,
        "zero_skip": zero_skip,
        "weight_format": weight_format,
    }


def synthetic_report(hw: dict, sparsity: float, rng: random.Random) -> dict:
    """A contract-2 report from closed-form guesses (cycles, pJ and mm^2 are illustrative)."""
    weight_bits = {"dense-binary": 1, "dense-ternary": 2}.get(hw.get("weight_format"), 2)
    n_pe, lanes, clock = hw["n_pe"], hw["lanes_per_pe"], hw["clock_mhz"]
    skip = hw["zero_skip"] != "none"
    layers, total = [], {"cycles": 0, "imbalance": 0, "dram": 0, "readout": 0, "energy": 0.0}
    counts = dict.fromkeys(
        ["adds", "weight_sram_read_bits", "act_sram_read_bits", "act_sram_write_bits"], 0
    )
    counts.update(dram_read_bits=0, fifo_pushes=0, readout_ops=0, padding_entries=0)
    sram_bits = n_pe * hw["weight_sram_kib_per_pe"] * 8192
    any_dram = False
    for name, rows, cols in LFC_SHAPES:
        size = rows * cols
        nnz = round(size * (1.0 - sparsity))
        padding = round(nnz * 0.02) if skip else 0
        work = (nnz + padding) if skip else size
        ideal = math.ceil(work / (n_pe * lanes))
        busy = [max(1, round(ideal * (1.0 + rng.gauss(0, 0.06)))) for _ in range(n_pe)]
        imbalance = max(busy) - ideal if max(busy) > ideal else 0
        bits = (nnz + padding) * (hw["index_bits"] + 1) if skip else size * weight_bits
        dram_bound = bits > sram_bits
        any_dram |= dram_bound
        dram = max(0, bits // (8 * hw["dram_bytes_per_cycle"]) - ideal) if dram_bound else 0
        readout = math.ceil(rows / n_pe) + 4
        cycles = ideal + imbalance + dram + readout
        energy = (work * 0.03 + bits / 64 * 10 + (bits / 64 * 1300 if dram_bound else 0)) * 1e-6
        energy += cycles * n_pe * 0.002 * 1e-6 * 50  # leakage-ish
        layers.append(
            {
                "name": name,
                "kind": "linear",
                "shape": [rows, cols],
                "rows": rows,
                "cols": cols,
                "out_pixels": 1,
                "nnz": nnz,
                "sparsity": 1.0 - nnz / size,
                "cycles": cycles,
                "stall_cycles": {"imbalance": imbalance, "dram": dram, "readout": readout},
                "utilization": work / (n_pe * lanes * cycles),
                "energy_uj": energy,
                "pe_busy_cycles": busy,
                "dram_bound": dram_bound,
                "padding_entries": padding,
            }
        )
        total["cycles"] += cycles
        total["imbalance"] += imbalance
        total["dram"] += dram
        total["readout"] += readout
        total["energy"] += energy
        counts["adds"] += work
        counts["weight_sram_read_bits"] += bits
        counts["act_sram_read_bits"] += cols * hw["act_bits"]
        counts["act_sram_write_bits"] += rows * hw["act_bits"]
        counts["dram_read_bits"] += bits if dram_bound else 0
        counts["fifo_pushes"] += cols * n_pe
        counts["readout_ops"] += rows
        counts["padding_entries"] += padding
    area = {
        "pe_logic": n_pe * lanes * 0.0009,
        "accumulators": n_pe * 0.0015,
        "weight_sram": n_pe * hw["weight_sram_kib_per_pe"] * 0.006,
        "act_sram": hw["act_sram_kib"] * 0.006,
        "fifos": n_pe * hw["fifo_depth"] * 0.0001,
        "decoder": n_pe * 0.0004 if skip else 0.0,
        "broadcast": n_pe * 0.0002,
    }
    energy_split = {"adds": 0.2, "weight_sram": 0.45, "act_sram": 0.1, "dram": 0.1}
    energy_split.update(fifos=0.05, readout=0.03, leakage=0.07)
    latency = total["cycles"] / clock
    useful = sum(lay["utilization"] * lay["cycles"] for lay in layers)
    return {
        "fidelity": "analytical",
        "cycles": total["cycles"],
        "cycles_lower": round(total["cycles"] * 0.9),
        "cycles_upper": round(total["cycles"] * 1.1),
        "latency_us": latency,
        "throughput_inf_s": 1e6 / latency,
        "utilization": useful / total["cycles"],
        "stall_cycles": {k: total[k] for k in ("imbalance", "dram", "readout")},
        "area_mm2": sum(area.values()),
        "area_breakdown_mm2": area,
        "energy_uj": total["energy"],
        "energy_breakdown_uj": {k: v * total["energy"] for k, v in energy_split.items()},
        "counts": counts,
        "dram_bound": any_dram,
        "layers": layers,
        "hw": dict(hw),
        "wall_s": 0.001,
    }


def _simulator(real: bool = True) -> Callable[[dict, float, random.Random], dict]:
    """accelerators' analytical model when it exists (and ``real``), else :func:`synthetic_report`.

    Workloads are cached by sparsity rounded to 0.01 (building one takes ~0.07 s).
    """
    if not real:
        return synthetic_report
    try:
        import accelerators

        simulate, from_shapes = accelerators.simulate, accelerators.workload_from_shapes
        config_cls = accelerators.HardwareConfig
    except (ImportError, AttributeError):
        return synthetic_report
    workloads: dict = {}

    def analytical(hw: dict, sparsity: float, rng: random.Random) -> dict:
        key = round(sparsity, 2)
        if key not in workloads:
            workloads[key] = from_shapes("lfc", key, seed=0)
        return simulate(workloads[key], config_cls(**hw), fidelity="analytical").to_dict()

    try:  # the accelerators API is young: fall back if it disagrees with these arguments
        analytical(_hw_config(8, 1, "weights", 32), 0.9, random.Random(0))
    except (TypeError, ValueError, KeyError):
        return synthetic_report
    return analytical


def _accuracy(method: str, sparsity: float, rng: random.Random) -> float:
    base = {"binary": 0.842, "ternary": 0.871, "sparse-ternary": 0.878}[method]
    return min(0.95, max(0.1, base - 0.35 * max(0.0, sparsity - 0.8) ** 1.5 + rng.gauss(0, 0.004)))


def _feedback(acc: float, sparsity: float, latency: float, energy: float, rng) -> list[dict]:
    periods = []
    for p in range(6):
        f = (p + 1) / 6
        periods.append(
            {
                "period": p,
                "epoch": 2 * p,
                "step": 200 * p,
                "accuracy": acc - 0.03 * (1 - f) + rng.gauss(0, 0.002),
                "sparsity": sparsity * (0.6 + 0.4 * f),
                "cycles": round(latency * 500 * (1.6 - 0.6 * f)),
                "latency_us": latency * (1.6 - 0.6 * f),
                "energy_uj": energy * (1.5 - 0.5 * f),
                "coefficients": {
                    n: 1e-4 * (1 + f) * (i + 1) for i, (n, _, _) in enumerate(LFC_SHAPES)
                },
            }
        )
    return periods


def demo_trial(number: int, rng: random.Random, simulate=None):
    """One finished (or, rarely, failed) trial of contract 3 as an ``optuna.trial.FrozenTrial``."""
    import optuna
    from optuna.distributions import CategoricalDistribution as Cat
    from optuna.distributions import FloatDistribution, IntDistribution

    simulate = simulate or synthetic_report
    method = METHODS[0] if number % 17 == 0 else METHODS[1] if number % 13 == 0 else METHODS[2]
    params = {
        "train.method": method,
        "train.reg_strength": 10 ** rng.uniform(-6, -2),
        "train.threshold": rng.uniform(0.05, 0.5),
        "train.feedback_objective": rng.choice(["none", "latency_us", "energy_uj"]),
        "hw.n_pe": rng.choice([4, 8, 16, 32, 64]),
        "hw.lanes_per_pe": rng.choice([1, 2, 4]),
        "hw.zero_skip": "none" if method != "sparse-ternary" else rng.choice(ZERO_SKIP),
        "hw.weight_sram_kib_per_pe": rng.choice([8, 16, 32, 64, 128]),
    }
    dists = {
        "train.method": Cat(METHODS),
        "train.reg_strength": FloatDistribution(1e-6, 1e-2, log=True),
        "train.threshold": FloatDistribution(0.05, 0.5),
        "train.feedback_objective": Cat(["none", "latency_us", "energy_uj"]),
        "hw.n_pe": IntDistribution(4, 64, log=True),
        "hw.lanes_per_pe": IntDistribution(1, 4),
        "hw.zero_skip": Cat(ZERO_SKIP),
        "hw.weight_sram_kib_per_pe": IntDistribution(8, 128, log=True),
    }
    if method == "sparse-ternary":
        x = (
            math.log10(params["train.reg_strength"])
            + 4.0
            + 3.0 * (params["train.threshold"] - 0.25)
        )
        sparsity = 0.5 + 0.49 / (1.0 + math.exp(-1.5 * x))
    else:
        sparsity = 0.0 if method == "binary" else 0.33
    hw = _hw_config(
        params["hw.n_pe"],
        params["hw.lanes_per_pe"],
        params["hw.zero_skip"],
        params["hw.weight_sram_kib_per_pe"],
        {"binary": "dense-binary", "ternary": "dense-ternary"}.get(method, "csc"),
    )
    train_config = {
        "dataset": "fashion-mnist",
        "model": "lfc",
        "method": method,
        "reg_strength": params["train.reg_strength"],
        "threshold": params["train.threshold"],
        "feedback_objective": params["train.feedback_objective"],
        "epochs": [4, 2, 4],
        "batch_size": 128,
        "lr": 1e-3,
        "seed": number,
    }
    if number % 97 == 5:  # a sweep's failed trial
        return optuna.trial.create_trial(
            state=optuna.trial.TrialState.FAIL,
            params=params,
            distributions=dists,
            user_attrs={
                "error": "RuntimeError: simulated out-of-memory in trial",
                "method": method,
            },
        )
    report = simulate(hw, sparsity, rng)
    acc = _accuracy(method, sparsity, rng)
    total = sum(r * c for _, r, c in LFC_SHAPES)
    size_bits = (
        round(total * (1 - sparsity) * 5)
        if method == "sparse-ternary"
        else total * (1 if method == "binary" else 2)
    )
    metrics = {
        "accuracy": acc,
        "sparsity": sparsity,
        "area_mm2": report["area_mm2"],
        "latency_us": report["latency_us"],
        "energy_uj": report["energy_uj"],
        "cycles": report["cycles"],
        "size_kib": size_bits / 8192,
    }
    train_report = {
        "accuracy": acc,
        "sparsity": sparsity,
        "stages": [
            {"name": "train", "epochs": 4, "accuracy": acc - 0.01},
            {"name": "prune", "epochs": 0, "accuracy": acc - 0.04},
            {"name": "retrain", "epochs": 4, "accuracy": acc},
        ],
        "layers": [
            {"name": lay["name"], "sparsity": lay["sparsity"], "nnz": lay["nnz"]}
            for lay in report["layers"]
        ],
        "size_bits": size_bits,
    }
    if params["train.feedback_objective"] != "none" and method == "sparse-ternary":
        train_report["feedback"] = _feedback(
            acc, sparsity, report["latency_us"], report["energy_uj"], rng
        )
    return optuna.trial.create_trial(
        params=params,
        distributions=dists,
        values=[metrics[k] for k in OBJECTIVES],
        user_attrs={
            "metrics": metrics,
            "hw_config": hw,
            "train_config": train_config,
            "hw_report": report,
            "train_report": train_report,
            "method": method,
        },
    )


def write_demo_study(
    storage_url: str,
    n_trials: int = 60,
    study_name: str = "demo",
    seed: int = 0,
    bulk: bool = False,
    real_reports: bool = True,
) -> None:
    """Create ``study_name`` in ``storage_url`` holding ``n_trials`` contract-3 trials.

    ``bulk=False`` adds them with ``study.add_trials`` (Optuna's API: one
    transaction per trial, ~30 ms each on SQLite). ``bulk=True`` writes the same
    rows into Optuna's own tables with one SQLAlchemy Core ``executemany`` per
    table in one transaction (:func:`bulk_add_trials`): the only practical way
    to write 50,000 trials. ``real_reports=False`` uses :func:`synthetic_report`
    even when ``accelerators.simulate`` exists (50 ms a call is too slow for 50,000).
    """
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    rng = random.Random(seed)
    simulate = _simulator(real_reports)
    study = optuna.create_study(storage=storage_url, study_name=study_name, directions=DIRECTIONS)
    study.set_user_attr("objectives", list(OBJECTIVES))
    trials = [demo_trial(i, rng, simulate) for i in range(n_trials)]
    if bulk:
        bulk_add_trials(storage_url, study_name, trials)
    else:
        study.add_trials(trials)


def bulk_add_trials(storage_url: str, study_name: str, trials) -> None:
    """Append finished ``FrozenTrial`` s to a study in one transaction (RDB storages).

    Writes exactly the rows ``RDBStorage.create_new_trial`` would (trials,
    trial_values, trial_params, trial_user_attributes), numbering trials after
    the existing ones. Tests check a bulk-written study reads back through
    ``optuna.load_study(...).get_trials()`` equal to one written by ``add_trials``.
    """
    import json

    import optuna
    from optuna.distributions import distribution_to_json
    from optuna.storages._rdb import models
    from sqlalchemy import func, insert, select

    storage = optuna.storages.RDBStorage(storage_url)
    study_id = storage.get_study_id_from_name(study_name)
    t = models.TrialModel.__table__
    v = models.TrialValueModel.__table__
    p = models.TrialParamModel.__table__
    u = models.TrialUserAttributeModel.__table__
    with storage.engine.begin() as conn:
        next_id = (conn.execute(select(func.max(t.c.trial_id))).scalar() or 0) + 1
        number = conn.execute(
            select(func.count()).select_from(t).where(t.c.study_id == study_id)
        ).scalar()
        rows_t, rows_v, rows_p, rows_u = [], [], [], []
        for i, trial in enumerate(trials):
            tid = next_id + i
            rows_t.append(
                {
                    "trial_id": tid,
                    "number": number + i,
                    "study_id": study_id,
                    "state": trial.state,
                    "datetime_start": trial.datetime_start,
                    "datetime_complete": trial.datetime_complete,
                }
            )
            for k, value in enumerate(trial.values or []):
                stored, kind = models.TrialValueModel.value_to_stored_repr(value)
                rows_v.append(
                    {"trial_id": tid, "objective": k, "value": stored, "value_type": kind}
                )
            for name, value in trial.params.items():
                dist = trial.distributions[name]
                rows_p.append(
                    {
                        "trial_id": tid,
                        "param_name": name,
                        "param_value": dist.to_internal_repr(value),
                        "distribution_json": distribution_to_json(dist),
                    }
                )
            for key, value in trial.user_attrs.items():
                rows_u.append({"trial_id": tid, "key": key, "value_json": json.dumps(value)})
        for table, rows in ((t, rows_t), (v, rows_v), (p, rows_p), (u, rows_u)):
            if rows:
                conn.execute(insert(table), rows)
