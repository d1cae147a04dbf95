"""``codesign dash``: serve the Pareto explorer for a sweep study (see docs/dashboard.md).

Thin: parse, check the address can be served (by binding it: a malformed or
unresolvable host, a privileged port and a busy port are each named), build
:func:`dashboards.create_app` (it reads the study before serving), serve. ``--check`` only reads the study and
prints what the app would show (a table, or ``--json``), then exits.
"""

from __future__ import annotations

import argparse
import errno
import json
import socket
import sys
from typing import Any

from accelerators import InputError

__all__ = ["add_parser", "address_problem", "port_is_free", "run"]

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


def address_problem(host: str, port: int) -> str | None:
    """Why ``host:port`` cannot be served right now (one sentence), or None when it can.

    Binds it once: a malformed or unresolvable host, a port below 1024 without
    root, an address this machine does not have, and a busy port each get their own
    sentence.
    """
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except (socket.gaierror, UnicodeError, ValueError):
        return (f"--host {host!r} is not an IP address or a host name this machine can resolve "
                "(e.g. 127.0.0.1, 0.0.0.0 or localhost)")  # fmt: skip
    family, _, _, _, addr = infos[0]
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        try:
            sock.bind(addr)
        except PermissionError:
            return (f"port {port} on {host} needs administrator rights (ports below 1024 are "
                    "privileged); choose one >= 1024 with --port")  # fmt: skip
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                return (f"port {port} on {host} is busy (another server?); choose one with "
                        "--port")  # fmt: skip
            if exc.errno == errno.EADDRNOTAVAIL:
                return (f"--host {host!r} is not an address of this machine; use 127.0.0.1 "
                        "(this machine only) or 0.0.0.0 (every interface)")  # fmt: skip
            return f"cannot serve on {host}:{port}: {exc.strerror or exc}"
    return None


def port_is_free(host: str, port: int) -> bool:
    """True when ``host:port`` can be bound right now."""
    return address_problem(host, port) is None


def _exists(url: str) -> bool:
    import os

    from codesign.study import storage_file

    path = storage_file(url)
    return path is not None and os.path.exists(path)


def _summary(args: argparse.Namespace, source=None) -> dict:
    from codesign.study import shown_url
    from dashboards import StudyLoadError, StudySource

    host = f"[{args.host}]" if ":" in args.host else args.host  # an IPv6 address: [::1]
    out: dict = {"storage": shown_url(args.storage), "url": f"http://{host}:{args.port}/"}
    try:
        snap = (source or StudySource(args.storage, args.study)).snapshot()
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
        n_pruned=snap.n_pruned,
        n_running=snap.n_running,
        n_skipped=snap.n_skipped,
        params=list(snap.params),
    )
    # only metrics with a value (no accuracy in simulate-only sweeps): no NaN in the JSON
    if "accuracy" in snap.metrics:
        out["best_accuracy_pct"] = round(100 * float(frame["accuracy"].max()), 3)
    for metric in ("area_mm2", "latency_us", "energy_uj"):
        if metric in snap.metrics:
            out[f"min_{metric}"] = float(frame[metric].min())
    return out


def _print_summary(s: dict) -> None:
    if "error" in s:
        print(f"storage     {_printable(s['storage'])}\nproblem     {_printable(s['error'])}")
        return
    rows = [
        ("storage", s["storage"]),
        ("study", s["study"]),
        ("objectives", ", ".join(s["objectives"]) or "(none recorded)"),
        ("trials", f"{s['n_trials']} ({s['n_shown']} shown, {s['n_failed']} failed, "
         f"{s['n_pruned']} pruned, {s['n_running']} running, "
         f"{s['n_skipped']} without valid metrics)"),
        ("params", ", ".join(s["params"])),
    ]  # fmt: skip
    if "best_accuracy_pct" in s:
        rows.append(("best accuracy", f"{s['best_accuracy_pct']:.2f} %"))
    for key, label, unit in (("min_area_mm2", "min area", "mm^2"),
                             ("min_latency_us", "min latency", "us"),
                             ("min_energy_uj", "min energy", "uJ")):  # fmt: skip
        if key in s:
            rows.append((label, f"{s[key]:.4g} {unit}"))
    for key, value in rows:
        print(f"{key:<14}{_printable(value)}")


def _printable(text) -> str:
    r"""``text`` with every character a terminal would act on (newline, escape sequences,
    a right-to-left override ...) written as its escape: a study name or knob is read from
    the study, and must neither forge a line of the summary nor drive the terminal.

    >>> _printable("s\nbest accuracy 99 %\x1b[2J µm")
    's\\nbest accuracy 99 %\\x1b[2J µm'
    """
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in str(text))


def run(args: argparse.Namespace) -> int:
    if not 1 <= args.port <= 65535:
        raise InputError("--port", args.port, "an integer in 1..65535")
    # below 0.1 s each open page would poll the study hundreds of times a second (the
    # browser's timer rounds 0.0001 s down to 0 ms); nan and inf fail too
    if not 0.1 <= args.refresh_s <= 86_400:
        raise InputError("--refresh-s", args.refresh_s, "a number of seconds in [0.1, 86400]")
    import optuna

    # Optuna logs a warning of its own before retrying a failed read; the reason reaches
    # the user once, in this command's error line or the page's message
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    if args.check:
        summary = _summary(args)
        if args.json:
            print(json.dumps(summary))
        else:
            _print_summary(summary)
        if "error" in summary:
            raise InputError.plain(f"cannot read the study: {summary['error']}")
        return 0
    from werkzeug.serving import is_running_from_reloader

    # --debug: Werkzeug's reloader binds the port, then runs this command again in a child
    # that inherits the socket; the child must not take its own port for a busy one
    problem = None if is_running_from_reloader() else address_problem(args.host, args.port)
    if problem:
        raise InputError.plain(problem)
    from dashboards import create_app

    if _exists(args.storage):
        # a file that is there but is no study storage will not fix itself: refuse it now;
        # a study not created yet (a sweep about to start, in this file or a new one) is
        # served and waited for, and without --study the newest one is shown
        from codesign.study import open_storage

        open_storage(args.storage, write=False)
    else:  # a database whose driver is missing will not come up either: refuse it now
        from codesign.study.storages import driver_problem

        if why := driver_problem(args.storage):
            raise InputError.plain(why)
    app = create_app(args.storage, args.study, refresh_s=args.refresh_s)
    summary = _summary(args, app._codesign_source)
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
