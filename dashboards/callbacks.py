"""What the page computes, as plain functions of plain values (tests call them directly).

:mod:`dashboards.wiring` binds them to component ids. The study frame lives on
the server in a :class:`~dashboards.data.StudySource`; the browser holds small
things only (the study version, the filter schema, the selected trial), so a
refresh that brings new trials redraws the front without losing the selection.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from dash import dcc, no_update

from .data import Snapshot, StudyLoadError, StudySource
from .figures import AXES, _get_front_info, colour_spec, plain, plot_front, view_for, views_for
from .figures_3d import _get_front_3d_info, plot_front_3d
from .filters import (
    apply_budgets,
    budget_text,
    carry_values,
    filter_controls,
    filter_mask,
    filter_schema,
)
from .layout import COLOUR_OPTIONS
from .views import design_rows, front_mask, table_columns, table_page

__all__ = [
    "export_csv",
    "first_page",
    "front_csv",
    "front_figure",
    "front_view",
    "poll",
    "table_view",
    "tabs_update",
]

WEBGL_ABOVE = 5000  # markers; above this the 2-D fronts draw with WebGL


# -- polling --------------------------------------------------------------------------------
def poll(source: StudySource, version, schema, message=None, ranges=None, cats=None) -> tuple:
    """Re-read the study. Returns (version, status, message, filters, schema, colour options,
    analysis-target options); ``no_update`` where nothing changed (including the same load
    error as last time, ``message``). When new trials move the filters' ranges or bring new
    values, the controls are rebuilt, keeping what the user set (``ranges`` / ``cats``)."""
    try:
        snap = source.snapshot()
    except StudyLoadError as exc:
        if version is None and message == str(exc):
            return (no_update,) * 7
        return (None, "", str(exc), [], None, [], [])
    if version == snap.version:
        return (no_update,) * 7
    status = f"study {snap.study_name!r}: {len(snap.frame)} of {snap.n_trials} trials have results"
    if snap.notes:
        status += " (" + "; ".join(snap.notes) + ")"
    message = ""
    if snap.frame.empty:
        message = f"No finished trials with metrics in study {snap.study_name!r} yet."
    new_schema = filter_schema(snap.frame, snap.params)
    if new_schema != schema:
        r, c = carry_values(schema, new_schema, ranges or {}, cats or {})
        filters, schema_out = filter_controls(new_schema, r, c), new_schema
    else:
        filters = schema_out = no_update
    colour = list(COLOUR_OPTIONS) + [{"label": p, "value": p} for p in snap.params]
    targets = [{"label": AXES[m][0], "value": m} for m in snap.metrics if m != "cycles"]
    return (snap.version, status, message, filters, schema_out, colour, targets)


# -- the front --------------------------------------------------------------------------------
def visible(snap: Snapshot, schema, ranges, cats, budgets) -> tuple[pd.DataFrame, np.ndarray]:
    """The filtered rows, and which of them are within the budgets."""
    frame = snap.frame[filter_mask(snap.frame, schema, ranges, cats)]
    return frame, apply_budgets(frame, budgets)


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


def front_view(snap: Snapshot | None, tab: str, color_by=None, schema=None, ranges=None,
               cats=None, budgets=None, selected=None, webgl_above: int = WEBGL_ABOVE):  # fmt: skip
    """(figure, status sentence) of the current tab over the filtered rows. Colours are fixed
    over the whole study, so filtering never changes what a colour means."""
    if snap is None or snap.frame.empty:
        return _empty_figure("No designs to show"), ""
    frame, budget = visible(snap, schema, ranges, cats, budgets)
    view = view_for(tab, snap.has_accuracy)
    n_all = len(snap.frame)
    if frame.empty:
        return _empty_figure("No design passes the filters"), (
            f"0 of {n_all} designs pass the filters; widen a slider or re-select a value."
        )
    maximize = tuple(snap.maximize(view.cols))
    spec = colour_spec(snap.frame, color_by)
    title = f"{plain(snap.study_name)}: {view.label}"
    words = budget_text(budgets, snap.frame)  # budgets on a metric the study lacks: none
    if words:
        title += f" (budget: {words})"
    if view.z is not None:
        info = _get_front_3d_info(frame, budget, view.z, maximize, spec, selected or (), title)
        fig, markers, on_front = plot_front_3d(info), len(frame), int(info.on_front.sum())
    else:
        info = _get_front_info(frame, view.x, budget, spec, selected, view.y, maximize,
                               snap.params, title)  # fmt: skip
        fig = plot_front(info, webgl=len(info.x) > webgl_above)  # markers, not rows
        markers, on_front = len(info.x), int(sum(len(m) for m, f in
                                                 zip(info.members, info.on_front, strict=True) if f))  # fmt: skip
    status = (f"{len(frame)} of {n_all} designs pass the filters, drawn as {markers} markers "
              f"(identical designs share one); {int(budget.sum())} within budget; "
              f"{on_front} on the front.")  # fmt: skip
    if not budget.any():
        cols = [c for c in view.cols if c in frame]
        best = ", ".join(
            f"{'most' if up else 'least'} {AXES[c][0].split(' (')[0].lower()} "
            f"{(frame[c].max() if up else frame[c].min()) * AXES[c][1]:.4g}"
            for c, up in zip(cols, snap.maximize(cols), strict=True)
        )
        status = (f"No design meets the budget ({words}): all {len(frame)} "
                  f"filtered designs are greyed out ({best}).")  # fmt: skip
    return fig, status


def front_figure(snap, tab, color_by=None, schema=None, ranges=None, cats=None, budgets=None,
                 selected=None, webgl_above: int = WEBGL_ABOVE):  # fmt: skip
    """The figure of :func:`front_view`."""
    return front_view(snap, tab, color_by, schema, ranges, cats, budgets, selected,
                      webgl_above)[0]  # fmt: skip


def front_csv(snap: Snapshot | None, tab, schema=None, ranges=None, cats=None, budgets=None):
    """The current front (filtered, within budget, non-dominated over the tab's quantities,
    in the study's directions) as a pandas frame."""
    if snap is None or snap.frame.empty:
        return pd.DataFrame()
    frame, budget = visible(snap, schema, ranges, cats, budgets)
    cols = view_for(tab, snap.has_accuracy).cols
    front = frame[front_mask(frame, budget, cols, snap.maximize(cols))]
    return front.sort_values(cols[1:] + ["trial"]).reset_index(drop=True)


def export_csv(snap, tab, schema=None, ranges=None, cats=None, budgets=None):
    """The ``dcc.Download`` payload of the current front as CSV (formula-like text made inert,
    as ``codesign export`` writes it)."""
    from codesign.export import inert

    front = front_csv(snap, tab, schema, ranges, cats, budgets).map(inert)
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


# -- the design table ---------------------------------------------------------------------------
def table_view(snap: Snapshot | None, tab, schema=None, ranges=None, cats=None, budgets=None,
               plot_selection=None, page=0, size=15, sort_by=None, query=""):  # fmt: skip
    """(rows of one page, page count, columns, status) of the design table: the filtered
    designs (only those of a plot selection, when there is one), front members marked."""
    if snap is None or snap.frame.empty:
        return [], 1, [], ""
    frame, budget = visible(snap, schema, ranges, cats, budgets)
    cols = view_for(tab, snap.has_accuracy).cols
    rows = design_rows(frame, front_mask(frame, budget, cols, snap.maximize(cols)), snap)
    status = f"{len(rows)} designs"
    if plot_selection is not None:
        rows = rows[rows["trial"].isin(plot_selection).to_numpy()]
        status = f"{len(rows)} designs selected on the plot (of {len(frame)})"
    data, pages = table_page(rows, page, size, sort_by, query)
    return data, pages, table_columns(snap), status


# -- the first page ---------------------------------------------------------------------------
def first_page(source: StudySource, tabs_children, webgl_above: int = WEBGL_ABOVE) -> dict:
    """``{(component id, property): value}`` of the page as the first poll, the tab switch
    and the front would leave it, computed on the server when the page is requested, so the
    browser draws the front without waiting on a chain of callbacks. Not the design table:
    it is put in the page and filled once the front is drawn (``wiring``). Empty when the
    study cannot be read (the first poll then shows why)."""
    try:
        source.snapshot()
    except StudyLoadError:
        return {}
    outs = poll(source, None, None)
    snap = source.current()
    if snap is None or outs[0] is no_update:
        return {}
    names = [("version", "data"), ("status", "children"), ("message", "children"),
             ("filters", "children"), ("schema", "data"), ("color-by", "options"),
             ("analysis-target", "options")]  # fmt: skip
    out = {k: v for k, v in zip(names, outs, strict=True) if v is not no_update}
    schema = out.get(("schema", "data"))
    tabs, tab, colour = tabs_update(snap, tabs_children)
    if tabs is not no_update:
        out.update({("tabs", "children"): tabs, ("tabs", "value"): tab,
                    ("color-by", "value"): colour})  # fmt: skip
    tab = out.get(("tabs", "value"), _tab_pairs(tabs_children)[0][0])
    colour = out.get(("color-by", "value"), "method")
    fig, status = front_view(snap, tab, colour, schema, webgl_above=webgl_above)
    out[("front", "figure")], out[("front-status", "children")] = fig, status
    return out
