"""The HTML parts of the page built from a study: drill-down, comparison, the design table.

Plain functions of plain values (tests call them directly). Everything read from
a study is shown as text: Dash escapes it, and nothing is rendered as HTML.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
from dash import dcc, html
from dash.dash_table.Format import Format, Scheme

from codesign.study import ATTR, METRICS
from codesign.study.pareto import non_dominated

from .data import Snapshot, StudyLoadError, StudySource
from .detail import (
    _get_compare_info,
    _get_feedback_info,
    _get_layers_info,
    _get_pe_heatmap_info,
    _get_training_info,
    plot_compare,
    plot_feedback,
    plot_layers,
    plot_pe_heatmap,
    plot_training,
)
from .figures import AXES
from .layout import compare_hint, graph_config

__all__ = [
    "compare_view",
    "design_rows",
    "detail_view",
    "table_columns",
    "table_page",
    "training_view",
]

TABLE_STYLE = {"fontSize": "12px", "padding": "3px 6px", "textAlign": "right"}
FRONT_MARK = "★"


def _table(rows: list[dict], table_id: str):
    """A plain HTML table of ``rows`` (a DataTable per drill-down table took most of a
    click's time to mount in the browser); values are shown as text."""
    columns = list(rows[0]) if rows else []
    cell = {**TABLE_STYLE, "borderBottom": "1px solid #eee"}
    head = html.Thead(html.Tr([html.Th(c, style={**cell, "fontWeight": "600"}) for c in columns]))
    body = html.Tbody([html.Tr([html.Td(str(r.get(c, "")), style=cell) for c in columns])
                       for r in rows])  # fmt: skip
    return html.Div(
        html.Table([head, body], style={"borderCollapse": "collapse"}),
        id=table_id,
        style={"overflowX": "auto"},
    )


def _text(v) -> str:
    return json.dumps(v) if isinstance(v, dict | list) else str(v)


def _kv_rows(d, prefix: str = "") -> list[dict]:
    """Settings as rows; nested dicts flattened (``feedback.feedback_objective``), lists as JSON."""
    if not isinstance(d, dict):
        return []
    rows = []
    for k, v in d.items():
        if isinstance(v, dict):
            rows += _kv_rows(v, f"{prefix}{k}.")
        else:
            rows.append({"setting": f"{prefix}{k}", "value": _text(v)})
    return rows


def _summary(metrics: dict, hw_report) -> str:
    parts = []
    for m in ("accuracy", "area_mm2", "latency_us", "energy_uj"):
        if isinstance(metrics.get(m), int | float):
            name, unit = AXES[m][0].split(" (")[0].lower(), AXES[m][0].split("(")[-1].rstrip(")")
            parts.append(f"{name} {float(metrics[m]) * AXES[m][1]:.4g} {unit}")
    first = hw_report.get("first_inference_latency_us") if isinstance(hw_report, dict) else None
    if isinstance(first, int | float):
        parts.append(f"first inference (weights loaded from DRAM) {first:.4g} µs")
    return "; ".join(parts)


def detail_view(source: StudySource, selected, image_format: str = "png", note: str = "") -> list:
    """The drill-down of trial ``selected``: configs, per-layer table and figures."""
    if selected is None:
        return [html.P("Click a point (or a row of the design table) to open its design.")]
    try:
        trial = source.trial(int(selected))
    except StudyLoadError as exc:
        return [html.P(str(exc))]
    if trial is None:
        return [html.P(f"Trial {selected} is not in the study.")]
    attrs = trial.user_attrs
    hw_report = attrs.get(ATTR.HW_REPORT)
    metrics = attrs.get(ATTR.METRICS) if isinstance(attrs.get(ATTR.METRICS), dict) else {}
    cfg = graph_config(image_format, f"trial{trial.number}")
    out = [
        html.H3(f"Trial {trial.number}", id="detail-title"),
        html.P(
            f"method {attrs.get(ATTR.METHOD, 'unknown')}; {_summary(metrics, hw_report)}",
            id="detail-summary",
        ),
        html.P(
            "Latency is steady state: one inference with the weights already resident on chip.",
            style={"fontSize": "12px", "color": "#555"},
        ),  # fmt: skip
    ]
    if note:
        out.append(html.P(f"Note: {note}", id="detail-note", style={"fontStyle": "italic"}))
    workload = source.workload
    if isinstance(attrs.get(ATTR.TRAIN_CONFIG), dict) or workload is None:
        settings = [
            html.H4("Training settings (hidden widths, feedback)"),
            _table(_kv_rows(attrs.get(ATTR.TRAIN_CONFIG)), "detail-train"),
        ]
    else:  # a simulate-only sweep: the workload, with this trial's workload.* params
        knobs = {**workload}
        knobs.update({k[len("workload.") :]: v for k, v in trial.params.items()
                      if k.startswith("workload.")})  # fmt: skip
        rows = [{"setting": str(k), "value": _text(v)} for k, v in knobs.items()]
        settings = [html.H4("Workload (simulate-only sweep)"), _table(rows, "detail-workload")]
    config_tables = [
        html.Div(
            [html.H4("Hardware config"), _table(_kv_rows(attrs.get(ATTR.HW_CONFIG)), "detail-hw")],
            style={"flex": "1", "marginRight": "12px"},
        ),
        html.Div(settings, style={"flex": "1"}),
    ]
    out.append(html.Div(config_tables, style={"display": "flex"}))
    layers = _get_layers_info(hw_report)
    if layers.rows:
        out += [
            html.H4("Per layer"),
            html.P(
                "Stalls by cause: 'PE load imbalance' (the busiest PE holds more entries), "
                "'lanes idle in a column' (a PE works one column at a time, so lanes idle on "
                "columns with fewer entries than lanes), 'waiting on broadcast' (its push "
                "rate), 'FIFO back-pressure / pipeline fill' (the rest with resident weights); "
                "'PE busy max/mean' is the busy-cycle ratio (1.0: balanced). "
                "'utilization': useful products (nonzero "
                "weight x nonzero activation) over all lane-cycles; 'busy': lane-cycles that "
                "retire any entry (padding and zeros walked included) over the same, so busy "
                ">= utilization.",
                style={"fontSize": "12px"},
            ),  # fmt: skip
            _table(layers.rows, "detail-layers"),
        ]
        graphs = [dcc.Graph(figure=plot_layers(layers), config=cfg, id="detail-layers-graph")]
        heat = _get_pe_heatmap_info(hw_report)
        if heat.z.size:
            graphs.append(dcc.Graph(figure=plot_pe_heatmap(heat), config=cfg, id="detail-pe-graph"))
        out += graphs
    else:
        out.append(html.P("This trial holds no per-layer hardware report."))
    if trial.state.name != "COMPLETE":
        out.append(html.P(f"state {trial.state.name}: {attrs.get(ATTR.ERROR, '')}"))
    return out


def training_view(source: StudySource, selected, image_format: str = "png") -> list:
    """The training curves of trial ``selected`` (accuracy and sparsity per epoch) and, with
    hardware feedback, its path through latency and accuracy; drawn after :func:`detail_view`."""
    if selected is None:
        return []
    try:
        trial = source.trial(int(selected))
    except StudyLoadError:
        return []
    train_report = trial.user_attrs.get(ATTR.TRAIN_REPORT) if trial is not None else None
    cfg = graph_config(image_format, f"trial{selected}")
    out = []
    training = _get_training_info(train_report)
    if training is not None:
        out.append(dcc.Graph(figure=plot_training(training), config=cfg, id="detail-train-graph"))
    feedback = _get_feedback_info(train_report)
    if feedback is not None and feedback.has_cost:
        out.append(
            dcc.Graph(figure=plot_feedback(feedback), config=cfg, id="detail-feedback-graph")
        )
    return out


def compare_view(snap: Snapshot | None, trials, image_format: str = "png") -> list:
    """Side-by-side table (metrics, then the params that differ) and bars."""
    if snap is None or not trials or len(trials) < 2:
        return compare_hint()
    info = _get_compare_info(snap.frame, list(trials), snap.params)
    return [
        _table(info.table, "compare-table"),
        dcc.Graph(
            figure=plot_compare(info),
            config=graph_config(image_format, "compare"),
            id="compare-graph",
            style={"height": "300px"},
        ),
    ]


# -- the design table -------------------------------------------------------------------------
#: how the table shows a metric: 4 significant digits (88.33, 0.6727, 0.009696, 1.234e+05)
SHOWN = Format(precision=4, scheme=Scheme.decimal_or_exponent).to_plotly_json()


def table_columns(snap: Snapshot) -> list[dict]:
    """The design table's columns: trial, front mark, method, metrics (shown units), knobs."""
    cols = [
        {"name": "trial", "id": "trial", "type": "numeric"},
        {"name": "front", "id": "front", "type": "text"},
        {"name": "method", "id": "method", "type": "text"},
    ]
    for m in METRICS:
        if m in snap.metrics:  # shown to 4 significant digits; sorted and filtered on the value
            cols.append({"name": AXES[m][0], "id": m, "type": "numeric", "format": SHOWN})
    for p in snap.params:
        numeric = pd.api.types.is_numeric_dtype(snap.frame[p])
        cols.append({"name": p, "id": p, "type": "numeric" if numeric else "text"})
    return cols


def design_rows(frame: pd.DataFrame, on_front: np.ndarray, snap: Snapshot) -> pd.DataFrame:
    """The table's rows: ``id`` (the trial number, for row selection), a front mark, metrics
    in shown units (rounded), knobs."""
    out = pd.DataFrame({"id": frame["trial"].to_numpy(), "trial": frame["trial"].to_numpy()})
    out["front"] = np.where(on_front, FRONT_MARK, "")
    out["method"] = frame["method"].to_numpy()
    for m in METRICS:
        if m in snap.metrics:
            out[m] = (frame[m].to_numpy(dtype=float) * AXES[m][1]).round(6)
    for p in snap.params:
        out[p] = frame[p].to_numpy()
    return out


def front_mask(frame: pd.DataFrame, within_budget: np.ndarray, cols, maximize) -> np.ndarray:
    """Non-dominated over ``cols`` among the rows within budget."""
    out = np.zeros(len(frame), dtype=bool)
    if within_budget.any():
        pts = frame.loc[within_budget, cols].to_numpy(dtype=float)
        out[np.flatnonzero(within_budget)[non_dominated(pts, list(maximize))]] = True
    return out


_OPS = ("s<=", "s>=", "s!=", "<=", ">=", "!=", "s<", "s>", "<", ">", "s=", "=", "eq", "ne", "lt",
        "le", "gt", "ge", "contains", "scontains")  # fmt: skip


def _filter_parts(query: str) -> list[tuple[str, str, str]]:
    """``{col} op value`` terms of a DataTable ``filter_query`` joined by ``&&``."""
    out = []
    for term in (query or "").split(" && "):
        term = term.strip()
        if not term.startswith("{") or "}" not in term:
            continue
        col, rest = term[1:].split("}", 1)
        rest = rest.strip()
        for op in sorted(_OPS, key=len, reverse=True):
            if rest.startswith(op + " ") or rest == op:
                value = rest[len(op) :].strip().strip("\"'")
                out.append((col, op.lstrip("s"), value))
                break
    return out


def _sortable(column: pd.Series) -> pd.Series:
    """``column`` as the design table sorts it: as it is, or as text when it holds values of
    several types (a knob whose choices are ``["auto", 4, 8]``), which do not compare.

    >>> _sortable(pd.Series(["auto", 8, 4])).tolist()
    ['auto', '8', '4']
    """
    if column.dtype != object or len({type(v) for v in column.dropna()}) <= 1:
        return column
    return column.map(lambda v: v if v is None or v != v else str(v))


def table_page(rows: pd.DataFrame, page: int, size: int, sort_by, query: str) -> tuple[list, int]:
    """One page of the design table after its filter (``filter_query``) and sort; returns
    (records, page count). Sorting and filtering run here, so a 10,000-trial study sends
    one page to the browser, not every row."""
    for col, op, value in _filter_parts(query):
        if col not in rows:
            continue
        series = rows[col]
        num = pd.to_numeric(pd.Series([value]), errors="coerce").iloc[0]
        numeric = pd.api.types.is_numeric_dtype(series) and pd.notna(num)
        if op == "contains" or not numeric and op in ("=", "eq"):
            keep = series.astype(str).str.contains(value, case=False, regex=False)
        elif numeric:
            cmp = {"=": "eq", "!=": "ne", "<": "lt", "<=": "le", ">": "gt", ">=": "ge"}.get(op, op)
            keep = getattr(series, cmp)(float(num))
        elif op in ("!=", "ne"):
            keep = series.astype(str) != value
        else:
            continue
        rows = rows[keep.to_numpy()]
    if sort_by:
        cols = [s["column_id"] for s in sort_by if s.get("column_id") in rows]
        asc = [s.get("direction") == "asc" for s in sort_by if s.get("column_id") in rows]
        if cols:
            rows = rows.sort_values(cols, ascending=asc, kind="stable", key=_sortable)
    pages = max(1, -(-len(rows) // size))
    page = min(max(int(page or 0), 0), pages - 1)
    part = rows.iloc[page * size : (page + 1) * size]
    return json.loads(part.to_json(orient="records")), pages
