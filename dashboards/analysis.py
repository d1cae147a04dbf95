"""Study-wide views below the front: parallel coordinates, history and hypervolume, knob
importance and knob-versus-metric slices. ``_get_*_info`` numbers, ``plot_*`` drawings.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from .figures import AXES, TEMPLATE, axis_title, plain, shown, use_log

__all__ = [
    "HistoryInfo",
    "hypervolume_2d",
    "importances",
    "plot_history",
    "plot_parallel",
    "plot_slices",
]


def _as_text(values: pd.Series) -> pd.Series:
    """A knob's values as text, ``"(none)"`` where a trial has none: the knob is not set in
    it, or set to ``None`` (an Optuna choice; the frame reads both as missing, and pandas
    keeps missing values through ``astype(str)``, which ``sorted`` then fails to compare).

    >>> _as_text(pd.Series(["a", None, float("nan"), 3])).tolist()
    ['a', '(none)', '(none)', '3']
    """
    return values.map(lambda v: "(none)" if v is None or v != v else str(v))


# -- parallel coordinates -----------------------------------------------------------------------
MAX_LINES = 3000  # parallel coordinates draw at most this many lines (front and ticked first)


def plot_parallel(frame: pd.DataFrame, knobs, metrics, on_front, selected=()) -> go.Figure:
    """One line per distinct design over its knobs and metrics; front designs dark, the
    selected red, the rest light. Categorical knobs get one tick per value; wide-ranging
    numbers go log10. Identical designs are one line; above :data:`MAX_LINES` distinct
    ones, the front and ticked designs are kept and the rest thinned evenly."""
    cols = [c for c in (*knobs, *metrics) if c in frame]
    sel = np.isin(frame["trial"].to_numpy(), list(selected or ()))
    rank = np.where(sel, 2, np.where(np.asarray(on_front, bool), 1, 0))
    order = np.argsort(-rank, kind="stable")
    frame, rank = frame.iloc[order], rank[order]
    keep = ~frame[cols].astype(str).duplicated().to_numpy()
    frame, rank = frame[keep], rank[keep]
    if len(frame) > MAX_LINES:
        must = rank > 0
        rest = np.flatnonzero(~must)
        room = max(MAX_LINES - int(must.sum()), 0)
        pick = np.zeros(len(frame), bool)
        pick[must] = True
        pick[rest[np.linspace(0, len(rest) - 1, room).astype(int)] if room else []] = True
        frame, rank = frame[pick], rank[pick]
    dims = []
    for col in (*knobs, *metrics):
        if col not in frame or not frame[col].notna().any():
            continue
        values = frame[col]
        if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
            v = shown(frame, col)
            if use_log(v):
                dims.append({"label": f"log10 {axis_title(col)}", "values": np.log10(v)})
            else:
                dims.append({"label": axis_title(col), "values": v})
        else:
            text = _as_text(values)
            cats = sorted(text.unique().tolist())
            codes = text.map({c: i for i, c in enumerate(cats)}).to_numpy()
            dims.append({"label": plain(col), "values": codes, "tickvals": list(range(len(cats))),
                         "ticktext": [plain(c) for c in cats]})  # fmt: skip
    colour = rank.astype(float)
    trace = {
        "type": "parcoords",
        "dimensions": dims,
        "line": {"color": colour, "cmin": 0, "cmax": 2, "showscale": False,
                 "colorscale": [[0, "#c6dbef"], [0.5, "#08306b"], [1, "#d62728"]]},
    }  # fmt: skip
    layout = {
        "title": {
            "text": "Knobs and metrics of the designs in the table (dark: on the front; "
            "red: ticked)",
            "font": {"size": 13},
            "x": 0.01,
        },  # fmt: skip
        "margin": {"l": 60, "r": 40, "t": 70, "b": 30},
        "template": TEMPLATE,
    }
    return go.Figure(data=[trace], layout=layout, _validate=False)


# -- history and hypervolume --------------------------------------------------------------------
def hypervolume_2d(points: np.ndarray, reference: np.ndarray) -> float:
    """Area dominated by ``points`` (both columns minimized) up to ``reference``.

    >>> hypervolume_2d(np.array([[1.0, 3.0], [2.0, 1.0]]), np.array([4.0, 4.0]))
    7.0
    """
    p = points[(points < reference).all(axis=1)]
    if not len(p):
        return 0.0
    p = p[np.lexsort((p[:, 1], p[:, 0]))]
    area, best_y = 0.0, reference[1]
    for i in range(len(p)):
        x, y = p[i]
        if y < best_y:
            nxt = reference[0]
            area += (nxt - x) * (best_y - y)
            best_y = y
    return float(area)


class HistoryInfo(NamedTuple):
    """Each objective per trial number, its best so far, and the 2-D hypervolume so far."""

    trials: np.ndarray
    values: dict  # objective -> shown values per trial (in trial order)
    best: dict  # objective -> best so far
    hv_objectives: tuple  # the two objectives the hypervolume is over
    hypervolume: np.ndarray  # after each trial (empty with fewer than two objectives)


def _get_history_info(frame: pd.DataFrame, objectives, maximize) -> HistoryInfo:
    """Objectives in trial order; the hypervolume of the first two (minimized after sign
    flips), referred to the worst value of each over the study."""
    frame = frame.sort_values("trial")
    trials = frame["trial"].to_numpy()
    values, best, signed = {}, {}, []
    for obj, up in zip(objectives, maximize, strict=True):
        v = shown(frame, obj)
        values[obj] = v
        best[obj] = np.fmax.accumulate(v) if up else np.fmin.accumulate(v)
        signed.append(-v if up else v)
    hv = np.zeros(0)
    pair = tuple(objectives[:2])
    if len(signed) >= 2:
        pts = np.column_stack(signed[:2])
        ref = np.nanmax(pts, axis=0) + 1e-12 * np.abs(np.nanmax(pts, axis=0)) + 1e-12
        hv = np.zeros(len(pts))
        kept = np.zeros((0, 2))
        for i, p in enumerate(pts):  # the running front stays small: cheap even at 10k
            if np.isfinite(p).all() and not ((kept <= p).all(axis=1)).any():
                kept = np.vstack([kept[~((p <= kept).all(axis=1))], p])
            hv[i] = hypervolume_2d(kept, ref)
    return HistoryInfo(trials, values, best, pair, hv)


def plot_history(info: HistoryInfo) -> go.Figure:
    """One panel per objective (values and best so far), and the hypervolume."""
    panels = list(info.values) + (["hypervolume"] if len(info.hypervolume) else [])
    titles = [axis_title(o) for o in info.values]
    if len(info.hypervolume):
        titles.append("hypervolume of " + " x ".join(info.hv_objectives) + " (sign-flipped)")
    fig = make_subplots(rows=len(panels), cols=1, shared_xaxes=True, subplot_titles=titles)
    for k, obj in enumerate(info.values, start=1):
        fig.add_trace(
            go.Scattergl(
                x=info.trials,
                y=info.values[obj],
                mode="markers",
                marker={"size": 4, "color": "#9ecae1"},
                name=obj,
            ),
            k,
            1,
        )
        fig.add_trace(go.Scatter(x=info.trials, y=info.best[obj], mode="lines",
                                 line={"color": "#08306b"}, name=f"best {obj}"), k, 1)  # fmt: skip
    if len(info.hypervolume):
        fig.add_trace(go.Scatter(x=info.trials, y=info.hypervolume, mode="lines",
                                 name="hypervolume"), len(panels), 1)  # fmt: skip
    fig.update_layout(template="plotly_white", height=220 * len(panels), showlegend=False,
                      margin={"t": 40, "b": 40},
                      title={"text": "History over trial number", "x": 0.01})  # fmt: skip
    fig.update_xaxes(title_text="trial", row=len(panels), col=1)
    return fig


# -- importance and slices ----------------------------------------------------------------------
def importances(frame: pd.DataFrame, knobs, target: str, maximize: bool, seed: int = 0) -> dict:
    """Optuna's fANOVA importance of each knob for ``target`` (shares summing to 1).

    The trials go into an in-memory Optuna study (the frame's params and the
    target as its value), so nothing is written to the user's storage.
    """
    import optuna
    from optuna.distributions import CategoricalDistribution, FloatDistribution
    from optuna.importance import FanovaImportanceEvaluator, get_param_importances
    from optuna.trial import create_trial

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    knobs = [k for k in knobs if k in frame and frame[k].nunique() > 1]
    rows = frame[np.isfinite(frame[target].to_numpy(dtype=float))]
    if not knobs or len(rows) < 2:
        return {}
    dists = {}
    for k in knobs:
        v = rows[k]
        if pd.api.types.is_numeric_dtype(v) and not pd.api.types.is_bool_dtype(v):
            lo, hi = float(v.min()), float(v.max())
            dists[k] = FloatDistribution(lo, hi, log=lo > 0 and hi / lo > 20)
        else:
            dists[k] = CategoricalDistribution(sorted(_as_text(v).unique().tolist()))
    study = optuna.create_study(direction="maximize" if maximize else "minimize")
    cats = [k for k, d in dists.items() if isinstance(d, CategoricalDistribution)]
    rows = rows.assign(**{k: _as_text(rows[k]) for k in cats})
    trials = []
    for _, r in rows.iterrows():
        params = {k: (float(r[k]) if isinstance(d, FloatDistribution) else str(r[k]))
                  for k, d in dists.items()}  # fmt: skip
        trials.append(create_trial(params=params, distributions=dists, value=float(r[target])))
    study.add_trials(trials)
    return dict(get_param_importances(study, evaluator=FanovaImportanceEvaluator(seed=seed)))


def plot_importance(values: dict, target: str) -> go.Figure:
    names = list(values)[::-1]
    fig = go.Figure(go.Bar(x=[values[n] for n in names], y=[plain(n) for n in names],
                           orientation="h"))  # fmt: skip
    fig.update_layout(template="plotly_white", margin={"t": 40, "l": 160},
                      title={"text": f"Knob importance for {axis_title(target)} (fANOVA)",
                             "x": 0.01}, xaxis={"title": {"text": "share"}})  # fmt: skip
    return fig


def plot_slices(frame: pd.DataFrame, knobs, target: str) -> go.Figure:
    """``target`` against each knob, one panel per knob."""
    knobs = [k for k in knobs if k in frame][:8] or ["trial"]
    titles = [plain(k) for k in knobs]
    fig = make_subplots(rows=1, cols=len(knobs), shared_yaxes=True, subplot_titles=titles)
    y = shown(frame, target)
    for k, knob in enumerate(knobs, start=1):
        x = frame[knob].to_numpy()
        numeric = pd.api.types.is_numeric_dtype(frame[knob])
        fig.add_trace(go.Scattergl(x=x if numeric else [plain(v) for v in x], y=y,
                                   mode="markers", marker={"size": 5, "opacity": 0.6},
                                   name=titles[k - 1],
                                   customdata=frame["trial"].tolist(),
                                   hovertemplate="trial %{customdata}<br>%{x}: %{y:.4g}"),
                      1, k)  # fmt: skip
        if numeric and use_log(x.astype(float)):
            fig.update_xaxes(type="log", row=1, col=k)
    fig.update_yaxes(title_text=AXES.get(target, (target,))[0], row=1, col=1)
    fig.update_layout(
        template="plotly_white",
        showlegend=False,
        margin={"t": 50, "b": 40},
        title={"text": f"{axis_title(target)} against each knob", "x": 0.01},
    )
    return fig
