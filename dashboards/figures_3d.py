"""The 3-D front: area, latency and accuracy (or energy, in a simulate-only study).

Like the 2-D fronts: designs over budget are drawn grey (not dropped), the
colour choice applies on the study's fixed scale, front designs are large and
solid, and the last trace is the selection ring.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from codesign.study.pareto import non_dominated

from .figures import (
    GREY,
    RING,
    TEMPLATE,
    ColourSpec,
    axis_title,
    colour_marker,
    colour_spec,
    plain,
    shown,
    use_log,
)

__all__ = ["Front3DInfo", "plot_front_3d"]


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
    within_budget: np.ndarray | None = None
    colour: ColourSpec | None = None
    colour_values: np.ndarray | None = None
    selected: tuple = ()
    title: str = ""


def _get_front_3d_info(
    frame: pd.DataFrame,
    within_budget: np.ndarray | None = None,
    z_col: str = "accuracy",
    maximize: tuple[bool, bool, bool] | None = None,
    color_by: str | ColourSpec | None = None,
    selected=(),
    title: str = "",
) -> Front3DInfo:
    """Numbers of the area / latency / ``z_col`` view; the front is over rows within budget.

    ``maximize``: directions of (z, area, latency); default: accuracy up, the rest down.
    """
    n = len(frame)
    budget = np.ones(n, dtype=bool) if within_budget is None else np.asarray(within_budget, bool)
    if maximize is None:
        maximize = (z_col == "accuracy", False, False)
    x, y, z = shown(frame, "area_mm2"), shown(frame, "latency_us"), shown(frame, z_col)
    on_front = np.zeros(n, dtype=bool)
    if budget.any():
        pts = np.column_stack([z[budget], x[budget], y[budget]])
        on_front[np.flatnonzero(budget)[non_dominated(pts, list(maximize))]] = True
    spec = color_by if isinstance(color_by, ColourSpec) else colour_spec(frame, color_by)
    if selected is None:
        selected = ()
    elif not isinstance(selected, list | tuple):
        selected = (selected,)
    return Front3DInfo(
        x=x,
        y=y,
        z=z,
        trials=frame["trial"].to_numpy(),
        methods=frame["method"].to_numpy().astype(str),
        on_front=on_front,
        log_x=use_log(x),
        log_y=use_log(y),
        z_col=z_col,
        log_z=z_col != "accuracy" and use_log(z),
        within_budget=budget,
        colour=spec,
        colour_values=spec.values(frame) if spec is not None else None,
        selected=tuple(int(s) for s in selected),
        title=title,
    )


def _symbols_3d(methods: np.ndarray) -> list:
    return ["square" if m == "binary" else "diamond" if m == "ternary" else "circle"
            for m in methods]  # fmt: skip


def plot_front_3d(info: Front3DInfo) -> go.Figure:
    """Draw a :class:`Front3DInfo`: over-budget grey, dominated faded, front solid, ring last."""
    z_title = axis_title(info.z_col)
    z_name, z_unit = z_title.split(" (")[0].lower(), z_title.split("(")[-1].rstrip(")")
    hover = ("trial %{customdata} (%{text})<br>area %{x:.4g} mm²<br>latency %{y:.4g} µs<br>"
             + f"{z_name} %{{z:.4g}} {z_unit}<extra></extra>")  # fmt: skip
    budget = info.within_budget if info.within_budget is not None else np.ones(len(info.x), bool)
    traces = []
    parts = (
        ("over budget", ~budget, 0.5, 3, None),
        ("dominated", budget & ~info.on_front, 0.35, 3, info.colour),
        ("Pareto front", budget & info.on_front, 1.0, 6, info.colour),
    )
    for name, mask, opacity, size, spec in parts:
        idx = np.flatnonzero(mask)
        if not len(idx) and name == "over budget":
            continue
        if spec is None:
            colour = {"color": GREY if name == "over budget" else "#1f77b4"}
            if name == "dominated":
                colour = {"color": "#7f7f7f"}
        else:
            colour = colour_marker(spec, info.colour_values, idx, name == "Pareto front")
        traces.append(
            {
                "type": "scatter3d",
                "x": info.x[idx],
                "y": info.y[idx],
                "z": info.z[idx],
                "mode": "markers",
                "name": name,
                "customdata": info.trials[idx].tolist(),  # a list: Dash drops typed arrays
                "text": [plain(m) for m in info.methods[idx]],
                "hovertemplate": hover,
                "marker": {"size": size, "opacity": opacity, "symbol": _symbols_3d(
                    info.methods[idx]), **colour},
            }
        )  # fmt: skip
    sel = np.flatnonzero(np.isin(info.trials, list(info.selected)))
    traces.append(
        {
            "type": "scatter3d",
            "x": info.x[sel],
            "y": info.y[sel],
            "z": info.z[sel],
            "mode": "markers",
            "name": "selected",
            "showlegend": False,
            "hoverinfo": "skip",
            "marker": {"symbol": "circle-open", "size": 12, "color": RING, "line": {"width": 3}},
        }
    )
    log = {"type": "log", "dtick": 1}  # ticks at powers of ten only: 3-D labels crowd
    scene = {
        "xaxis": {"title": {"text": axis_title("area_mm2")}, **(log if info.log_x else {})},
        "yaxis": {"title": {"text": axis_title("latency_us")}, **(log if info.log_y else {})},
        "zaxis": {"title": {"text": z_title}, **(log if info.log_z else {})},
        "domain": {"x": [0, 1], "y": [0.02, 1]},
        "aspectmode": "cube",
    }
    layout = {
        "title": {"text": info.title, "font": {"size": 14}, "x": 0.01},
        "scene": scene,
        "margin": {"l": 0, "r": 0, "t": 40, "b": 0},
        "legend": {"orientation": "h", "y": 1.0, "x": 0.5, "xanchor": "center"},
        "uirevision": "3d" if info.z_col == "accuracy" else f"3d-{info.z_col}",
        "template": TEMPLATE,
    }
    return go.Figure(data=traces, layout=layout, _validate=False)
