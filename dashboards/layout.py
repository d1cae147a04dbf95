"""The page: controls on the left, the front in the middle, drill-down and comparison below.

Component ids are the module constants' string values; callbacks and browser
tests use them.
"""

from __future__ import annotations

from dash import dcc, html

from .figures import ACCURACY_VIEWS

__all__ = ["TABS", "build_layout", "graph_config"]

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


def graph_config(image_format: str = "png", filename: str = "codesign") -> dict:
    """Plotly modebar config: the camera button saves ``filename.png`` or ``.svg``."""
    return {
        "displaylogo": False,
        "toImageButtonOptions": {"format": image_format, "filename": filename, "scale": 2},
    }


def _sidebar() -> html.Div:
    return html.Div(
        [
            html.Label("Colour by", style=LABEL),
            dcc.Dropdown(id="color-by", options=COLOUR_OPTIONS, value="method", clearable=True),
            html.Label("Budgets (grey out what misses them)", style=LABEL),
            html.Div(
                [
                    html.Div(
                        [
                            html.Div("max area (mm²)", style=SMALL),
                            dcc.Input(id="max-area", type="number", min=0, debounce=True),
                        ],
                        style={"width": "48%"},
                    ),
                    html.Div(
                        [
                            html.Div("max latency (µs)", style=SMALL),
                            dcc.Input(id="max-latency", type="number", min=0, debounce=True),
                        ],
                        style={"width": "48%"},
                    ),
                ],
                style={"display": "flex", "justifyContent": "space-between"},
            ),
            html.Label("Filters", style=LABEL),
            html.Div(id="filters"),
            html.Label("Figure export format", style=LABEL),
            dcc.RadioItems(
                id="image-format",
                options=[{"label": " PNG", "value": "png"}, {"label": " SVG", "value": "svg"}],
                value="png",
                inline=True,
                inputStyle={"marginLeft": "8px"},
            ),
            html.Button("Download front as CSV", id="export-csv", style={"marginTop": "10px"}),
            dcc.Download(id="download-csv"),
        ],
        style=SIDEBAR,
    )


def _main() -> html.Div:
    return html.Div(
        [
            dcc.Tabs(
                id="tabs",
                value=TABS[0][0],
                children=[dcc.Tab(label=label, value=value) for value, label in TABS],
            ),
            dcc.Graph(id="front", config=graph_config(), style={"height": "520px"}),
            html.Div(
                [
                    html.Label("Compare designs (trial numbers; or box/lasso-select points)"),
                    html.Div(
                        [
                            dcc.Dropdown(
                                id="compare-select",
                                options=[],
                                value=[],
                                multi=True,
                                style={"flex": "1"},
                            ),
                            html.Button(
                                "Add clicked design", id="add-compare", style={"marginLeft": "8px"}
                            ),
                        ],
                        style={"display": "flex"},
                    ),
                ],
                style={"margin": "6px 0"},
            ),
            html.Div(id="compare"),
            html.Hr(),
            html.Div(id="detail", children=html.P("Click a point to open its design.")),
        ],
        style={"flex": "1", "padding": "10px", "minWidth": "0"},
    )


def build_layout(refresh_s: float) -> html.Div:
    """The whole page; ``refresh_s`` is the polling period for new trials, in seconds."""
    return html.Div(
        [
            html.Div(
                [
                    html.H2("codesign: Pareto explorer", style={"margin": "0 12px 0 0"}),
                    html.Span(id="status", style={"color": "#555"}),
                ],
                style={"display": "flex", "alignItems": "baseline", "padding": "8px 10px"},
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
        ],
        style={"fontFamily": "system-ui, sans-serif", "fontSize": "14px"},
    )
