"""``codesign`` entry point: one sub-command per module, errors as one line and exit 2.

Each sub-command module exposes ``add_parser(subparsers)`` (which sets
``func`` to its ``run(args) -> int``). User mistakes raise
``accelerators.InputError`` (or argparse errors) and end as one line on stderr
with exit status 2; anything else is a bug and keeps its traceback.

Ctrl-C (SIGINT), SIGTERM and SIGHUP (the terminal closed) unwind the command
as an exception (:class:`Terminated` is the ``KeyboardInterrupt`` of the last
two), so temporary files are removed and a sweep hands its running trials back
to the study; the command then ends with one line and the shell's status for
the signal (130, 143, 129).
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import importlib
import os
import signal
import sys

from accelerators import InputError

# name -> module under codesign.cli; imported lazily so `codesign simulate`
# never pays for torch, Dash or Optuna.
COMMANDS = {
    "train": ("_train", "train a sparse ternary (or baseline) network on real data"),
    "simulate": ("_simulate", "simulate a network on the sparse ternary accelerator"),
    "sweep": ("_sweep", "search the joint training x hardware design space"),
    "size": ("_size", "find the cheapest accelerator for a network under budgets"),
    "export": ("_export", "export a sweep's trials as CSV or Parquet"),
    "dash": ("_dash", "serve the Pareto explorer web app"),
}


class Terminated(KeyboardInterrupt):
    """SIGTERM or SIGHUP (``signum``), raised in the main thread like Ctrl-C's
    ``KeyboardInterrupt``."""

    signum = signal.SIGTERM


def _raise_terminated(signum, frame) -> None:
    exc = Terminated()
    exc.signum = signum
    raise exc


#: what the line says for each signal that stops a command (no SIGHUP on Windows)
_STOPPED = {signal.SIGINT: "interrupted", signal.SIGTERM: "terminated"}
if hasattr(signal, "SIGHUP"):
    _STOPPED[signal.SIGHUP] = "hung up"


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, exit 2, no usage dump
        sys.stderr.write(f"{self.prog}: error: {message}\n")
        raise SystemExit(2)

    def parse_known_args(self, args=None, namespace=None):
        """As argparse, refusing an option given an empty value (``--out ""``, an unset
        ``--out "$RUN"``): no option means "the default" by being empty, and taking it so
        trained without saving, simulated lfc or used the default study."""
        namespace, rest = super().parse_known_args(args, namespace)
        for action in self._actions:
            value = getattr(namespace, action.dest, None)
            if action.option_strings and isinstance(value, str) and not value.strip():
                flag = max(action.option_strings, key=len)
                self.error(f"{flag} = {value!r} is not allowed: expected a non-empty value")
        return namespace, rest


def build_parser(argv: list[str] | None = None) -> argparse.ArgumentParser:
    parser = _Parser(
        prog="codesign",
        description="Co-design sparse ternary networks and the accelerators that run them.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    wanted = (argv or [None])[0]
    for name, (module, help_) in COMMANDS.items():
        if wanted in COMMANDS and name != wanted:
            sub.add_parser(name, help=help_)  # listed in --help, not imported
            continue
        importlib.import_module(f"codesign.cli.{module}").add_parser(sub, help_)
    parser.set_defaults(_commands=sub.choices)  # so an error can name its sub-command
    return parser


def open_std_streams() -> None:
    """Point a closed stdin, stdout or stderr (``>&-``) at /dev/null, and let stdout
    escape what its encoding cannot write (a study or file name in an ASCII or Latin-1
    locale), as stderr does, instead of failing after the work is done.

    Python leaves ``sys.stdout`` None for a closed one (every print a traceback), and the
    next file opened (a study, an export, a run) would get the free descriptor 0, 1 or 2,
    where any stray write to stdout or stderr would land in it.
    """
    for fd, name in enumerate(("stdin", "stdout", "stderr")):
        try:
            os.fstat(fd)
        except OSError:
            null = os.open(os.devnull, os.O_RDWR)  # the lowest free descriptor: fd itself
            if null != fd:
                os.dup2(null, fd)
                os.close(null)
            setattr(sys, name, open(fd, "r" if fd == 0 else "w", closefd=False))
    if hasattr(sys.stdout, "reconfigure"):  # a name its encoding lacks: escaped, as on stderr
        sys.stdout.reconfigure(errors="backslashreplace")


def main(argv: list[str] | None = None) -> int:
    open_std_streams()
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser(argv)
    args, extra = parser.parse_known_args(argv)
    if extra:  # "codesign sweep: error: unrecognized arguments: ...", with the sub-command named
        args._commands.get(args.command, parser).error(f"unrecognized arguments: {' '.join(extra)}")
    if not getattr(args, "func", None):
        parser.print_help()
        return 0 if not args.command else 2
    for signum in set(_STOPPED) - {signal.SIGINT}:  # SIGINT: Python's KeyboardInterrupt
        if signal.getsignal(signum) == signal.SIG_DFL:  # an ignored one (nohup) stays ignored
            signal.signal(signum, _raise_terminated)
    try:
        os.getcwd()  # relative paths, SQLite and torch's libraries all need it
    except FileNotFoundError:
        sys.stderr.write(
            f"codesign {args.command}: error: the working directory was deleted; "
            "cd into an existing directory and run again\n"
        )
        return 2
    try:
        return int(args.func(args) or 0)
    except InputError as exc:
        sys.stderr.write(f"codesign {args.command}: error: {exc}\n")
        return 2
    except KeyboardInterrupt as exc:
        for signum in _STOPPED:  # the one line, even if pressed again
            signal.signal(signum, signal.SIG_IGN)
        signum = exc.signum if isinstance(exc, Terminated) else signal.SIGINT
        detail = f"; {exc}" if str(exc) else ""
        with contextlib.suppress(OSError):  # a closed terminal (SIGHUP) takes no line
            sys.stderr.write(f"codesign {args.command}: {_STOPPED[signum]}{detail}\n")
        return 128 + signum
    except BrokenPipeError:  # `codesign ... | head` closed the pipe: not an error
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except Exception as exc:
        problem = storage_problem(exc)
        if problem is None:
            raise  # a bug: the traceback is what a report needs
        sys.stderr.write(f"codesign {args.command}: error: {problem}\n")
        return 2


#: errors of the machine, not of the program: a full disk, a file size limit, a
#: read-only file system, no permission
_OS_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EROFS, errno.EACCES, errno.EPERM}
_DB_MESSAGES = (
    "database or disk is full",
    "disk I/O error",
    "attempt to write a readonly database",
)


def storage_problem(exc: BaseException) -> str | None:
    """One line for a failure of the disk under a command (full, read-only, denied), else None.

    Whatever was written before stays as it was: runs and exports are written to a
    temporary file and renamed, and a study's transaction is rolled back.
    """
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, OSError) and exc.errno in _OS_ERRNOS:
            where = f"{exc.filename}: " if exc.filename else ""
            return f"{where}{exc.strerror or exc}; nothing stored was changed"
        text = str(exc)
        for message in _DB_MESSAGES:
            if message in text:
                return f"the study storage failed ({message}); nothing stored was changed"
        exc = exc.__cause__ or exc.__context__
    return None


if __name__ == "__main__":
    raise SystemExit(main())
