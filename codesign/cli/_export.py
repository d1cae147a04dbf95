"""``codesign export``: a sweep's trials as CSV or Parquet."""

from __future__ import annotations

import json


def add_parser(subparsers, help_: str) -> None:
    p = subparsers.add_parser(
        "export",
        help=help_,
        description="Write every trial of a sweep study (flattened parameters, objectives, "
        "metrics, configs and state) to a CSV or Parquet file.",
    )
    p.add_argument(
        "--storage", required=True, help="study storage URL, e.g. sqlite:///runs/quickstart.db"
    )
    p.add_argument("--study", help="study name (default: the only study in the storage)")
    p.add_argument(
        "--format", choices=("csv", "parquet"), help="file format (default: from --out's suffix)"
    )
    p.add_argument("--out", required=True, help="output file (refused if it exists)")
    p.add_argument(
        "--overwrite", action="store_true", help="replace an existing --out (never the study)"
    )
    p.add_argument("--json", action="store_true", help="print {out, rows, format} as JSON")
    p.set_defaults(func=run)


def run(args) -> int:
    from codesign.export import export_trials, out_format

    fmt = out_format(args.out, args.format)
    n = export_trials(args.storage, args.out, fmt, args.study, overwrite=args.overwrite)
    if args.json:
        print(json.dumps({"out": args.out, "rows": n, "format": fmt}))
    else:
        print(f"wrote {n} trials to {args.out} ({fmt})")
    return 0
