"""Shared helpers for the sweep tests: tiny sweep files and trial functions."""

from __future__ import annotations

import os
import textwrap

TINY_SHAPES = '[{kind = "linear", in = 48, out = 24}, {kind = "linear", in = 24, out = 10}]'


def write_sweep(tmp_path, body: str, name: str = "tiny") -> str:
    path = os.path.join(tmp_path, f"{name}.toml")
    with open(path, "w") as f:
        f.write(textwrap.dedent(body))
    return path


def sim_sweep(
    tmp_path, name="tiny", sampler="grid", trials=None, fidelity="analytical", extra_search=""
) -> str:
    trials_line = f"trials = {trials}" if trials else ""
    return write_sweep(
        tmp_path,
        f"""
        [study]
        name = "{name}"
        objectives = ["latency_us", "area_mm2"]
        sampler = "{sampler}"
        fidelity = "{fidelity}"
        seed = 3
        {trials_line}

        [workload]
        shapes = {TINY_SHAPES}
        sparsity = 0.8

        [hw]
        preset = "default"

        [search]
        "hw.n_pe" = [1, 2, 4, 8]
        "hw.lanes_per_pe" = [1, 2]
        {extra_search}
        """,
        name,
    )


def failing_on_n_pe_2(task):
    """The real trial, except that hw.n_pe == 2 raises (a trial that fails)."""
    from codesign.sweep import evaluate_trial

    if task.params.get("hw.n_pe") == 2:
        raise RuntimeError("boom on n_pe=2")
    return evaluate_trial(task)


def nan_on_n_pe_4(task):
    """The real trial, except that hw.n_pe == 4 returns a NaN objective."""
    from codesign.sweep import evaluate_trial

    out = evaluate_trial(task)
    if task.params.get("hw.n_pe") == 4:
        out["values"][0] = float("nan")
    return out


def dies_once_on_n_pe_4(task):
    """The real trial, except that the first time it meets hw.n_pe == 4 its process is killed."""
    import signal

    from codesign.sweep import evaluate_trial

    marker = os.path.join(task.cache_dir, "died-once")
    if task.params.get("hw.n_pe") == 4 and not os.path.exists(marker):
        os.makedirs(task.cache_dir, exist_ok=True)
        open(marker, "w").close()
        os.kill(os.getpid(), signal.SIGKILL)
    return evaluate_trial(task)


def always_dies_on_n_pe_4(task):
    """The real trial, except that hw.n_pe == 4 kills its process every time."""
    import signal

    from codesign.sweep import evaluate_trial

    if task.params.get("hw.n_pe") == 4:
        os.kill(os.getpid(), signal.SIGKILL)
    return evaluate_trial(task)
