"""Filters and budgets: which rows of a study frame are drawn.

A *schema* (:func:`filter_schema`) says which control each column gets: a range
slider (in shown units, over log10 when the values span more than 20x) or a
multi-select. It follows the study: every poll that brings trials outside the
old ranges or with new values rebuilds the controls, keeping what the user set
(:func:`carry_values`). Budgets are hard limits on metrics (greyed out, not hidden):
the four of :data:`BUDGETS`, and one on any metric of the study (:func:`budget_options`),
keyed ``"max:<metric>"`` (an upper bound: a minimized metric) or ``"min:<metric>"`` (a lower
bound: a maximized one; either for a metric of :data:`EITHER_WAY`, such as sparsity).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from dash import dcc, html

from .figures import AXES, use_log

__all__ = [
    "BUDGETS",
    "EITHER_WAY",
    "apply_budgets",
    "budget_options",
    "budget_text",
    "carry_values",
    "filter_controls",
    "filter_mask",
    "filter_schema",
    "pairs",
    "row_budgets",
    "row_options",
]

OBJECTIVE_FILTERS = ("accuracy", "area_mm2", "latency_us", "energy_uj")
MAX_CATEGORIES = 8  # an integer param with at most this many distinct values gets a dropdown
#: budget input id -> (metric, "max" or "min", label); values in shown units (accuracy in %)
BUDGETS = {
    "max-area": ("area_mm2", "max", "max area (mm²)"),
    "max-latency": ("latency_us", "max", "max latency, steady state (µs)"),
    "max-energy": ("energy_uj", "max", "max energy, steady state (µJ)"),
    "min-accuracy": ("accuracy", "min", "min test accuracy (%)"),
}

#: metrics with no better direction: a budget row bounds them either way. Sparsity is a
#: means, not a cost: "at least 95 % zeros" (so the weights fit) is as common a budget as
#: "at most 90 %" (so accuracy holds); the lower bound is offered first.
EITHER_WAY = ("sparsity",)


def filter_schema(frame: pd.DataFrame, params) -> dict:
    """Which filter each column gets: ``{"ranges": {col: {...}}, "cats": {col: [values]}}``.

    Range bounds are in shown units (accuracy in %), over log10 of the values when
    they span more than 20x.
    """
    ranges, cats = {}, {}
    for col in (*OBJECTIVE_FILTERS, *params):
        if col not in frame:
            continue
        values = frame[col]
        numeric = pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values)
        few = pd.api.types.is_integer_dtype(values) and values.nunique() <= MAX_CATEGORIES
        if not numeric or few and col not in OBJECTIVE_FILTERS:
            uniq = values.dropna().unique().tolist()
            cats[col] = sorted(uniq) if numeric else sorted(uniq, key=str)
            continue
        shown = values.to_numpy(dtype=float) * AXES.get(col, (col, 1.0))[1]
        shown = shown[np.isfinite(shown)]
        if not len(shown):
            continue
        log = use_log(shown)
        scaled = np.log10(shown) if log else shown
        lo, hi = float(scaled.min()), float(scaled.max())
        if hi <= lo:  # one value: nothing to filter
            continue
        ranges[col] = {"log": log, "min": lo, "max": hi, "scale": AXES.get(col, (col, 1.0))[1]}
    return {"ranges": ranges, "cats": cats}


def filter_mask(frame: pd.DataFrame, schema: dict, ranges: dict, cats: dict) -> np.ndarray:
    """Rows passing every filter. ``ranges``: col -> [lo, hi] in slider units; ``cats``:
    col -> allowed values. A slider left at its end stays open on that side, and a
    dropdown drops only the values deselected from its list, so trials that
    arrive later with values outside the first ranges and lists still show."""
    ok = np.ones(len(frame), dtype=bool)
    for col, value in (ranges or {}).items():
        spec = (schema or {}).get("ranges", {}).get(col)
        if spec is None or col not in frame or not value:
            continue
        v = frame[col].to_numpy(dtype=float) * spec["scale"]
        if spec["log"]:
            with np.errstate(divide="ignore", invalid="ignore"):
                v = np.log10(v)
        lo, hi = float(value[0]), float(value[1])
        if lo > spec["min"] + 1e-12:
            ok &= v >= lo - 1e-9
        if hi < spec["max"] - 1e-12:
            ok &= v <= hi + 1e-9
    for col, allowed in (cats or {}).items():
        if col not in frame or allowed is None:
            continue
        chosen = {str(a) for a in allowed}
        known = (schema or {}).get("cats", {}).get(col)
        values = frame[col].astype(str)
        if known is None:
            ok &= values.isin(chosen).to_numpy()
        else:  # drop only what was deselected: values first seen later still show
            ok &= ~values.isin([str(k) for k in known if str(k) not in chosen]).to_numpy()
    return ok


def carry_values(old_schema, new_schema: dict, ranges: dict, cats: dict) -> tuple[dict, dict]:
    """The control values for ``new_schema`` that keep what the user set under ``old_schema``.

    A slider end left at the old end moves to the new end (the range follows new
    trials); an end the user moved stays (clipped to the new range). A dropdown
    keeps its deselections; values first seen now are selected.

    >>> old = {"ranges": {"a": {"log": False, "min": 0.0, "max": 1.0}}, "cats": {"m": ["x", "y"]}}
    >>> new = {"ranges": {"a": {"log": False, "min": 0.0, "max": 2.0}},
    ...        "cats": {"m": ["x", "y", "z"]}}
    >>> carry_values(old, new, {"a": [0.5, 1.0]}, {"m": ["x"]})
    ({'a': [0.5, 2.0]}, {'m': ['x', 'z']})
    """
    old_r = (old_schema or {}).get("ranges", {})
    old_c = (old_schema or {}).get("cats", {})
    out_r, out_c = {}, {}
    for col, spec in new_schema["ranges"].items():
        lo, hi = spec["min"], spec["max"]
        prev, value = old_r.get(col), (ranges or {}).get(col)
        if prev is not None and value and prev.get("log") == spec["log"]:
            if value[0] > prev["min"] + 1e-12:
                lo = min(max(float(value[0]), spec["min"]), spec["max"])
            if value[1] < prev["max"] - 1e-12:
                hi = max(min(float(value[1]), spec["max"]), lo)
        out_r[col] = [lo, hi]
    for col, values in new_schema["cats"].items():
        prev, chosen = old_c.get(col), (cats or {}).get(col)
        if prev is None or chosen is None:
            out_c[col] = list(values)
            continue
        dropped = {str(v) for v in prev} - {str(v) for v in chosen}
        out_c[col] = [v for v in values if str(v) not in dropped]
    return out_r, out_c


def _fmt(x: float) -> str:
    return f"{x:.3g}"


def filter_controls(schema: dict, ranges: dict | None = None, cats: dict | None = None) -> list:
    """Range sliders and dropdowns for :func:`filter_schema`'s output, set to ``ranges`` /
    ``cats`` (default: everything)."""
    out = []
    for col, spec in schema.get("ranges", {}).items():
        lo, hi = spec["min"], spec["max"]
        step = (hi - lo) / 100 if hi > lo else 1
        marks = {v: _fmt(10**v) if spec["log"] else _fmt(v) for v in (lo, hi)}
        label = AXES.get(col, (col,))[0] + (" (log scale)" if spec["log"] else "")
        out.append(html.Div(label, style={"fontSize": "12px", "marginTop": "6px"}))
        out.append(
            html.Div(
                dcc.RangeSlider(
                    id={"type": "frange", "col": col},
                    min=lo,
                    max=hi,
                    step=step,
                    value=list((ranges or {}).get(col) or [lo, hi]),
                    marks=marks,
                    allowCross=False,
                    tooltip={"placement": "bottom", "always_visible": False},
                ),
                style={"padding": "0 14px"},  # room for the end marks
            )
        )
    for col, values in schema.get("cats", {}).items():
        chosen = (cats or {}).get(col)
        out.append(html.Div(col, style={"fontSize": "12px", "marginTop": "6px"}))
        out.append(
            dcc.Dropdown(
                id={"type": "fcats", "col": col},
                options=[{"label": str(v), "value": v} for v in values],
                value=list(values) if chosen is None else list(chosen),
                multi=True,
            )
        )
    return out


def pairs(ids, values) -> dict:
    """``{col: value}`` from the ids and values of pattern-matched controls."""
    return {i["col"]: v for i, v in zip(ids or [], values or [], strict=False)}


def _number(value):
    """``value`` as a finite number >= 0 (every metric is), else None: a budget typed as
    text, left empty or negative is no budget."""
    try:
        value = float(value)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) and value >= 0 else None


def _limit(key) -> tuple[str, str, str] | None:
    """(metric, "max" or "min", label with unit) of a budget key: an input id of
    :data:`BUDGETS` or ``"max:<metric>"`` / ``"min:<metric>"``; None for anything else."""
    if key in BUDGETS:
        return BUDGETS[key]
    kind, _, col = str(key).partition(":")
    if kind not in ("max", "min") or not col:
        return None
    title = AXES.get(col, (col,))[0]
    return col, kind, f"{kind} {title[:1].lower()}{title[1:]}"


def budget_options(metrics, maximize) -> list[dict]:
    """Dropdown options for a budget on any of ``metrics`` (directions ``maximize``): an
    upper bound on a minimized metric, a lower bound on a maximized one, both on a metric
    of :data:`EITHER_WAY`; each label names its bound and unit (shown units).

    >>> budget_options(["accuracy", "size_kib"], [True, False])[1]
    {'label': 'max weight storage (KiB)', 'value': 'max:size_kib'}
    >>> [o["label"] for o in budget_options(["sparsity"], [False])]
    ['min sparsity (%)', 'max sparsity (%)']
    """
    keys = []
    for col, up in zip(metrics, maximize, strict=True):
        kinds = ("min", "max") if col in EITHER_WAY else ("min" if up else "max",)
        keys += [f"{kind}:{col}" for kind in kinds]
    return [{"label": _limit(key)[2], "value": key} for key in keys]


def row_budgets(keys, values) -> dict:
    """``{budget key: value}`` of the budget rows (a metric picked, a valid value typed);
    of two rows with one bound on one metric the stricter counts (a lower and an upper
    bound on one metric both count: a range)."""
    out: dict = {}
    for key, value in zip(keys or [], values or [], strict=False):
        limit, v = _limit(key), _number(value)
        if limit is None or v is None:
            continue
        old = out.get(key)
        out[key] = v if old is None else (min(old, v) if limit[1] == "max" else max(old, v))
    return out


def apply_budgets(frame: pd.DataFrame, budgets: dict | None = None) -> np.ndarray:
    """Mask of rows within ``budgets``: ``{budget key: value in shown units or None}``, keys
    as :func:`_limit` reads them. A budget on a metric the study lacks (accuracy in a
    simulate-only study) is ignored, and so is a value that is not a number >= 0.
    """
    ok = np.ones(len(frame), dtype=bool)
    for key, value in (budgets or {}).items():
        limit, v = _limit(key), _number(value)
        if limit is None or v is None:
            continue
        col, kind, _ = limit
        if col not in frame or not frame[col].notna().any():
            continue
        values = frame[col].to_numpy(dtype=float)
        v /= AXES.get(col, (col, 1.0))[1]
        ok &= (values <= v) if kind == "max" else (values >= v)
    return ok


def row_options(options: list[dict], key, present) -> list[dict]:
    """The options of a budget row whose picked budget is ``key``, in a study whose budget
    options are ``options`` and whose metrics with values are ``present`` (after a study
    switch). The study's options, and ``key`` when they lack it: as is when the study has
    its metric (a bound the study's defaults do not offer, still a bound), else marked
    "not in this study" and disabled (:func:`apply_budgets` skips it).

    >>> opts = budget_options(["area_mm2"], [False])
    >>> row_options(opts, "min:accuracy", ["area_mm2"])[-1]
    {'label': 'min test accuracy (%): not in this study', 'value': 'min:accuracy', 'disabled': True}
    >>> row_options(opts, "max:area_mm2", ["area_mm2"]) == opts
    True
    """
    limit = _limit(key)
    if limit is None or any(o["value"] == key for o in options):
        return list(options)
    if limit[0] in present:
        return [*options, {"label": limit[2], "value": key}]
    return [*options, {"label": f"{limit[2]}: not in this study", "value": key, "disabled": True}]


def budget_text(budgets: dict | None, frame: pd.DataFrame | None = None) -> str:
    """The budgets in force, as words: ``"max area 2 mm², min test accuracy 90 %"``; with
    ``frame``, only those on a metric it has values of (the ones :func:`apply_budgets`
    applies)."""
    parts = []
    for key, value in (budgets or {}).items():
        limit, v = _limit(key), _number(value)
        if limit is None or v is None:
            continue
        if frame is not None and not (limit[0] in frame and frame[limit[0]].notna().any()):
            continue
        name, _, unit = limit[2].partition(" (")
        parts.append(f"{name} {v:g} {unit.rstrip(')')}".rstrip())
    return ", ".join(parts)
