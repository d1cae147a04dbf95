"""``codesign`` entry point: one sub-command per module, errors as one line and exit 2.

Each sub-command module exposes ``add_parser(subparsers)`` (which sets
``func`` to its ``run(args) -> int``). User mistakes raise
``accelerators.InputError`` (or argparse errors) and end as one line on stderr
with exit status 2; anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import argparse
import importlib
import os
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


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, exit 2, no usage dump
        sys.stderr.write(f"{self.prog}: error: {message}\n")
        raise SystemExit(2)


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
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser(argv)
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 0 if not args.command else 2
    try:
        return int(args.func(args) or 0)
    except InputError as exc:
        sys.stderr.write(f"codesign {args.command}: error: {exc}\n")
        return 2
    except KeyboardInterrupt:
        sys.stderr.write(f"codesign {args.command}: interrupted\n")
        return 130
    except BrokenPipeError:  # `codesign ... | head` closed the pipe: not an error
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    raise SystemExit(main())
