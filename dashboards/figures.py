"""Pareto-front figures: ``_get_*_info`` computes the numbers, ``plot_*`` only draws.

Accuracy is maximized; area, latency and energy are minimized (a study's own
directions are passed in as ``maximize``). Accuracy is shown in percent, area
in mm^2, latency in us, energy in uJ.

A study with accuracy gets the :data:`ACCURACY_VIEWS` (accuracy against area,
latency, energy; 3-D accuracy, area, latency); a simulate-only study, whose
accuracy is null, gets the :data:`HARDWARE_VIEWS` (the hardware trade-offs).
Each view's front is over the quantities it draws.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio

from codesign.study.pareto import front_order, non_dominated

__all__ = [
    "ACCURACY_VIEWS",
    "AXES",
    "HARDWARE_VIEWS",
    "View",
    "Front3DInfo",
    "FrontInfo",
    "apply_budgets",
    "plot_front",
    "plot_front_3d",
    "use_log",
    "view_for",
    "views_for",
]

#: column -> (axis title with unit, factor from the stored unit to the shown one)
AXES = {
    "accuracy": ("Accuracy (%)", 100.0),
    "area_mm2": ("Area (mm²)", 1.0),
    "latency_us": ("Latency (µs)", 1.0),
    "energy_uj": ("Energy (µJ)", 1.0),
    "sparsity": ("Sparsity (%)", 100.0),
    "size_kib": ("Model size (KiB)", 1.0),
    "cycles": ("Cycles", 1.0),
}
#: baseline methods and their marker symbols; every other method is a circle
SYMBOLS = {"binary": "square", "ternary": "diamond"}
_TEMPLATE = pio.templates["plotly_white"].to_plotly_json()  # a plain dict: no validation
LOG_SPAN = 20.0  # an axis whose positive values span more than this ratio goes log
FADED, FRONT_LINE, GREY = 0.25, "#222222", "#c8c8c8"
FADED_SCALE = 0.5  # dominated points on a colour scale: Viridis' light end vanishes at 0.25
PALETTE = [
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
    "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf",
]  # fmt: skip


class View(NamedTuple):
    """One tab: ``value`` (the tab id), ``label``, and the columns drawn on x, y (and z)."""

    value: str
    label: str
    x: str
    y: str
    z: str | None = None

    @property
    def cols(self) -> list[str]:
        """The columns the view's front is computed over (the y axis first)."""
        if self.z is None:
            return [self.y, self.x]
        return [self.z, self.x, self.y]


ACCURACY_VIEWS = (
    View("area_mm2", "Accuracy vs area", "area_mm2", "accuracy"),
    View("latency_us", "Accuracy vs latency", "latency_us", "accuracy"),
    View("energy_uj", "Accuracy vs energy", "energy_uj", "accuracy"),
    View("3d", "3-D: accuracy, area, latency", "area_mm2", "latency_us", "accuracy"),
)
HARDWARE_VIEWS = (
    View("latency_us-vs-area_mm2", "Latency vs area", "area_mm2", "latency_us"),
    View("energy_uj-vs-area_mm2", "Energy vs area", "area_mm2", "energy_uj"),
    View("energy_uj-vs-latency_us", "Energy vs latency", "latency_us", "energy_uj"),
    View("3d", "3-D: area, latency, energy", "area_mm2", "latency_us", "energy_uj"),
)


def views_for(has_accuracy: bool) -> tuple[View, ...]:
    """The tabs of a study with accuracy, or of a simulate-only (hardware) study."""
    return ACCURACY_VIEWS if has_accuracy else HARDWARE_VIEWS


def view_for(tab, has_accuracy: bool) -> View:
    """The view of tab value ``tab``; the first view when ``tab`` is not one of them.

    >>> view_for("energy_uj", True).y, view_for("energy_uj", False).label
    ('accuracy', 'Latency vs area')
    """
    views = views_for(has_accuracy)
    return next((v for v in views if v.value == tab), views[0])


def use_log(values) -> bool:
    """True when all values are positive and span more than :data:`LOG_SPAN` times.

    >>> use_log([1.0, 30.0]), use_log([1.0, 10.0]), use_log([0.0, 100.0])
    (True, False, False)
    """
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    return bool(len(v) and v.min() > 0 and v.max() / v.min() > LOG_SPAN)


def apply_budgets(frame: pd.DataFrame, max_area_mm2=None, max_latency_us=None) -> np.ndarray:
    """Mask of rows within the budgets (``None`` means no budget)."""
    ok = np.ones(len(frame), dtype=bool)
    if max_area_mm2 is not None:
        ok &= frame["area_mm2"].to_numpy() <= float(max_area_mm2)
    if max_latency_us is not None:
        ok &= frame["latency_us"].to_numpy() <= float(max_latency_us)
    return ok


def _title(col: str) -> str:
    return AXES.get(col, (col, 1.0))[0]


def _shown(frame: pd.DataFrame, col: str) -> np.ndarray:
    return frame[col].to_numpy(dtype=float) * AXES.get(col, (col, 1.0))[1]


class FrontInfo(NamedTuple):
    """A 2-D front of ``y_col`` (accuracy in %, by default) against ``x_col``, in shown units."""

    x_col: str
    x_title: str
    y_title: str
    x: np.ndarray
    y: np.ndarray
    trials: np.ndarray  # trial numbers
    methods: np.ndarray
    within_budget: np.ndarray  # bool
    on_front: np.ndarray  # bool: non-dominated among the rows within budget
    step_x: np.ndarray  # the front's points in x order (its step line)
    step_y: np.ndarray
    color_name: str | None
    color: np.ndarray | None
    color_is_numeric: bool
    log_x: bool
    log_y: bool
    selected: int | None
    y_col: str = "accuracy"


def _get_front_info(
    frame: pd.DataFrame,
    x_col: str,
    within_budget: np.ndarray | None = None,
    color_by: str | None = None,
    selected: int | None = None,
    y_col: str = "accuracy",
    maximize: tuple[bool, bool] | None = None,
) -> FrontInfo:
    """Numbers of the ``y_col``-versus-``x_col`` front over the rows of ``frame``.

    ``maximize``: directions of (y, x); default: accuracy up, everything else down.
    """
    n = len(frame)
    budget = np.ones(n, dtype=bool) if within_budget is None else np.asarray(within_budget)
    if maximize is None:
        maximize = (y_col == "accuracy", x_col == "accuracy")
    x, y = _shown(frame, x_col), _shown(frame, y_col)
    on_front = np.zeros(n, dtype=bool)
    if budget.any():
        pts = np.column_stack([y[budget], x[budget]])
        on_front[np.flatnonzero(budget)[non_dominated(pts, list(maximize))]] = True
    order = front_order(x, on_front)
    color, numeric = None, False
    if color_by and color_by in frame.columns:
        color = frame[color_by].to_numpy()
        numeric = pd.api.types.is_numeric_dtype(frame[color_by]) and not pd.api.types.is_bool_dtype(
            frame[color_by]
        )
        if numeric:
            color = color.astype(float) * AXES.get(color_by, (color_by, 1.0))[1]
        else:
            color = color.astype(str)
    return FrontInfo(
        x_col=x_col,
        x_title=_title(x_col),
        y_title=_title(y_col),
        x=x,
        y=y,
        trials=frame["trial"].to_numpy(),
        methods=frame["method"].to_numpy().astype(str),
        within_budget=budget,
        on_front=on_front,
        step_x=x[order],
        step_y=y[order],
        color_name=color_by if color is not None else None,
        color=color,
        color_is_numeric=bool(numeric),
        log_x=use_log(x),
        log_y=use_log(y),
        selected=selected,
        y_col=y_col,
    )


def _hovertemplate(x_title: str, y_title: str) -> str:
    return (
        "trial %{customdata} (%{text})<br>" + x_title + ": %{x:.4g}<br>" + y_title + ": %{y:.4g}"
        "<extra>%{fullData.name}</extra>"
    )


def _symbols(methods: np.ndarray) -> np.ndarray:
    out = np.full(len(methods), "circle", dtype=object)
    for method, symbol in SYMBOLS.items():
        out[methods == method] = symbol
    return out


def _points(info: FrontInfo, idx: np.ndarray, name: str, marker: dict, webgl: bool) -> dict:
    return {
        "type": "scattergl" if webgl else "scatter",
        "x": info.x[idx],
        "y": info.y[idx],
        "mode": "markers",
        "name": name,
        "customdata": info.trials[
            idx
        ].tolist(),  # a JSON list: Dash drops typed arrays from clickData
        "text": info.methods[idx],
        "hovertemplate": _hovertemplate(info.x_title, info.y_title),
        "marker": marker,
    }


def plot_front(info: FrontInfo, webgl: bool = False) -> go.Figure:
    """Draw a :class:`FrontInfo`: faded dominated points, highlighted front, its step line.

    Built from plain dicts with Plotly's validation off (validating 10,000
    per-point symbols alone takes 0.3 s); tests re-validate small figures.
    """
    traces = []
    out = np.flatnonzero(~info.within_budget)
    if len(out):
        marker = {"color": GREY, "size": 6, "symbol": _symbols(info.methods[out])}
        traces.append(_points(info, out, "over budget", marker, webgl))
    inside = np.flatnonzero(info.within_budget)
    if info.color is not None and not info.color_is_numeric:
        groups = [(str(c), inside[info.color[inside] == c]) for c in np.unique(info.color[inside])]
    else:
        groups = [("designs", inside)]
    for k, (name, idx) in enumerate(groups):
        front = info.on_front[idx]
        marker = {
            "size": np.where(front, 10, 7),
            "symbol": _symbols(info.methods[idx]),
            "opacity": np.where(front, 1.0, FADED_SCALE if info.color_is_numeric else FADED),
            "line": {"width": np.where(front, 1.5, 0.0), "color": FRONT_LINE},
        }
        if info.color is None:
            marker["color"] = PALETTE[0]
        elif info.color_is_numeric:
            marker.update(
                color=info.color[idx],
                colorscale="Viridis",
                showscale=True,
                colorbar={"title": {"text": info.color_name}},
            )
        else:
            marker["color"] = PALETTE[k % len(PALETTE)]
        if webgl:  # WebGL markers take one opacity and line width per trace
            marker["opacity"], marker["line"] = 0.8, {"width": 0}
        traces.append(_points(info, idx, name if info.color_name else "designs", marker, webgl))
    if len(info.step_x):
        traces.append(
            {
                "type": "scatter",
                "x": info.step_x,
                "y": info.step_y,
                "mode": "lines",
                "line": {"shape": "hv", "color": FRONT_LINE, "width": 2},
                "name": "Pareto front",
                "hoverinfo": "skip",
            }
        )
    for method, symbol in SYMBOLS.items():  # legend entries for the baseline symbols
        if (info.methods == method).any():
            traces.append(
                {
                    "type": "scatter",
                    "x": [None],
                    "y": [None],
                    "mode": "markers",
                    "name": f"dense {method} baseline",
                    "marker": {"symbol": symbol, "color": "#555555", "size": 9},
                }
            )
    if info.selected is not None:
        sel = np.flatnonzero(info.trials == info.selected)
        if len(sel):
            marker = {"symbol": "circle-open", "size": 18, "color": "#d62728", "line": {"width": 3}}
            trace = _points(info, sel, f"trial {info.selected}", marker, False)
            traces.append({**trace, "hoverinfo": "skip", "hovertemplate": None})
    layout = {
        "xaxis": {"title": {"text": info.x_title}, "type": "log" if info.log_x else "linear"},
        "yaxis": {"title": {"text": info.y_title}, "type": "log" if info.log_y else "linear"},
        "margin": {"l": 60, "r": 20, "t": 30, "b": 50},
        "legend": {"orientation": "h", "y": -0.18},
        "clickmode": "event",  # a click opens the design; box/lasso select to compare
        "uirevision": info.x_col if info.y_col == "accuracy" else f"{info.y_col}-vs-{info.x_col}",
        "template": _TEMPLATE,
    }
    return go.Figure(data=traces, layout=layout, _validate=False)


class Front3DInfo(NamedTuple):
    """Three quantities with their 3-objective front, in shown units: by default area (x,
    mm^2), latency (y, us) and accuracy (z, %); a hardware study has energy (uJ) on z."""

    x: np.ndarray  # area
    y: np.ndarray  # latency
    z: np.ndarray  # accuracy (or energy)
    trials: np.ndarray
    methods: np.ndarray
    on_front: np.ndarray
    log_x: bool
    log_y: bool
    z_col: str = "accuracy"
    log_z: bool = False


def _get_front_3d_info(
    frame: pd.DataFrame,
    within_budget: np.ndarray | None = None,
    z_col: str = "accuracy",
    maximize: tuple[bool, bool, bool] | None = None,
):
    """Numbers of the area / latency / ``z_col`` view; the front is over rows within budget.

    ``maximize``: directions of (z, area, latency); default: accuracy up, the rest down.
    """
    n = len(frame)
    budget = np.ones(n, dtype=bool) if within_budget is None else np.asarray(within_budget)
    if maximize is None:
        maximize = (z_col == "accuracy", False, False)
    x, y, z = _shown(frame, "area_mm2"), _shown(frame, "latency_us"), _shown(frame, z_col)
    on_front = np.zeros(n, dtype=bool)
    if budget.any():
        pts = np.column_stack([z[budget], x[budget], y[budget]])
        on_front[np.flatnonzero(budget)[non_dominated(pts, list(maximize))]] = True
    keep = budget
    return Front3DInfo(
        x=x[keep],
        y=y[keep],
        z=z[keep],
        trials=frame["trial"].to_numpy()[keep],
        methods=frame["method"].to_numpy().astype(str)[keep],
        on_front=on_front[keep],
        log_x=use_log(x),
        log_y=use_log(y),
        z_col=z_col,
        log_z=z_col != "accuracy" and use_log(z),
    )


def plot_front_3d(info: Front3DInfo) -> go.Figure:
    """Draw a :class:`Front3DInfo`: front points solid, dominated points faded."""
    traces = []
    z_title = _title(info.z_col)
    z_name, z_unit = z_title.split(" (")[0].lower(), z_title.split("(")[-1].rstrip(")")
    z_hover = f"{z_name} %{{z:.4g}} {z_unit}"
    for name, mask, opacity, size, colour in (
        ("dominated", ~info.on_front, FADED, 3, "#7f7f7f"),
        ("Pareto front", info.on_front, 1.0, 5, PALETTE[0]),
    ):
        idx = np.flatnonzero(mask)
        traces.append(
            {
                "type": "scatter3d",
                "x": info.x[idx],
                "y": info.y[idx],
                "z": info.z[idx],
                "mode": "markers",
                "name": name,
                "customdata": info.trials[
                    idx
                ].tolist(),  # a JSON list: Dash drops typed arrays from clickData
                "text": info.methods[idx],
                "hovertemplate": "trial %{customdata} (%{text})<br>area %{x:.4g} mm²"
                "<br>latency %{y:.4g} µs<br>" + z_hover + "<extra></extra>",
                "marker": {
                    "size": size,
                    "opacity": opacity,
                    "color": colour,
                    "symbol": _symbols(info.methods[idx]),
                },
            }
        )
    log = {"type": "log", "dtick": 1}  # ticks at powers of ten only: 3-D labels crowd
    scene = {
        "xaxis": {"title": {"text": _title("area_mm2")}, **(log if info.log_x else {})},
        "yaxis": {"title": {"text": _title("latency_us")}, **(log if info.log_y else {})},
        "zaxis": {"title": {"text": z_title}, **(log if info.log_z else {})},
    }
    layout = {
        "scene": scene,
        "margin": {"l": 0, "r": 0, "t": 30, "b": 0},
        "uirevision": "3d" if info.z_col == "accuracy" else f"3d-{info.z_col}",
        "template": _TEMPLATE,
    }
    return go.Figure(data=traces, layout=layout, _validate=False)
