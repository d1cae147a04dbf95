"""The page: controls on the left; the front, the design table, comparison, study-wide
analysis and the drill-down in the middle.

Component ids are the string literals here; callbacks and browser tests use them.
"""

from __future__ import annotations

from dash import dash_table, dcc, html

from .figures import ACCURACY_VIEWS
from .filters import BUDGETS

__all__ = [
    "TABS",
    "analysis_controls_style",
    "analysis_hint",
    "budget_row",
    "build_layout",
    "compare_hint",
    "design_table",
    "fill",
    "graph_config",
]

#: the first tabs (value, label); a simulate-only study switches them to the hardware views
TABS = [(v.value, v.label) for v in ACCURACY_VIEWS]
SIDEBAR = {
    "width": "290px",
    "flex": "0 0 290px",
    "padding": "10px",
    "borderRight": "1px solid #ddd",
}
COLOUR_OPTIONS = [
    {"label": "method", "value": "method"},
    {"label": "sparsity", "value": "sparsity"},
]
SMALL = {"fontSize": "12px", "color": "#444"}
LABEL = {"fontWeight": "600", "marginTop": "10px", "display": "block", "fontSize": "13px"}
PAGE_SIZE = 15
ANALYSIS_TABS = [
    ("none", "Analysis (pick one)"),
    ("parallel", "Parallel coordinates"),
    ("history", "History and hypervolume"),
    ("importance", "Knob importance"),
    ("slices", "Knob vs metric"),
]


def analysis_hint() -> html.P:
    """What the analysis section shows before a tab is picked."""
    return html.P("Pick an analysis tab: parallel coordinates, history and hypervolume, "
                  "knob importance, knob vs metric.", style={"color": "#666"})  # fmt: skip


def compare_hint() -> list:
    """What the comparison shows until two designs are ticked."""
    return [html.P("Tick two or more rows of the design table to compare them.",
                   style={"color": "#666"})]  # fmt: skip


def analysis_controls_style(which: str) -> dict:
    """The metric picker and Compute button: shown for the analyses that take a metric."""
    return {"margin": "6px 0", "display": "none" if which in ("parallel", "none") else "block"}


def graph_config(image_format: str = "png", filename: str = "codesign") -> dict:
    """Plotly modebar config: the camera button saves ``filename.png`` or ``.svg``; no
    button offers to send the chart to a cloud service."""
    return {
        "displaylogo": False,
        "showSendToCloud": False,
        "showEditInChartStudio": False,
        "modeBarButtonsToRemove": ["sendDataToCloud", "editInChartStudio"],
        "toImageButtonOptions": {"format": image_format, "filename": filename, "scale": 2},
    }


def _budget_inputs() -> html.Div:
    """The four usual budgets, then rows of a budget on any metric ("Add a budget")."""
    cells = [
        html.Div(
            [html.Div(label, style=SMALL), dcc.Input(id=key, type="number", min=0, debounce=True,
                                                     style={"width": "100%"})],
            style={"width": "48%", "marginBottom": "4px"},
        )
        for key, (_, _, label) in BUDGETS.items()
    ]  # fmt: skip
    return html.Div(
        [
            html.Div(cells, style={"display": "flex", "flexWrap": "wrap",
                                   "justifyContent": "space-between"}),
            html.Div(id="metric-budgets", children=[]),
            html.Button("Add a budget on any metric", id="add-budget", style={"marginTop": "2px"}),
        ]
    )  # fmt: skip


def budget_row(row: int, options: list[dict]) -> html.Div:
    """One "budget on [metric] [value]" row; ``options`` from
    :func:`dashboards.filters.budget_options` (each names its bound and unit)."""
    return html.Div(
        [
            dcc.Dropdown(id={"type": "budget-metric", "row": row}, options=options,
                         placeholder="budget on ...", style={"flex": "1 1 62%"}),
            dcc.Input(id={"type": "budget-value", "row": row}, type="number", min=0,
                      debounce=True, placeholder="value", style={"width": "36%"}),
        ],
        style={"display": "flex", "gap": "4px", "marginBottom": "4px", "alignItems": "center"},
    )  # fmt: skip


def _sidebar() -> html.Div:
    return html.Div(
        [
            html.Label("Colour by", style=LABEL),
            dcc.Dropdown(id="color-by", options=COLOUR_OPTIONS, value="method", clearable=True),
            html.Label("Budgets (grey out what misses them)", style=LABEL),
            _budget_inputs(),
            html.Label("Filters", style=LABEL),
            html.Div(id="filters"),
            html.Label("Export", style=LABEL),
            dcc.RadioItems(
                id="image-format",
                options=[{"label": " PNG", "value": "png"}, {"label": " SVG", "value": "svg"}],
                value="png",
                inline=True,
                inputStyle={"marginLeft": "8px"},
            ),
            html.Button("Download front figure", id="export-figure", style={"marginTop": "6px"}),
            html.Button("Download front as CSV", id="export-csv", style={"marginTop": "6px"}),
            dcc.Download(id="download-csv"),
        ],
        style=SIDEBAR,
    )


def design_table():
    """The design table. It is put in the page (``design-table-slot``) once the front has
    been drawn: mounting it (its code-split chunks, React) is work the front's first draw
    does not need."""
    return dash_table.DataTable(
        id="design-table",
        columns=[],
        data=[],
        row_selectable="multi",
        selected_row_ids=[],
        page_action="custom",
        page_current=0,
        page_size=PAGE_SIZE,
        sort_action="custom",
        sort_mode="multi",
        sort_by=[],
        filter_action="custom",
        filter_query="",
        style_cell={"fontSize": "12px", "padding": "2px 6px", "textAlign": "right"},
        style_header={"fontWeight": "600"},
        style_table={"overflowX": "auto"},
    )


def _design_table() -> html.Div:
    return html.Div(
        [
            html.Div(
                [
                    html.Label("Designs", style={**LABEL, "marginTop": "0"}),
                    html.Span(id="table-status", style={**SMALL, "marginLeft": "8px"}),
                    html.Button(
                        "Show all designs", id="clear-selection", style={"marginLeft": "auto"}
                    ),  # fmt: skip
                ],
                style={"display": "flex", "alignItems": "baseline"},
            ),
            html.Div(
                "Click a row to open it; tick rows to highlight them on the plots and "
                "compare them; box/lasso-select points to list only those. ★: on the "
                "front.",
                style=SMALL,
            ),  # fmt: skip
            html.Div(id="design-table-slot"),  # design_table(), once the front is drawn
        ],
        style={"margin": "6px 0"},
    )


def _main() -> html.Div:
    return html.Div(
        [
            dcc.Tabs(
                id="tabs",
                value=TABS[0][0],
                children=[dcc.Tab(label=label, value=value) for value, label in TABS],
            ),
            dcc.Graph(
                id="front", config=graph_config("png", "pareto_front"), style={"height": "540px"}
            ),
            html.Div(id="front-status", style={**SMALL, "margin": "2px 0 6px"}),
            _design_table(),
            html.Div(id="compare", children=compare_hint()),
            dcc.Tabs(
                id="analysis-tabs",
                value="none",  # drawn on demand: the first page of a big study stays light
                children=[dcc.Tab(label=label, value=value) for value, label in ANALYSIS_TABS],
            ),
            html.Div(
                [
                    dcc.Dropdown(
                        id="analysis-target",
                        clearable=False,
                        style={"width": "260px", "display": "inline-block"},
                    ),
                    html.Button("Compute", id="analysis-run", style={"marginLeft": "8px"}),
                ],
                id="analysis-controls",
                style=analysis_controls_style("none"),
            ),  # fmt: skip
            dcc.Loading(html.Div(analysis_hint(), id="analysis")),
            html.Hr(),
            html.Div(
                [
                    dcc.Input(
                        id="note-text",
                        type="text",
                        placeholder="a note on this design",
                        debounce=False,
                        style={"width": "60%"},
                    ),
                    html.Button("Save note", id="note-save", style={"marginLeft": "6px"}),
                    html.Span(id="note-status", style={**SMALL, "marginLeft": "8px"}),
                ],
                style={"margin": "4px 0"},
            ),  # fmt: skip
            html.Div(id="detail", children=html.P("Click a point to open its design.")),
            html.Div(id="detail-training"),
        ],
        style={"flex": "1", "padding": "10px", "minWidth": "0"},
    )


def build_layout(refresh_s: float, studies: list[str] | None = None, study: str | None = None):
    """The whole page; ``refresh_s`` is the polling period for new trials, in seconds;
    ``studies`` the names for the study picker, ``study`` the one shown first."""
    return html.Div(
        [
            html.Div(
                [
                    html.H2("codesign: Pareto explorer", style={"margin": "0 12px 0 0"}),
                    dcc.Dropdown(
                        id="study-picker",
                        options=[{"label": s, "value": s} for s in studies or []],
                        value=study,
                        clearable=False,
                        style={"width": "240px", "marginRight": "12px"},
                    ),
                    html.Span(id="status", style={"color": "#555"}),
                ],
                style={"display": "flex", "alignItems": "center", "padding": "8px 10px"},
            ),
            html.Div(
                id="message",
                style={"color": "#a00", "padding": "0 10px", "fontWeight": "600"},
            ),
            html.Div([_sidebar(), _main()], style={"display": "flex"}),
            dcc.Interval(id="refresh", interval=int(refresh_s * 1000), n_intervals=0),
            dcc.Store(id="version"),
            dcc.Store(id="schema"),
            dcc.Store(id="selected"),
            dcc.Store(id="plot-selection"),  # trial numbers of a box/lasso selection (or None)
            dcc.Store(id="ring-done"),  # output of the client-side selection ring
            dcc.Store(id="figure-done"),  # output of the client-side figure download
            dcc.Store(id="front-drawn"),  # true once the front is painted (the table mounts)
            dcc.Store(id="table-mounted"),  # true once the design table is in the page
        ],
        style={"fontFamily": "system-ui, sans-serif", "fontSize": "14px"},
    )


def fill(layout, values: dict):
    """Set ``{(component id, property): value}`` on the components of ``layout``; returns it."""
    by_id = {getattr(c, "id", None): c for c in layout._traverse()}
    for (cid, prop), value in values.items():
        if cid in by_id:
            setattr(by_id[cid], prop, value)
    return layout
