"""``codesign sweep SWEEP.toml``: run or continue a joint training x hardware sweep."""

from __future__ import annotations

import json
import shlex

from codesign.training_config import DEVICES

#: exit status of a sweep that ran to its end with trials that failed for good (an error
#: in the trial, not an interruption; see the study's ``error`` attributes)
EXIT_TRIALS_FAILED = 4


def add_parser(subparsers, help_: str) -> None:
    p = subparsers.add_parser(
        "sweep",
        help=help_,
        description=(
            "Run the sweep file's trials (train or take the cached network, simulate) into an "
            "Optuna study. Running the same command again continues the study; several sweep "
            "commands may share one study (each grid point runs once). Exit 0: every trial "
            "completed; 4: the sweep ran to its end but some trials failed (their errors: "
            "codesign export, column error); 2: bad input. See docs/sweep.md."
        ),
    )
    p.add_argument("sweep_file", metavar="SWEEP.toml", help="the sweep file")
    p.add_argument(
        "--storage", help="study storage URL (default: the file's, else sqlite:///runs/<name>.db)"
    )
    p.add_argument("--study", help="study name (default: the file's [study] name)")
    p.add_argument(
        "--jobs",
        type=int,
        default=1,
        help="local worker processes, 1..256 (default 1); a worker that dies fails only "
        "its own trials, which are retried once",
    )
    p.add_argument("--dask-scheduler", metavar="ADDRESS", help="run trials on this Dask cluster")
    p.add_argument(
        "--cache-dir", default="runs/cache", help="trained-network cache (default runs/cache)"
    )
    p.add_argument(
        "--device",
        choices=DEVICES,
        help="where trials train: auto (CUDA when available), cpu or cuda (default: the "
        "file's [train] device, else auto). The simulator always runs on the CPU; a "
        "simulate-only sweep ignores it. cuda without CUDA here is refused before any work "
        "(with --dask-scheduler the workers check). Not part of the study's identity: each "
        "trial records its device, and trained networks are cached per device",
    )
    p.add_argument("--json", action="store_true", help="print a JSON summary on stdout")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=run)


def run(args) -> int:
    import optuna

    from codesign.sweep import load_spec, run_sweep

    optuna.logging.set_verbosity(optuna.logging.WARNING)  # our own progress bar and summary
    spec = load_spec(args.sweep_file).with_device(args.device)
    if spec.trains and not args.dask_scheduler:
        from codesign.training import resolve_device

        resolve_device(spec.train["device"])  # cuda without CUDA: one line, exit 2, no study
    summary = run_sweep(
        spec,
        storage=args.storage,
        study_name=args.study,
        jobs=args.jobs,
        scheduler=args.dask_scheduler,
        cache_dir=args.cache_dir,
        progress=not args.no_progress,
        device=args.device,
    )
    code = EXIT_TRIALS_FAILED if summary.trials_failed else 0
    if args.json:
        print(json.dumps(summary.to_dict()))
        return code
    print(_table(summary))
    return code


def _table(s) -> str:
    from codesign.study import METRIC_LABELS as units

    from ._table import table

    lines = [
        f"study {s.study!r}: {s.trials_done} trials done, {s.trials_failed} failed"
        + (f", {len(s.recovered)} interrupted trials retried" if s.recovered else ""),
        f"Pareto front ({len(s.front)} trials):",
    ]
    if s.front:
        pnames = sorted({k for f in s.front for k in f["params"]})
        head = ["trial"] + [units[o] for o in s.objectives] + pnames
        rows = [
            [f["number"]]
            + [f["values"][o] for o in s.objectives]
            + [f["params"].get(k, "") for k in pnames]
            for f in s.front
        ]
        lines.append(table(head, rows))
    # commands to copy into a shell: each value quoted (a path with a space, a study name
    # holding "; rm ..." must stay one argument)
    storage, study, out = (shlex.quote(v) for v in (s.storage, s.study, f"{s.study}.csv"))
    lines.append(f"results: {s.storage} (study {s.study!r})")
    lines.append(f"explore: codesign dash --storage {storage} --study {study}")
    lines.append(
        f"export:  codesign export --storage {storage} --study {study} --format csv --out {out}"
    )
    if s.trials_failed:
        lines.append(
            f"{s.trials_failed} trials failed: their errors are the export's error column "
            f"(exit status {EXIT_TRIALS_FAILED})"
        )
    return "\n".join(lines)
