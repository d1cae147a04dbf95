"""Callbacks as plain functions of plain values, and :func:`register` that wires them.

Every function here can be called directly (tests do); :func:`register` only
binds them to component ids. The study frame lives on the server in a
:class:`~dashboards.data.StudySource`; the browser holds small things only: the
study version, the filter schema and the selected trial (``dcc.Store``), so a
refresh that brings new trials redraws the front without losing the selection.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
from dash import ALL, Input, Output, State, ctx, dash_table, dcc, html, no_update

from codesign.study.pareto import non_dominated

from .data import Snapshot, StudyLoadError, StudySource
from .detail import (
    _get_compare_info,
    _get_feedback_info,
    _get_layers_info,
    _get_pe_heatmap_info,
    plot_compare,
    plot_feedback,
    plot_layers,
    plot_pe_heatmap,
)
from .figures import (
    AXES,
    _get_front_3d_info,
    _get_front_info,
    apply_budgets,
    plot_front,
    plot_front_3d,
    use_log,
    view_for,
    views_for,
)
from .layout import COLOUR_OPTIONS, graph_config

__all__ = [
    "compare_view",
    "detail_view",
    "export_csv",
    "filter_mask",
    "filter_schema",
    "front_csv",
    "front_figure",
    "poll",
    "register",
    "selection_from_click",
    "tabs_update",
]

OBJECTIVE_FILTERS = ("accuracy", "area_mm2", "latency_us", "energy_uj")
MAX_CATEGORIES = 8  # an integer param with at most this many distinct values gets a dropdown
WEBGL_ABOVE = 5000  # points; above this the 2-D fronts draw with WebGL
TABLE_STYLE = {"fontSize": "12px", "padding": "3px 6px", "textAlign": "right"}


# -- filters --------------------------------------------------------------------------------
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


def _fmt(x: float) -> str:
    return f"{x:.3g}"


def filter_controls(schema: dict) -> list:
    """Range sliders and dropdowns for :func:`filter_schema`'s output."""
    out = []
    for col, spec in schema.get("ranges", {}).items():
        lo, hi = spec["min"], spec["max"]
        step = (hi - lo) / 100 if hi > lo else 1
        marks = {}
        for v in (lo, hi):
            marks[v] = _fmt(10**v) if spec["log"] else _fmt(v)
        label = AXES.get(col, (col,))[0] + (" (log scale)" if spec["log"] else "")
        out.append(html.Div(label, style={"fontSize": "12px", "marginTop": "6px"}))
        out.append(
            html.Div(
                dcc.RangeSlider(
                    id={"type": "frange", "col": col},
                    min=lo,
                    max=hi,
                    step=step,
                    value=[lo, hi],
                    marks=marks,
                    allowCross=False,
                    tooltip={"placement": "bottom", "always_visible": False},
                ),
                style={"padding": "0 14px"},  # room for the end marks
            )
        )
    for col, values in schema.get("cats", {}).items():
        out.append(html.Div(col, style={"fontSize": "12px", "marginTop": "6px"}))
        out.append(
            dcc.Dropdown(
                id={"type": "fcats", "col": col},
                options=[{"label": str(v), "value": v} for v in values],
                value=list(values),
                multi=True,
            )
        )
    return out


def _pairs(ids, values) -> dict:
    return {i["col"]: v for i, v in zip(ids or [], values or [], strict=False)}


# -- polling --------------------------------------------------------------------------------
def poll(source: StudySource, version, schema, message=None) -> tuple:
    """Re-read the study. Returns (version, status, message, filters, schema, colour
    options, compare options); ``no_update`` where nothing changed (including the
    same load error as last time, ``message``)."""
    try:
        snap = source.snapshot()
    except StudyLoadError as exc:
        if version is None and message == str(exc):
            return (no_update,) * 7
        return (None, "", str(exc), [], None, [], [])
    new_version = snap.version
    if version == new_version:
        return (no_update,) * 7
    status = f"study {snap.study_name!r}: {len(snap.frame)} designs shown of {snap.n_trials} trials"
    if snap.notes:
        status += " (" + "; ".join(snap.notes) + ")"
    message = ""
    if snap.frame.empty:
        message = f"No finished trials with metrics in study {snap.study_name!r} yet."
    new_schema = filter_schema(snap.frame, snap.params)
    keys = lambda s: (sorted(s["ranges"]), sorted(s["cats"])) if s else None  # noqa: E731
    filters = filter_controls(new_schema) if keys(new_schema) != keys(schema) else no_update
    colour = list(COLOUR_OPTIONS) + [{"label": p, "value": p} for p in snap.params]
    trials = snap.frame["trial"].tolist()
    compare = [{"label": f"trial {t}", "value": t} for t in trials]
    schema_out = new_schema if filters is not no_update else no_update
    return (new_version, status, message, filters, schema_out, colour, compare)


# -- the front --------------------------------------------------------------------------------
def _visible(snap: Snapshot, schema, ranges, cats, max_area, max_latency):
    frame = snap.frame
    frame = frame[filter_mask(frame, schema, ranges, cats)]
    return frame, apply_budgets(frame, _budget(max_area), _budget(max_latency))


def _budget(value):
    try:
        value = float(value)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) and value > 0 else None


def _empty_figure(text: str):
    import plotly.graph_objects as go

    fig = go.Figure()
    fig.update_layout(
        annotations=[{"text": text, "showarrow": False, "font": {"size": 16}}],
        xaxis={"visible": False},
        yaxis={"visible": False},
        template="plotly_white",
    )
    return fig


def front_figure(
    snap: Snapshot | None,
    tab: str,
    color_by=None,
    schema=None,
    ranges=None,
    cats=None,
    max_area=None,
    max_latency=None,
    selected=None,
    webgl_above: int = WEBGL_ABOVE,
):
    """The figure of the current tab over the filtered rows."""
    if snap is None or snap.frame.empty:
        return _empty_figure("No designs to show")
    frame, budget = _visible(snap, schema, ranges, cats, max_area, max_latency)
    if frame.empty:
        return _empty_figure("No design passes the filters")
    view = view_for(tab, snap.has_accuracy)
    maximize = tuple(snap.maximize(view.cols))
    if view.z is not None:
        return plot_front_3d(_get_front_3d_info(frame, budget, view.z, maximize))
    info = _get_front_info(frame, view.x, budget, color_by, selected, view.y, maximize)
    return plot_front(info, webgl=len(frame) > webgl_above)


def front_csv(snap: Snapshot | None, tab, schema, ranges, cats, max_area, max_latency):
    """The current front (filtered, within budget, non-dominated over the tab's quantities,
    in the study's directions) as a pandas frame."""
    if snap is None or snap.frame.empty:
        return pd.DataFrame()
    frame, budget = _visible(snap, schema, ranges, cats, max_area, max_latency)
    frame = frame[budget]
    cols = view_for(tab, snap.has_accuracy).cols
    front = frame[non_dominated(frame[cols].to_numpy(dtype=float), snap.maximize(cols))]
    return front.sort_values(cols[1:] + ["trial"]).reset_index(drop=True)


def export_csv(snap, tab, schema=None, ranges=None, cats=None, max_area=None, max_latency=None):
    """The ``dcc.Download`` payload of the current front as CSV."""
    front = front_csv(snap, tab, schema, ranges, cats, max_area, max_latency)
    value = view_for(tab, snap.has_accuracy).value if snap is not None else tab
    return dcc.send_data_frame(front.to_csv, f"pareto_front_{value}.csv", index=False)


def _tab_pairs(children) -> list:
    """(value, label) of each ``dcc.Tab`` in ``children`` (components or their JSON)."""
    out = []
    for child in children or []:
        props = child.get("props", {}) if isinstance(child, dict) else vars(child)
        out.append((props.get("value"), props.get("label")))
    return out


def tabs_update(snap: Snapshot | None, children) -> tuple:
    """New (tabs, selected tab, colour-by) when the study's kind of views changed; ``no_update``
    otherwise. A simulate-only study has no accuracy: its tabs are the hardware trade-offs,
    and its designs are coloured by ``hw.n_pe`` (or the first swept param), since they all
    share one method."""
    if snap is None:
        return no_update, no_update, no_update
    views = views_for(snap.has_accuracy)
    if _tab_pairs(children) == [(v.value, v.label) for v in views]:
        return no_update, no_update, no_update
    colour = "method"
    if not snap.has_accuracy and snap.params:
        colour = "hw.n_pe" if "hw.n_pe" in snap.params else snap.params[0]
    return [dcc.Tab(label=v.label, value=v.value) for v in views], views[0].value, colour


def selection_from_click(click_data):
    """The trial number of a clicked point (its ``customdata``), or ``no_update``."""
    try:
        value = click_data["points"][0]["customdata"]
    except (TypeError, KeyError, IndexError):
        return no_update
    if isinstance(value, list):
        value = value[0] if value else None
    return (
        int(value) if isinstance(value, int | float) and not isinstance(value, bool) else no_update
    )


# -- drill-down and compare -------------------------------------------------------------------
def _table(rows: list[dict], table_id: str):
    columns = list(rows[0]) if rows else []
    return dash_table.DataTable(
        id=table_id,
        data=rows,
        columns=[{"name": c, "id": c} for c in columns],
        style_cell=TABLE_STYLE,
        style_header={"fontWeight": "600"},
        style_table={"overflowX": "auto"},
    )


def _kv_rows(d) -> list[dict]:
    if not isinstance(d, dict):
        return []
    return [
        {"setting": str(k), "value": str(v)} for k, v in d.items() if not isinstance(v, dict | list)
    ]


def detail_view(source: StudySource, selected, image_format: str = "png") -> list:
    """The drill-down of trial ``selected``: configs, per-layer table and figures."""
    if selected is None:
        return [html.P("Click a point to open its design.")]
    try:
        trial = source.trial(int(selected))
    except StudyLoadError as exc:
        return [html.P(str(exc))]
    if trial is None:
        return [html.P(f"Trial {selected} is not in the study.")]
    attrs = trial.user_attrs
    hw_report, train_report = attrs.get("hw_report"), attrs.get("train_report")
    metrics = attrs.get("metrics") if isinstance(attrs.get("metrics"), dict) else {}
    summary = ", ".join(
        f"{AXES[m][0].split(' (')[0].lower()} {float(metrics[m]) * AXES[m][1]:.4g} "
        f"{AXES[m][0].split('(')[1].rstrip(')')}"
        for m in ("accuracy", "area_mm2", "latency_us", "energy_uj")
        if isinstance(metrics.get(m), int | float)
    )
    cfg = graph_config(image_format, f"trial{trial.number}")
    out = [
        html.H3(f"Trial {trial.number}", id="detail-title"),
        html.P(f"method {attrs.get('method', 'unknown')}; {summary}", id="detail-summary"),
    ]
    workload = source.workload
    if isinstance(attrs.get("train_config"), dict) or workload is None:
        settings = [
            html.H4("Training settings"),
            _table(_kv_rows(attrs.get("train_config")), "detail-train"),
        ]
    else:  # a simulate-only sweep: the workload, with this trial's workload.* params
        knobs = {**workload}
        knobs.update({k[len("workload.") :]: v for k, v in trial.params.items()
                      if k.startswith("workload.")})  # fmt: skip
        rows = [{"setting": str(k), "value": json.dumps(v) if isinstance(v, dict | list) else str(v)}
                for k, v in knobs.items()]  # fmt: skip
        settings = [html.H4("Workload (simulate-only sweep)"), _table(rows, "detail-workload")]
    config_tables = [
        html.Div(
            [html.H4("Hardware config"), _table(_kv_rows(attrs.get("hw_config")), "detail-hw")],
            style={"flex": "1", "marginRight": "12px"},
        ),
        html.Div(settings, style={"flex": "1"}),
    ]
    out.append(html.Div(config_tables, style={"display": "flex"}))
    layers = _get_layers_info(hw_report)
    if layers.rows:
        out += [html.H4("Per layer"), _table(layers.rows, "detail-layers")]
        out.append(dcc.Graph(figure=plot_layers(layers), config=cfg, id="detail-layers-graph"))
        heat = _get_pe_heatmap_info(hw_report)
        if heat.z.size:
            out.append(dcc.Graph(figure=plot_pe_heatmap(heat), config=cfg, id="detail-pe-graph"))
    else:
        out.append(html.P("This trial holds no per-layer hardware report."))
    feedback = _get_feedback_info(train_report)
    if feedback is not None:
        out.append(
            dcc.Graph(figure=plot_feedback(feedback), config=cfg, id="detail-feedback-graph")
        )
    if trial.state.name != "COMPLETE":
        out.append(html.P(f"state {trial.state.name}: {attrs.get('error', '')}"))
    return out


def compare_view(snap: Snapshot | None, trials, image_format: str = "png") -> list:
    """Side-by-side table (metrics, then the params that differ) and bars."""
    if snap is None or not trials or len(trials) < 2:
        return [html.P("Pick two or more designs to compare them.", style={"color": "#666"})]
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


def compare_selection(trigger, current, selected, selected_data, max_n: int = 8):
    """New compare list: add the clicked design, or take a box/lasso selection."""
    current = list(current or [])
    if trigger == "add-compare":
        if selected is not None and selected not in current:
            current.append(int(selected))
        return current
    if trigger == "front" and selected_data:  # a box or lasso selection replaces the list
        picked = []
        for p in selected_data.get("points", []):
            t = p.get("customdata")
            if isinstance(t, int | float) and int(t) not in picked:
                picked.append(int(t))
        return picked[:max_n] if picked else no_update
    return no_update


# -- wiring ----------------------------------------------------------------------------------
def register(app, source: StudySource, webgl_above: int = WEBGL_ABOVE) -> None:
    """Bind the functions above to the layout of :mod:`dashboards.layout`."""
    filters_in = [
        Input({"type": "frange", "col": ALL}, "value"),
        Input({"type": "fcats", "col": ALL}, "value"),
    ]
    filters_ids = [
        State({"type": "frange", "col": ALL}, "id"),
        State({"type": "fcats", "col": ALL}, "id"),
    ]

    @app.callback(
        Output("version", "data"),
        Output("status", "children"),
        Output("message", "children"),
        Output("filters", "children"),
        Output("schema", "data"),
        Output("color-by", "options"),
        Output("compare-select", "options"),
        Input("refresh", "n_intervals"),
        State("version", "data"),
        State("schema", "data"),
        State("message", "children"),
    )
    def _poll(_n, version, schema, message):
        return poll(source, version, schema, message)

    @app.callback(
        Output("front", "figure"),
        Input("version", "data"),
        Input("tabs", "value"),
        Input("color-by", "value"),
        *filters_in,
        Input("max-area", "value"),
        Input("max-latency", "value"),
        Input("selected", "data"),
        State("schema", "data"),
        *filters_ids,
        prevent_initial_call=True,  # the first poll's version draws it (once, not per filter)
    )
    def _front(
        version, tab, color_by, rvals, cvals, max_area, max_lat, selected, schema, rids, cids
    ):
        snap = source.current() if version else None
        return front_figure(
            snap,
            tab,
            color_by,
            schema,
            _pairs(rids, rvals),
            _pairs(cids, cvals),
            max_area,
            max_lat,
            selected,
            webgl_above,
        )

    @app.callback(
        Output("selected", "data"), Input("front", "clickData"), prevent_initial_call=True
    )
    def _select(click):
        return selection_from_click(click)

    @app.callback(
        Output("tabs", "children"),
        Output("tabs", "value"),
        Output("color-by", "value"),
        Input("version", "data"),
        State("tabs", "children"),
        prevent_initial_call=True,
    )
    def _tabs(version, children):
        return tabs_update(source.current() if version else None, children)

    @app.callback(
        Output("detail", "children"),
        Input("selected", "data"),
        State("image-format", "value"),
        prevent_initial_call=True,
    )
    def _detail(selected, fmt):
        return detail_view(source, selected, fmt)

    @app.callback(
        Output("compare-select", "value"),
        Input("add-compare", "n_clicks"),
        Input("front", "selectedData"),
        State("compare-select", "value"),
        State("selected", "data"),
        prevent_initial_call=True,
    )
    def _compare_pick(_clicks, selected_data, current, selected):
        return compare_selection(ctx.triggered_id, current, selected, selected_data)

    @app.callback(
        Output("compare", "children"),
        Input("compare-select", "value"),
        Input("version", "data"),
        State("image-format", "value"),
    )
    def _compare(trials, version, fmt):
        return compare_view(source.current() if version else None, trials, fmt)

    @app.callback(Output("front", "config"), Input("image-format", "value"))
    def _image_format(fmt):
        return graph_config(fmt or "png", "pareto_front")

    @app.callback(
        Output("download-csv", "data"),
        Input("export-csv", "n_clicks"),
        State("tabs", "value"),
        State("schema", "data"),
        *filters_ids,
        State({"type": "frange", "col": ALL}, "value"),
        State({"type": "fcats", "col": ALL}, "value"),
        State("max-area", "value"),
        State("max-latency", "value"),
        prevent_initial_call=True,
    )
    def _export(_n, tab, schema, rids, cids, rvals, cvals, max_area, max_lat):
        ranges, cats = _pairs(rids, rvals), _pairs(cids, cvals)
        return export_csv(source.current(), tab, schema, ranges, cats, max_area, max_lat)
