"""``codesign dash``: serve the Pareto explorer for a sweep study (see docs/dashboard.md).

Thin: parse, check the port is free (by binding it), build
:func:`dashboards.create_app`, serve. ``--check`` only reads the study and
prints what the app would show (a table, or ``--json``), then exits.
"""

from __future__ import annotations

import argparse
import json
import socket
import sys
from typing import Any

from accelerators import InputError

__all__ = ["add_parser", "port_is_free", "run"]

DEFAULT_STORAGE = "sqlite:///runs/quickstart.db"


def add_parser(subparsers: Any, help_: str) -> None:
    p = subparsers.add_parser(
        "dash",
        help=help_,
        description=(
            "Serve the Pareto explorer web app for a sweep study: fronts of accuracy "
            "against area (mm^2), latency (us) and energy (uJ), filters and budgets, "
            "drill-down into each design, comparison, CSV/PNG/SVG export. It picks up "
            "new trials while a sweep runs. See docs/dashboard.md."
        ),
    )
    p.add_argument(
        "--storage",
        default=DEFAULT_STORAGE,
        metavar="URL",
        help=f"Optuna storage URL of the study (default {DEFAULT_STORAGE})",
    )
    p.add_argument(
        "--study", default=None, metavar="NAME", help="study name (default: the only or newest one)"
    )
    p.add_argument("--host", default="127.0.0.1", help="interface to serve on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8050, help="TCP port (default 8050)")
    p.add_argument(
        "--refresh-s",
        type=float,
        default=5.0,
        metavar="SECONDS",
        help="seconds between polls for new trials (default 5)",
    )
    p.add_argument("--debug", action="store_true", help="Dash debug mode (reloader, dev tools)")
    p.add_argument(
        "--check", action="store_true", help="only read the study, print a summary and exit"
    )
    p.add_argument("--json", action="store_true", help="print the summary as one JSON object")
    p.set_defaults(func=run)


def port_is_free(host: str, port: int) -> bool:
    """True when ``host:port`` can be bound right now (nothing else listens there)."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as sock:
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def _summary(args: argparse.Namespace) -> dict:
    from dashboards import StudyLoadError, StudySource

    out: dict = {"storage": args.storage, "url": f"http://{args.host}:{args.port}/"}
    try:
        snap = StudySource(args.storage, args.study).snapshot()
    except StudyLoadError as exc:
        out["error"] = str(exc)
        return out
    frame = snap.frame
    out.update(
        study=snap.study_name,
        objectives=list(snap.objectives),
        n_trials=snap.n_trials,
        n_shown=len(frame),
        n_failed=snap.n_failed,
        n_running=snap.n_running,
        n_skipped=snap.n_skipped,
        params=list(snap.params),
    )
    if len(frame):
        if "accuracy" in snap.metrics:  # absent in simulate-only sweeps
            out["best_accuracy_pct"] = round(100 * float(frame["accuracy"].max()), 3)
        out["min_area_mm2"] = float(frame["area_mm2"].min())
        out["min_latency_us"] = float(frame["latency_us"].min())
        out["min_energy_uj"] = float(frame["energy_uj"].min())
    return out


def _print_summary(s: dict) -> None:
    if "error" in s:
        print(f"storage     {s['storage']}\nproblem     {s['error']}")
        return
    rows = [
        ("storage", s["storage"]),
        ("study", s["study"]),
        ("objectives", ", ".join(s["objectives"]) or "(none recorded)"),
        ("trials", f"{s['n_trials']} ({s['n_shown']} shown, {s['n_failed']} failed, "
         f"{s['n_running']} running, {s['n_skipped']} without valid metrics)"),
        ("params", ", ".join(s["params"])),
    ]  # fmt: skip
    if "best_accuracy_pct" in s:
        rows.append(("best accuracy", f"{s['best_accuracy_pct']:.2f} %"))
    if "min_area_mm2" in s:
        rows += [
            ("min area", f"{s['min_area_mm2']:.4g} mm^2"),
            ("min latency", f"{s['min_latency_us']:.4g} us"),
            ("min energy", f"{s['min_energy_uj']:.4g} uJ"),
        ]
    for key, value in rows:
        print(f"{key:<14}{value}")


def run(args: argparse.Namespace) -> int:
    if not 1 <= args.port <= 65535:
        raise InputError("--port", args.port, "an integer in 1..65535")
    if not args.refresh_s > 0:
        raise InputError("--refresh-s", args.refresh_s, "a number of seconds > 0")
    summary = _summary(args)
    if args.check:
        if args.json:
            print(json.dumps(summary))
        else:
            _print_summary(summary)
        if "error" in summary:
            raise InputError.plain(f"cannot read the study: {summary['error']}")
        return 0
    if not port_is_free(args.host, args.port):
        raise InputError.plain(
            f"port {args.port} on {args.host} is busy (another server?); choose one with --port"
        )
    from dashboards import create_app

    app = create_app(args.storage, args.study, refresh_s=args.refresh_s)
    if args.json:
        print(json.dumps(summary), flush=True)
    else:
        _print_summary(summary)
        if "error" in summary:
            print("(the page shows this message until the study can be read)")
        print(f"serving on {summary['url']} (Ctrl+C to stop)", flush=True)
    sys.stdout.flush()
    app.run(host=args.host, port=args.port, debug=args.debug)
    return 0
