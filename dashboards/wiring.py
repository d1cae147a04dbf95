"""Bind the functions of :mod:`dashboards.callbacks`, :mod:`dashboards.views` and
:mod:`dashboards.analysis` to the component ids of :mod:`dashboards.layout`.

Four callbacks run in the browser (``assets/codesign.js``): the selection (a click,
a box, a table row: no server round trip), the selection ring (moved with
``Plotly.restyle`` on the front's last trace, so a click never re-sends the front),
the figure download (``Plotly.downloadImage`` in the chosen format, at once) and the
front's first draw (``front-drawn``), after which the design table is put in the page:
until then the callbacks read its properties as None (``allow_optional``).
"""

from __future__ import annotations

import threading

from dash import ALL, ClientsideFunction, Input, Output, Patch, State, ctx, html, no_update

from codesign.study import study_names

from . import analysis
from .callbacks import (
    WEBGL_ABOVE,
    export_csv,
    front_view,
    poll,
    table_view,
    tabs_update,
    visible,
)
from .data import StudyLoadError, StudySource, list_studies
from .figures import view_for
from .filters import BUDGETS, budget_options, pairs, row_budgets, row_options
from .layout import (
    analysis_controls_style,
    analysis_hint,
    budget_row,
    design_table,
    graph_config,
)
from .views import compare_view, detail_view, front_mask, training_view

__all__ = ["Sources", "register"]


class Sources:
    """One :class:`StudySource` per study name of one storage, made on first use."""

    def __init__(self, storage_url: str, default: str | None, storage=None):
        self.storage_url, self.default, self.storage = storage_url, default, storage
        self._sources: dict = {}
        self._lock = threading.Lock()

    def names(self) -> list[str]:
        """The names of the studies in the storage now, oldest first ([] while unreadable):
        a study made after the app started (a sweep started later) is among them."""
        if self.storage is None:  # not readable at the start: try again, keep it if it is
            names, self.storage = list_studies(self.storage_url)
            return names
        try:
            return study_names(self.storage)
        except Exception:  # the storage fails now: the page's polls say why
            return []

    def get(self, name: str | None) -> StudySource:
        name = name or self.default
        with self._lock:
            if name not in self._sources:
                self._sources[name] = StudySource(self.storage_url, name, self.storage)
            return self._sources[name]


def _state(snap_source: StudySource, version):
    return snap_source.current() if version else None


def register(app, sources: Sources, webgl_above: int = WEBGL_ABOVE) -> None:
    """Wire the page; ``sources`` gives the study the picker names."""
    filters_in = [
        Input({"type": "frange", "col": ALL}, "value"),
        Input({"type": "fcats", "col": ALL}, "value"),
    ]
    filters_state = [
        State({"type": "frange", "col": ALL}, "value"),
        State({"type": "fcats", "col": ALL}, "value"),
    ]
    filters_ids = [
        State({"type": "frange", "col": ALL}, "id"),
        State({"type": "fcats", "col": ALL}, "id"),
    ]
    rows = [{"type": "budget-metric", "row": ALL}, {"type": "budget-value", "row": ALL}]
    budgets_in = [Input(key, "value") for key in BUDGETS] + [Input(i, "value") for i in rows]
    budgets_state = [State(key, "value") for key in BUDGETS] + [State(i, "value") for i in rows]
    n_budgets = len(budgets_in)
    study = State("study-picker", "value")

    def budgets_of(values) -> dict:
        """The budgets' values: the four inputs', then the rows' (metric, value) lists."""
        fixed = dict(zip(BUDGETS, values[: len(BUDGETS)], strict=True))
        return {**fixed, **row_budgets(*values[len(BUDGETS) :])}

    @app.callback(
        Output("version", "data"),
        Output("status", "children"),
        Output("message", "children"),
        Output("filters", "children"),
        Output("schema", "data"),
        Output("color-by", "options"),
        Output("analysis-target", "options"),
        Input("refresh", "n_intervals"),
        Input("study-picker", "value"),
        State("version", "data"),
        State("schema", "data"),
        State("message", "children"),
        *filters_state,
        *filters_ids,
    )
    def _poll(_n, name, version, schema, message, rvals, cvals, rids, cids):
        if ctx.triggered_id == "study-picker":
            schema = None  # another study: its own filters
        return poll(sources.get(name), version, schema, message, pairs(rids, rvals),
                    pairs(cids, cvals))  # fmt: skip

    @app.callback(
        Output("front", "figure"),
        Output("front-status", "children"),
        Input("version", "data"),
        Input("tabs", "value"),
        Input("color-by", "value"),
        *filters_in,
        *budgets_in,
        State("selected", "data"),
        State("design-table", "selected_row_ids", allow_optional=True),
        State("schema", "data"),
        *filters_ids,
        study,
        prevent_initial_call=True,  # the first poll's version draws it (once, not per filter)
    )
    def _front(version, tab, color_by, rvals, cvals, *rest):
        budgets = budgets_of(rest[:n_budgets])
        selected, ticked, schema, rids, cids, name = rest[n_budgets:]
        ring = [t for t in [selected, *(ticked or [])] if t is not None]
        snap = _state(sources.get(name), version)
        return front_view(snap, tab, color_by, schema, pairs(rids, rvals), pairs(cids, cvals),
                          budgets, ring, webgl_above)  # fmt: skip

    app.clientside_callback(
        ClientsideFunction(namespace="codesign", function_name="select"),
        Output("selected", "data"),
        Output("plot-selection", "data"),
        Input("front", "clickData"),
        Input("front", "selectedData"),
        Input("clear-selection", "n_clicks"),
        Input("design-table", "active_cell", allow_optional=True),
        Input("design-table", "selected_row_ids", allow_optional=True),
        State("selected", "data"),
        prevent_initial_call=True,
    )
    app.clientside_callback(
        ClientsideFunction(namespace="codesign", function_name="ring"),
        Output("ring-done", "data"),
        Input("selected", "data"),
        Input("design-table", "selected_row_ids", allow_optional=True),
    )
    app.clientside_callback(
        ClientsideFunction(namespace="codesign", function_name="drawn"),
        Output("front-drawn", "data"),
        Input("front", "figure"),
        State("front-drawn", "data"),
    )

    @app.callback(
        Output("design-table-slot", "children"),
        Output("table-mounted", "data"),
        Input("front-drawn", "data"),
        prevent_initial_call=True,
    )
    def _mount_table(_drawn):
        return design_table(), True

    app.clientside_callback(
        ClientsideFunction(namespace="codesign", function_name="download"),
        Output("figure-done", "data"),
        Input("export-figure", "n_clicks"),
        State("image-format", "value"),
        prevent_initial_call=True,
    )

    @app.callback(
        Output("metric-budgets", "children"),
        Input("add-budget", "n_clicks"),
        study,
        prevent_initial_call=True,
    )
    def _add_budget(n, name):
        rows = Patch()
        rows.append(budget_row(int(n or 0), metric_budget_options(sources.get(name))))
        return rows

    @app.callback(
        Output({"type": "budget-metric", "row": ALL}, "options"),
        Input("version", "data"),
        State({"type": "budget-metric", "row": ALL}, "value"),
        study,
        prevent_initial_call=True,
    )
    def _budget_rows(_version, keys, name):
        """The rows follow the study shown (a study switch, new metrics): its metrics, and a
        budget picked on a metric it lacks marked so (and not applied)."""
        snap = sources.get(name).current()
        present = snap.metrics if snap is not None else ()
        options = metric_budget_options(sources.get(name))
        return [row_options(options, key, present) for key in keys]

    @app.callback(
        Output("tabs", "children"),
        Output("tabs", "value"),
        Output("color-by", "value"),
        Input("version", "data"),
        State("tabs", "children"),
        study,
        prevent_initial_call=True,
    )
    def _tabs(version, children, name):
        return tabs_update(_state(sources.get(name), version), children)

    @app.callback(
        Output("detail", "children"),
        Output("note-text", "value"),
        Input("selected", "data"),
        State("image-format", "value"),
        study,
        prevent_initial_call=True,
    )
    def _detail(selected, fmt, name):
        source = sources.get(name)
        note = source.notes().get(int(selected), "") if selected is not None else ""
        return detail_view(source, selected, fmt, note), note

    @app.callback(
        Output("detail-training", "children"),
        Input("selected", "data"),
        State("image-format", "value"),
        study,
        prevent_initial_call=True,
    )
    def _training(selected, fmt, name):
        return training_view(sources.get(name), selected, fmt)

    @app.callback(
        Output("note-status", "children"),
        Input("note-save", "n_clicks"),
        State("note-text", "value"),
        State("selected", "data"),
        study,
        prevent_initial_call=True,
    )
    def _note(_n, text, selected, name):
        if selected is None or not (text or "").strip():
            return "Open a design and type a note first."
        try:
            sources.get(name).set_note(int(selected), text.strip())
        except Exception as exc:  # read-only file, locked database ...: say so, keep serving
            return f"note not saved: {str(exc).splitlines()[0]}"
        return f"note saved on trial {selected}"

    @app.callback(
        Output("design-table", "data"),
        Output("design-table", "page_count"),
        Output("design-table", "columns"),
        Output("table-status", "children"),
        Input("version", "data"),
        Input("tabs", "value"),
        *filters_in,
        *budgets_in,
        Input("plot-selection", "data"),
        Input("design-table", "page_current", allow_optional=True),
        Input("design-table", "sort_by", allow_optional=True),
        Input("design-table", "filter_query", allow_optional=True),
        Input("table-mounted", "data"),
        State("design-table", "page_size", allow_optional=True),
        State("schema", "data"),
        *filters_ids,
        study,
        prevent_initial_call=True,
    )
    def _table(version, tab, rvals, cvals, *rest):
        budgets = budgets_of(rest[:n_budgets])
        plot_sel, page, sort_by, query, mounted, size, schema, rids, cids, name = rest[n_budgets:]
        if not mounted:  # not in the page yet: filled when it is
            return no_update, no_update, no_update, no_update
        snap = _state(sources.get(name), version)
        return table_view(snap, tab, schema, pairs(rids, rvals), pairs(cids, cvals), budgets,
                          plot_sel, page, size, sort_by, query)  # fmt: skip

    @app.callback(
        Output("compare", "children"),
        Input("design-table", "selected_row_ids", allow_optional=True),
        Input("version", "data"),
        State("image-format", "value"),
        study,
        prevent_initial_call=True,  # the page starts with the hint (no request at load)
    )
    def _compare(trials, version, fmt, name):
        return compare_view(_state(sources.get(name), version), trials, fmt)

    @app.callback(
        Output("analysis", "children"),
        Output("analysis-controls", "style"),
        Input("analysis-tabs", "value"),
        Input("analysis-run", "n_clicks"),
        Input("analysis-target", "value"),
        Input("plot-selection", "data"),
        Input("design-table", "selected_row_ids", allow_optional=True),
        Input("version", "data"),
        State("tabs", "value"),
        State("schema", "data"),
        *filters_state,
        *filters_ids,
        *budgets_state,
        study,
        prevent_initial_call=True,  # the page starts with the hint, the controls hidden
    )
    def _analysis(which, _run, target, plot_sel, ticked, version, tab, schema, rvals, cvals,
                  rids, cids, *rest):  # fmt: skip
        budgets, name = budgets_of(rest[:-1]), rest[-1]
        snap = _state(sources.get(name), version)
        show = analysis_controls_style(which)
        if which == "none":
            return analysis_hint(), show
        if snap is None or snap.frame.empty:
            return html.P("No designs yet."), show
        frame, budget = visible(snap, schema, pairs(rids, rvals), pairs(cids, cvals), budgets)
        cols = view_for(tab, snap.has_accuracy).cols
        on_front = front_mask(frame, budget, cols, snap.maximize(cols))
        if plot_sel is not None:
            keep = frame["trial"].isin(plot_sel).to_numpy()
            frame, on_front = frame[keep], on_front[keep]
        if target not in snap.metrics:
            target = next((o for o in snap.objectives if o in snap.metrics), cols[0])
        return _analysis_view(which, snap, frame, on_front, ticked, target, ctx.triggered_id), show

    @app.callback(
        Output("front", "config"), Input("image-format", "value"), prevent_initial_call=True
    )  # the layout's config is the PNG one
    def _image_format(fmt):
        return graph_config(fmt or "png", "pareto_front")

    @app.callback(
        Output("download-csv", "data"),
        Input("export-csv", "n_clicks"),
        State("tabs", "value"),
        State("schema", "data"),
        *filters_ids,
        *filters_state,
        *budgets_state,
        study,
        prevent_initial_call=True,
    )
    def _export(_n, tab, schema, rids, cids, rvals, cvals, *rest):
        budgets, name = budgets_of(rest[:-1]), rest[-1]
        snap = sources.get(name).current()
        return export_csv(snap, tab, schema, pairs(rids, rvals), pairs(cids, cvals), budgets)


def metric_budget_options(source: StudySource) -> list[dict]:
    """Budget options for every metric of the study as last read (none before it is read)."""
    snap = source.current()
    if snap is None:
        return []
    metrics = [m for m in snap.metrics if m in snap.frame]
    return budget_options(metrics, snap.maximize(metrics))


def _analysis_view(which, snap, frame, on_front, ticked, target, trigger):
    from dash import dcc

    cfg = graph_config("png", f"{snap.study_name}-{which}")
    if which == "parallel":
        fig = analysis.plot_parallel(
            frame, snap.params, [m for m in snap.metrics if m != "cycles"], on_front, ticked
        )
        return dcc.Graph(figure=fig, config=cfg, id="parallel-graph")  # fmt: skip
    if which == "history":
        objs = [o for o in snap.objectives if o in snap.metrics] or [target]
        info = analysis._get_history_info(snap.frame, objs, snap.maximize(objs))
        return dcc.Graph(figure=analysis.plot_history(info), config=cfg, id="history-graph")
    if which == "importance":
        if trigger != "analysis-run":
            return html.P("Pick a metric and press Compute (Optuna's fANOVA evaluator over the "
                          "designs in the table; a few seconds on large studies).")  # fmt: skip
        try:
            values = analysis.importances(frame, snap.params, target, snap.maximize([target])[0])
        except (ValueError, RuntimeError, StudyLoadError) as exc:
            return html.P(f"importance not computed: {exc}")
        if not values:
            return html.P("Too few designs or no knob that varies: nothing to rank.")
        fig = analysis.plot_importance(values, target)
        return dcc.Graph(figure=fig, config=cfg, id="importance-graph")
    fig = analysis.plot_slices(frame, snap.params, target)
    return dcc.Graph(figure=fig, config=cfg, id="slices-graph")
