# Over 400 lines: the views, the study-wide colours and the marker grouping are the 2-D
# front's own inputs, read together with it; the 3-D front, which borrows them, is apart.
"""Pareto-front figures: ``_get_*_info`` computes the numbers, ``plot_*`` only draws.

Accuracy is maximized; area, latency and energy are minimized (a study's own
directions are passed in as ``maximize``). Accuracy is shown in percent, area
in mm^2, latency in us (steady state: weights resident), energy in uJ.

A study with accuracy gets the :data:`ACCURACY_VIEWS`; a simulate-only study
gets the :data:`HARDWARE_VIEWS`. Each view's front is over the quantities it draws.

Designs that land on one point (same x, y, method, colour and budget state,
e.g. baselines trained once whatever the regularizer) are drawn as one marker
whose hover counts them and lists their knobs; ``customdata`` is
``[first trial, count, "all trial numbers"]``. Colours are fixed per study
(:func:`colour_spec` over the whole study, not the filtered rows).
"""

from __future__ import annotations

import html
from typing import NamedTuple

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio

from codesign.study import METRIC_LABELS
from codesign.study.pareto import front_order, non_dominated

__all__ = [
    "ACCURACY_VIEWS",
    "AXES",
    "HARDWARE_VIEWS",
    "ColourSpec",
    "FrontInfo",
    "View",
    "colour_spec",
    "plain",
    "plot_front",
    "use_log",
    "view_for",
    "views_for",
]

#: column -> (axis title with unit, factor from the stored unit to the shown one); the
#: contract's metric names with the units a person reads on an axis
AXES = {
    "accuracy": ("Test accuracy (%)", 100.0),
    "area_mm2": ("Area (mm²)", 1.0),
    "latency_us": ("Latency, steady state (µs)", 1.0),
    "energy_uj": ("Energy, steady state (µJ)", 1.0),
    "sparsity": ("Sparsity (%)", 100.0),
    "size_kib": ("Weight storage (KiB)", 1.0),
    "cycles": ("Cycles", 1.0),
}
assert set(AXES) == set(METRIC_LABELS)  # every metric of the contract has an axis
#: baseline methods and their marker symbols; every other method is a circle
SYMBOLS = {"binary": "square", "ternary": "diamond"}
TEMPLATE = pio.templates["plotly_white"].to_plotly_json()  # a plain dict: no validation
LOG_SPAN = 20.0  # an axis whose positive values span more than this ratio goes log
FADED, FRONT_LINE, GREY, RING = 0.3, "#222222", "#c8c8c8", "#d62728"
PALETTE = [
    "#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b",
    "#e377c2", "#17becf", "#bcbd22", "#7f7f7f", "#d62728",
]  # fmt: skip
MAX_LISTED = 12  # trial numbers listed in a stacked marker's hover


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


def plain(text) -> str:
    """``text`` (from a study: its name, a method, a knob, a value) as Plotly draws it
    verbatim. Plotly reads ``<a href>``, ``<br>``, ``<b>`` ... as markup in every title,
    label and hover text, and shows ``&lt;`` ``&gt;`` ``&amp;`` as the characters.

    >>> plain("<a href='https://x'>a & b</a>")
    "&lt;a href='https://x'&gt;a &amp; b&lt;/a&gt;"
    """
    return html.escape(str(text), quote=False)


def axis_title(col: str) -> str:
    """The axis title of a metric (with its unit), or the column's name as text."""
    return AXES[col][0] if col in AXES else plain(col)


def shown(frame: pd.DataFrame, col: str) -> np.ndarray:
    return frame[col].to_numpy(dtype=float) * AXES.get(col, (col, 1.0))[1]


# -- colours ------------------------------------------------------------------------------------
class ColourSpec(NamedTuple):
    """How one column is coloured, fixed over the whole study.

    Categorical: ``categories`` maps each value (as text) to a colour, in sorted
    order. Numeric: a Viridis scale from ``cmin`` to ``cmax`` (shown units), over
    log2 of the values when they are all powers of two (``log2``; PE counts, widths).
    """

    col: str
    numeric: bool
    categories: dict
    cmin: float = 0.0
    cmax: float = 1.0
    log2: bool = False
    ticks: tuple = ()  # the distinct values, for a log2 colour bar

    def values(self, frame: pd.DataFrame) -> np.ndarray:
        """The colour value of each row: text, or a number (log2 when ``log2``)."""
        if not self.numeric:
            return frame[self.col].astype(str).to_numpy()
        v = shown(frame, self.col)
        if self.log2:
            with np.errstate(divide="ignore", invalid="ignore"):
                v = np.log2(v)
        return v


def _powers_of_two(v: np.ndarray) -> bool:
    v = v[np.isfinite(v)]
    if len(v) == 0 or (v <= 0).any() or len(np.unique(v)) < 3:
        return False
    e = np.log2(v)
    return bool(np.allclose(e, np.round(e)))


def colour_spec(frame: pd.DataFrame, col: str | None) -> ColourSpec | None:
    """The colours of ``col`` over every row of ``frame`` (the whole study), or None.

    >>> colour_spec(pd.DataFrame({"m": ["b", "a"]}), "m").categories
    {'a': '#1f77b4', 'b': '#ff7f0e'}
    >>> s = colour_spec(pd.DataFrame({"hw.n_pe": [4, 16, 64]}), "hw.n_pe")
    >>> s.log2, s.cmin, s.cmax
    (True, 2.0, 6.0)
    """
    if not col or col not in frame:
        return None
    values = frame[col]
    numeric = pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values)
    if not numeric:
        cats = sorted(values.dropna().astype(str).unique().tolist())
        return ColourSpec(col, False, {c: PALETTE[i % len(PALETTE)] for i, c in enumerate(cats)})
    v = shown(frame, col)
    finite = v[np.isfinite(v)]
    if not len(finite):
        return None
    log2 = _powers_of_two(finite)
    scaled = np.log2(finite) if log2 else finite
    lo, hi = float(scaled.min()), float(scaled.max())
    ticks = tuple(float(t) for t in np.unique(finite)) if log2 else ()
    return ColourSpec(col, True, {}, lo, hi if hi > lo else lo + 1.0, log2, ticks)


# -- the 2-D front ------------------------------------------------------------------------------
class FrontInfo(NamedTuple):
    """A 2-D front of ``y_col`` against ``x_col`` in shown units, one entry per *marker*.

    A marker stands for the designs that land on one point (``members``: their
    trial numbers, ``trials``: the first of them).
    """

    x_col: str
    x_title: str
    y_title: str
    x: np.ndarray
    y: np.ndarray
    trials: np.ndarray  # the first trial number of each marker
    members: list  # every trial number of each marker
    methods: np.ndarray
    within_budget: np.ndarray  # bool
    on_front: np.ndarray  # bool: non-dominated among the designs within budget
    step_x: np.ndarray  # the front's points in x order (its step line)
    step_y: np.ndarray
    colour: ColourSpec | None
    colour_values: np.ndarray | None
    hover: list  # one text per marker
    log_x: bool
    log_y: bool
    selected: tuple  # trial numbers to ring
    y_col: str = "accuracy"
    n_designs: int = 0  # rows drawn (trials), against len(x) markers
    title: str = ""


def _fmt(v) -> str:
    if isinstance(v, float | np.floating):
        return f"{float(v):.4g}"
    return str(v)


def _knob_text(columns: dict, idx: np.ndarray) -> str:
    """Each knob's value over the rows ``idx`` (``columns``: knob -> object array): one value,
    or the distinct values joined by ``|``."""
    lines = []
    for k, column in columns.items():
        vals = list(dict.fromkeys(column[idx].tolist()))
        lines.append(f"{plain(k)} = {plain(_fmt(vals[0]))}" if len(vals) == 1
                     else f"{plain(k)}: " + " | ".join(plain(_fmt(v)) for v in vals[:6]))  # fmt: skip
    return "<br>".join(lines)


def group_rows(keys: list[np.ndarray]) -> list[np.ndarray]:
    """Row indices grouped by equal values across ``keys`` (first-seen order).

    >>> [g.tolist() for g in group_rows([np.array([1.0, 2.0, 1.0]), np.array(["a", "a", "a"])])]
    [[0, 2], [1]]
    """
    if not keys or not len(keys[0]):
        return []
    frame = pd.DataFrame({f"k{i}": k for i, k in enumerate(keys)})
    codes = frame.groupby(list(frame.columns), sort=False, dropna=False).ngroup().to_numpy()
    order = np.argsort(codes, kind="stable")
    bounds = np.flatnonzero(np.diff(codes[order])) + 1
    return np.split(order, bounds)


def _get_front_info(
    frame: pd.DataFrame,
    x_col: str,
    within_budget: np.ndarray | None = None,
    color_by: str | ColourSpec | None = None,
    selected=None,
    y_col: str = "accuracy",
    maximize: tuple[bool, bool] | None = None,
    knobs=(),
    title: str = "",
) -> FrontInfo:
    """Numbers of the ``y_col``-versus-``x_col`` front over the rows of ``frame``.

    ``maximize``: directions of (y, x); default: accuracy up, everything else down.
    ``color_by``: a column (coloured over ``frame`` alone) or a study-wide
    :class:`ColourSpec`. ``knobs``: the columns listed in each marker's hover.
    """
    n = len(frame)
    budget = np.ones(n, dtype=bool) if within_budget is None else np.asarray(within_budget, bool)
    if maximize is None:
        maximize = (y_col == "accuracy", x_col == "accuracy")
    x, y = shown(frame, x_col), shown(frame, y_col)
    on_front = np.zeros(n, dtype=bool)
    if budget.any():
        pts = np.column_stack([y[budget], x[budget]])
        on_front[np.flatnonzero(budget)[non_dominated(pts, list(maximize))]] = True
    order = front_order(x, on_front)
    spec = color_by if isinstance(color_by, ColourSpec) else colour_spec(frame, color_by)
    colours = spec.values(frame) if spec is not None else None
    methods = frame["method"].to_numpy().astype(str)
    trials = frame["trial"].to_numpy()
    keys = [x, y, methods, budget]
    if colours is not None:
        keys.append(colours)
    groups = group_rows(keys)
    first = np.array([g[0] for g in groups], dtype=int)
    members = [trials[g].tolist() for g in groups]
    columns = {k: frame[k].to_numpy(dtype=object) for k in knobs if k in frame}
    hover = []
    for g, m in zip(groups, members, strict=True):
        listed = ", ".join(str(t) for t in m[:MAX_LISTED]) + (" ..." if len(m) > MAX_LISTED else "")
        head = f"trial {m[0]}" if len(m) == 1 else f"{len(m)} trials: {listed}"
        hover.append(f"{head} ({plain(methods[g[0]])})<br>{_knob_text(columns, g)}")
    if selected is None:
        selected = ()
    elif not isinstance(selected, list | tuple):
        selected = (selected,)
    return FrontInfo(
        x_col=x_col,
        x_title=axis_title(x_col),
        y_title=axis_title(y_col),
        x=x[first],
        y=y[first],
        trials=trials[first],
        members=members,
        methods=methods[first],
        within_budget=budget[first],
        on_front=np.array([on_front[g].any() for g in groups], dtype=bool),
        step_x=x[order],
        step_y=y[order],
        colour=spec,
        colour_values=None if colours is None else colours[first],
        hover=hover,
        log_x=use_log(x),
        log_y=use_log(y),
        selected=tuple(int(s) for s in selected),
        y_col=y_col,
        n_designs=n,
        title=title,
    )


def _customdata(info, idx: np.ndarray) -> list:
    """``[first trial, count, "trial numbers"]`` per marker (a JSON list: Dash drops typed arrays
    from clickData)."""
    return [
        [int(info.trials[i]), len(info.members[i]), " ".join(map(str, info.members[i]))]
        for i in idx
    ]


def _symbols(methods: np.ndarray) -> np.ndarray:
    out = np.full(len(methods), "circle", dtype=object)
    for method, symbol in SYMBOLS.items():
        out[methods == method] = symbol
    return out


def _hovertemplate(x_title: str, y_title: str) -> str:
    return "%{hovertext}<br>" + x_title + ": %{x:.4g}<br>" + y_title + ": %{y:.4g}<extra></extra>"


def colour_marker(spec: ColourSpec | None, values, idx, showscale: bool) -> dict:
    """Marker colour settings for the rows ``idx``, on the study's fixed scale."""
    if spec is None:
        return {"color": PALETTE[0]}
    if not spec.numeric:
        return {"color": [spec.categories.get(v, GREY) for v in values[idx]]}
    bar = {"title": {"text": plain(spec.col) + (" (log2 scale)" if spec.log2 else "")}}
    if spec.log2:
        bar.update(tickvals=np.log2(spec.ticks).tolist(), ticktext=[_fmt(t) for t in spec.ticks])
    return {
        "color": values[idx],
        "colorscale": "Viridis",
        "cmin": spec.cmin,
        "cmax": spec.cmax,
        "showscale": showscale,
        "colorbar": bar,
    }


def _points(info: FrontInfo, idx, name: str, marker: dict, webgl: bool, **extra) -> dict:
    return {
        "type": "scattergl" if webgl else "scatter",
        "x": info.x[idx],
        "y": info.y[idx],
        "mode": "markers",
        "name": name,
        "customdata": _customdata(info, idx),
        "hovertext": [info.hover[i] for i in idx],
        "hovertemplate": _hovertemplate(info.x_title, info.y_title),
        "marker": marker,
        **extra,
    }


def selection_trace(info: FrontInfo, webgl: bool = False) -> dict:
    """The ring around the selected designs: always the figure's last trace, so the page can
    move it in the browser (``Plotly.restyle``) without the server redrawing the front."""
    idx = [i for i, m in enumerate(info.members) if any(t in info.selected for t in m)]
    return {
        "type": "scattergl" if webgl else "scatter",
        "x": info.x[idx],
        "y": info.y[idx],
        "mode": "markers",
        "name": "selected",
        "showlegend": False,
        "hoverinfo": "skip",
        "marker": {"symbol": "circle-open", "size": 20, "color": RING, "line": {"width": 3}},
    }


def _axis(title: str, log: bool) -> dict:
    """A 2-D front's axis. Fixed margins (``automargin`` off, which plotly_white turns on):
    with it, Plotly draws the whole figure a second time once it has measured the tick labels,
    on every draw (about 0.1 s of the first render and of each filter); the margins leave room
    for the short numeric labels of the metrics."""
    return {"title": {"text": title}, "type": "log" if log else "linear", "automargin": False}


def plot_front(info: FrontInfo, webgl: bool = False) -> go.Figure:
    """Draw a :class:`FrontInfo`: grey over-budget designs, faded dominated ones, front
    designs large with a dark outline (their own traces, so they stand out with WebGL
    too), the front's step line, and the selection ring (last trace).

    Built from plain dicts with Plotly's validation off (validating 10,000
    per-point symbols alone takes 0.3 s); tests re-validate small figures.
    """
    traces = []
    out = np.flatnonzero(~info.within_budget)
    if len(out):
        marker = {"color": GREY, "size": 6, "symbol": _symbols(info.methods[out])}
        traces.append(_points(info, out, "over budget", marker, webgl))
    inside = np.flatnonzero(info.within_budget)
    spec, values = info.colour, info.colour_values
    if spec is not None and not spec.numeric:
        groups = [(c, inside[values[inside] == c]) for c in spec.categories]
        groups += [("other", inside[~np.isin(values[inside], list(spec.categories))])]
    else:
        groups = [("designs", inside)]
    scale_shown = False
    for name, idx in groups:
        if not len(idx):
            continue
        for front in (False, True):
            part = idx[info.on_front[idx] == front]
            if not len(part):
                continue
            marker = {
                "size": 11 if front else 7,
                "symbol": _symbols(info.methods[part]),
                "opacity": 1.0 if front else FADED,
                "line": {"width": 1.5 if front else 0.0, "color": FRONT_LINE},
                **colour_marker(spec, values, part, not scale_shown),
            }
            scale_shown = scale_shown or (spec is not None and spec.numeric)
            label = plain(name) if spec is not None else "designs"
            traces.append(
                _points(info, part, label + (" (front)" if front else ""), marker, webgl,
                        legendgroup=label, showlegend=front or not info.on_front[idx].any())
            )  # fmt: skip
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
    traces.append(selection_trace(info, webgl))
    uirev = info.x_col if info.y_col == "accuracy" else f"{info.y_col}-vs-{info.x_col}"
    layout = {
        "title": {"text": info.title, "font": {"size": 14}, "x": 0.01},
        "xaxis": _axis(info.x_title, info.log_x),
        "yaxis": _axis(info.y_title, info.log_y),
        "margin": {"l": 72, "r": 20, "t": 40, "b": 50},
        "legend": {"orientation": "h", "y": -0.18},
        "clickmode": "event",  # a click opens the design; box/lasso select to filter the table
        "uirevision": uirev,
        "template": TEMPLATE,
    }
    return go.Figure(data=traces, layout=layout, _validate=False)
