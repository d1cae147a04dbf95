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
"""

from __future__ import annotations

import os

from accelerators import InputError

__all__ = ["FORMATS", "export_trials", "resolve_study", "trials_table"]

FORMATS = ("csv", "parquet")


def resolve_study(storage, study: str | None) -> str:
    """The study name to read: ``study``, or the only study in ``storage``."""
    names = [s.study_name for s in storage.get_all_studies()]
    if study is None:
        if len(names) == 1:
            return names[0]
        if not names:
            raise InputError.plain("the storage holds no study")
        raise InputError("--study", None, "one of " + ", ".join(sorted(names)))
    if study not in names:
        raise InputError(
            "--study", study, "one of " + ", ".join(sorted(names)) if names else "an existing study"
        )
    return study


def _flat(prefix: str, d) -> dict:
    out = {}
    for k, v in (d or {}).items():
        if isinstance(v, dict):
            out.update(_flat(f"{prefix}{k}.", v))
        else:
            out[f"{prefix}{k}"] = v
    return out


def trials_table(storage_url: str, study: str | None = None):
    """A pandas DataFrame of every trial of the study (see the module docstring)."""
    import optuna
    import pandas as pd

    from codesign.sweep.storage import open_storage

    storage = open_storage(storage_url, create=False)
    name = resolve_study(storage, study)
    s = optuna.load_study(study_name=name, storage=storage)
    objectives = list(
        s.user_attrs.get("objectives") or [f"value{i}" for i in range(len(s.directions))]
    )
    rows = []
    for t in s.get_trials(deepcopy=False):
        ua = t.user_attrs
        row = {
            "number": t.number,
            "state": t.state.name,
            "datetime_start": t.datetime_start.isoformat() if t.datetime_start else None,
            "datetime_complete": t.datetime_complete.isoformat() if t.datetime_complete else None,
            "duration_s": t.duration.total_seconds() if t.duration else None,
            "method": ua.get("method"),
            "error": ua.get("error"),
        }
        row.update({f"params.{k}": v for k, v in t.params.items()})
        values = t.values if t.values is not None else [None] * len(objectives)
        row.update({f"objective.{o}": v for o, v in zip(objectives, values, strict=True)})
        row.update(_flat("metrics.", ua.get("metrics")))
        row.update(_flat("hw.", ua.get("hw_config")))
        row.update(_flat("train.", ua.get("train_config")))
        rows.append(row)
    return pd.DataFrame(rows)


def export_trials(
    storage_url: str, out: str | os.PathLike, fmt: str | None = None, study: str | None = None
) -> int:
    """Write the trials table to ``out`` as CSV or Parquet; returns the row count."""
    out = os.fspath(out)
    fmt = fmt or (os.path.splitext(out)[1].lstrip(".").lower() or "csv")
    if fmt not in FORMATS:
        raise InputError("--format", fmt, "csv or parquet")
    df = trials_table(storage_url, study)
    parent = os.path.dirname(os.path.abspath(out))
    if not os.path.isdir(parent):
        raise InputError.plain(f"--out: directory {parent!r} not found")
    if fmt == "csv":
        df.to_csv(out, index=False)
    else:
        for col in df.columns:  # Parquet needs one type per column
            kinds = {type(v) for v in df[col] if v is not None and v == v}
            if len(kinds) > 1 and not kinds <= {int, float}:
                df[col] = df[col].map(lambda v: None if v is None or v != v else str(v))
        df.to_parquet(out, index=False)
    return len(df)
