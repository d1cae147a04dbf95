"""Export a sweep's trials as one flat table (CSV or Parquet).

One row per trial, columns:

- ``number``, ``state`` (COMPLETE, FAIL, RUNNING, WAITING, PRUNED), ``datetime_start``,
  ``datetime_complete``, ``duration_s``, ``method``, ``error``;
- ``params.<name>`` for each swept parameter (``params.hw.n_pe``, ``params.train.reg_strength``);
- ``objective.<name>`` for each objective of the study (empty unless COMPLETE);
- ``metrics.<name>`` (contract 3: accuracy, sparsity, area_mm2, latency_us,
  energy_uj, cycles, size_kib);
- ``hw.<field>`` the trial's full hardware config; ``train.<knob>`` its training config.

The nested reports (``hw_report``, ``train_report``) stay in the study; read
them with Optuna when you need them.

The study is opened read-only. The output is written to a temporary file in
the same directory and renamed into place, so a reader never sees half a
table and a failure (full disk) leaves any earlier file as it was. An existing
``out`` is replaced only with ``overwrite=True``, and never when it is the
study's own storage file.

In CSV, a text cell that a spreadsheet would run as a formula (it starts with ``=``,
``+``, ``-``, ``@``, a tab or a carriage return: a method, knob value or error
message a study holds) is written with a leading ``'``, the OWASP "CSV injection"
defence; numbers are written as they are. Parquet keeps every value unchanged.
"""

from __future__ import annotations

import os

from accelerators import InputError
from codesign.files import atomic_path, check_out_file
from codesign.study import ATTR, StudyStore, storage_file

__all__ = ["FORMATS", "export_trials", "out_format", "trials_table"]

FORMATS = ("csv", "parquet")
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")  # a spreadsheet reads these as a formula


def inert(value):
    """``value`` as a CSV cell no spreadsheet runs: text starting like a formula gets a ``'``.

    >>> inert("=SUM(A1:A9)"), inert("-1+2"), inert(-1.5), inert("weights")
    ("'=SUM(A1:A9)", "'-1+2", -1.5, 'weights')
    """
    return "'" + value if isinstance(value, str) and value.startswith(FORMULA_STARTS) else value


def _flat(prefix: str, d) -> dict:
    out = {}
    for k, v in (d or {}).items() if isinstance(d, dict) else ():
        if isinstance(v, dict):
            out.update(_flat(f"{prefix}{k}.", v))
        else:
            out[f"{prefix}{k}"] = v
    return out


def trials_table(storage_url: str, study: str | None = None):
    """A pandas DataFrame of every trial of the study (see the module docstring)."""
    import pandas as pd

    store = StudyStore.open(storage_url, study)
    objectives = store.objectives
    df = store.dataframe()
    rows = []
    for rec in df.to_dict("records"):
        row = {
            "number": rec["number"],
            "state": rec["state"],
            "datetime_start": _iso(rec.get("datetime_start")),
            "datetime_complete": _iso(rec.get("datetime_complete")),
            "duration_s": _seconds(rec.get("duration")),
            "method": rec.get(f"user_attrs_{ATTR.METHOD}"),
            "error": rec.get(f"user_attrs_{ATTR.ERROR}"),
        }
        row.update({f"params.{k[7:]}": v for k, v in rec.items() if k.startswith("params_")})
        values = [rec.get(f"values_{i}") for i in range(len(objectives))]
        if "value" in rec:  # a single-objective study
            values = [rec["value"]]
        row.update({f"objective.{o}": v for o, v in zip(objectives, values, strict=True)})
        row.update(_flat("metrics.", rec.get(f"user_attrs_{ATTR.METRICS}")))
        row.update(_flat("hw.", rec.get(f"user_attrs_{ATTR.HW_CONFIG}")))
        row.update(_flat("train.", rec.get(f"user_attrs_{ATTR.TRAIN_CONFIG}")))
        rows.append({k: (None if _missing(v) else v) for k, v in row.items()})
    return pd.DataFrame(rows)


def _missing(v) -> bool:
    return v is None or (isinstance(v, float) and v != v)


def _iso(t):
    return None if _missing(t) or t is None or str(t) == "NaT" else t.isoformat()


def _seconds(d):
    return None if _missing(d) or str(d) == "NaT" else d.total_seconds()


def _same_file(a: str, b: str) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return os.path.abspath(a) == os.path.abspath(b)


def _storage_files(storage_url: str) -> list[str]:
    """The files a storage URL keeps its study in (with SQLite's -wal/-shm)."""
    path = storage_file(storage_url)
    if path is None:
        return []
    if storage_url.startswith("journal:"):
        return [path]
    return [path, path + "-wal", path + "-shm", path + "-journal"]


def check_out(out: str, storage_url: str, overwrite: bool) -> None:
    """Refuse an ``out`` that is the study's own storage, a directory, or exists (unless
    ``overwrite``), or whose directory is missing or unwritable; one :class:`InputError`."""
    for f in _storage_files(storage_url):
        if os.path.exists(f) and os.path.exists(out) and _same_file(out, f):
            raise InputError("--out", out, "a file other than the study's own storage")
        if not os.path.exists(out) and os.path.abspath(out) == os.path.abspath(f):
            raise InputError("--out", out, "a file other than the study's own storage")
    check_out_file(out, "--out", overwrite)


def out_format(out: str, fmt: str | None = None) -> str:
    """``fmt``, else the format ``out``'s suffix names (none: csv); an error names what
    the user gave: ``--format``, or ``--out`` when its suffix chose."""
    if fmt is not None:
        if fmt not in FORMATS:
            raise InputError("--format", fmt, "csv or parquet")
        return fmt
    fmt = os.path.splitext(out)[1].lstrip(".").lower() or "csv"
    if fmt not in FORMATS:
        raise InputError("--out", out, "a name ending .csv or .parquet (or give --format)")
    return fmt


def export_trials(
    storage_url: str,
    out: str | os.PathLike,
    fmt: str | None = None,
    study: str | None = None,
    overwrite: bool = False,
) -> int:
    """Write the trials table to ``out`` as CSV or Parquet; returns the row count."""
    out = os.fspath(out)
    fmt = out_format(out, fmt)
    check_out(out, storage_url, overwrite)
    df = trials_table(storage_url, study)
    if fmt == "parquet":
        for col in df.columns:  # Parquet needs one type per column
            kinds = {type(v) for v in df[col] if v is not None and v == v}
            if len(kinds) > 1 and not kinds <= {int, float}:
                df[col] = df[col].map(lambda v: None if v is None or v != v else str(v))
    try:
        with atomic_path(out, suffix="." + fmt) as tmp:
            if fmt == "csv":
                df.map(inert).to_csv(tmp, index=False)
            else:
                df.to_parquet(tmp, index=False)
    except OSError as exc:
        raise InputError.plain(
            f"--out {out!r} could not be written ({exc.strerror}); nothing was changed"
        ) from None
    return len(df)
