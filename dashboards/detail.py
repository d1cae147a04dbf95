# Over 400 lines: the drill-down of one design point, its tables and its figures, all
# read from one trial at once (the front figures are in figures.py).
"""Drill-down and comparison figures of single designs: numbers first, drawing second.

Inputs are contract-2 reports (``hw_report``) and contract-3 training reports
(``train_report``) as plain dicts read from the study; anything missing or of
the wrong type gives an empty info (and an empty figure), never an exception.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from .figures import AXES, TEMPLATE, plain

__all__ = [
    "CompareInfo",
    "FeedbackInfo",
    "LayersInfo",
    "PeHeatmapInfo",
    "plot_compare",
    "plot_feedback",
    "plot_layers",
    "plot_pe_heatmap",
]

#: what a stall cause of the report (``stall_cycles`` keys,
#: :func:`accelerators.sim.plan.onchip_stalls`) is called on the page. Reports written
#: before the split hold one ``imbalance`` cause for the first four together; a cause
#: not listed here shows by its key.
STALL_LABELS = {
    "imbalance": "PE load imbalance",
    "column_lanes": "lanes idle in a column",
    "broadcast": "waiting on broadcast",
    "fifo": "FIFO back-pressure / pipeline fill",
    "dram": "waiting on DRAM",
    "readout": "readout",
}
COMPARE_METRICS = ("accuracy", "area_mm2", "latency_us", "energy_uj")


def _num(value, default=0.0) -> float:
    """``value`` as a finite float, else ``default``: a report value that is not a number, or
    is NaN or infinite (JSON as Optuna stores it allows both), counts as missing.

    >>> _num(3), _num("3"), _num(float("nan"), -1.0), _num(float("inf"))
    (3.0, 0.0, -1.0, 0.0)
    """
    if isinstance(value, bool) or not isinstance(value, int | float):
        return default
    value = float(value)
    return value if math.isfinite(value) else default


def _layers(report) -> list[dict]:
    layers = report.get("layers") if isinstance(report, dict) else None
    return [lay for lay in layers if isinstance(lay, dict)] if isinstance(layers, list) else []


class LayersInfo(NamedTuple):
    """Per-layer rows of a report; cycles split into busy cycles and stalls by cause."""

    names: list[str]
    rows: list[dict]  # the table: name, kind, shape, nnz, sparsity %, cycles, stalls, energy
    cycles: np.ndarray
    busy: np.ndarray  # cycles minus all stalls
    stalls: dict[str, np.ndarray]  # report key -> cycles per layer
    energy_uj: np.ndarray
    pe_ratio: np.ndarray  # max / mean PE busy cycles per layer (1.0: balanced; NaN: unknown)


#: ``imbalance`` in a report written before the split, where it held all four on-chip causes
COMBINED_LABEL = "waiting on broadcast / FIFO / imbalance"


def stall_label(cause: str, causes=()) -> str:
    """What the stall ``cause`` (a key of the report) is called on the page; ``causes``:
    all the report's causes (an ``imbalance`` without ``column_lanes`` is the old
    combined one).

    >>> stall_label("imbalance", ["imbalance", "column_lanes"]), stall_label("imbalance", ["imbalance"])
    ('PE load imbalance', 'waiting on broadcast / FIFO / imbalance')
    """
    if cause == "imbalance" and "column_lanes" not in causes:
        return COMBINED_LABEL
    return STALL_LABELS.get(cause, cause)


def _causes(layers: list[dict]) -> list[str]:
    """The stall causes the report names, known ones first."""
    seen = [c for lay in layers if isinstance(s := lay.get("stall_cycles"), dict) for c in s]
    extra = sorted(set(seen) - set(STALL_LABELS))
    return [c for c in STALL_LABELS if c in seen] + extra


def _pe_ratio(lay: dict) -> float:
    busy = lay.get("pe_busy_cycles")
    v = np.array([_num(b, np.nan) for b in busy]) if isinstance(busy, list) and busy else None
    if v is None or not np.isfinite(v).any() or np.nanmean(v) <= 0:
        return float("nan")
    return float(np.nanmax(v) / np.nanmean(v))


def _get_layers_info(report) -> LayersInfo:
    """Per-layer numbers of ``hw_report``.

    >>> info = _get_layers_info({"layers": [{"name": "fc1", "cycles": 100,
    ...     "stall_cycles": {"imbalance": 10, "dram": 0, "readout": 5}, "energy_uj": 0.5}]})
    >>> info.busy.tolist(), info.stalls["readout"].tolist(), info.rows[0]["readout (cycles)"]
    ([85.0], [5.0], 5)
    """
    layers = _layers(report)
    names = [str(lay.get("name", f"layer {i}")) for i, lay in enumerate(layers)]
    cycles = np.array([_num(lay.get("cycles")) for lay in layers])
    causes = _causes(layers)
    stalls = {}
    for cause in causes:
        stalls[cause] = np.array(
            [
                _num(s.get(cause)) if isinstance(s := lay.get("stall_cycles"), dict) else 0.0
                for lay in layers
            ]
        )
    stalled = sum(stalls.values()) if layers else np.zeros(0)
    energy = np.array([_num(lay.get("energy_uj")) for lay in layers])
    ratio = np.array([_pe_ratio(lay) for lay in layers])
    rows = []
    for i, lay in enumerate(layers):
        shape = lay.get("shape")
        rows.append(
            {
                "layer": names[i],
                "kind": str(lay.get("kind", "")),
                "shape": " x ".join(str(int(_num(d))) for d in shape)
                if isinstance(shape, list)
                else "",
                "nnz": int(_num(lay.get("nnz"))),
                "sparsity (%)": round(100 * _num(lay.get("sparsity")), 2),
                "cycles": int(cycles[i]),
                **{f"{stall_label(c, causes)} (cycles)": int(stalls[c][i]) for c in causes},
                "PE busy max/mean": "" if not np.isfinite(ratio[i]) else round(float(ratio[i]), 2),
                "utilization (%)": round(100 * _num(lay.get("utilization")), 1),
                **({"busy (%)": round(100 * _num(lay.get("busy")), 1)} if "busy" in lay else {}),
                "energy (µJ)": round(float(energy[i]), 5),
                "DRAM-bound": "yes" if lay.get("dram_bound") is True else "no",
            }
        )
    return LayersInfo(names, rows, cycles, cycles - stalled, stalls, energy, ratio)


def plot_layers(info: LayersInfo) -> go.Figure:
    """Stacked cycle bars (not stalled + stalls by cause) and energy bars, one group per layer.

    Built from plain dicts with validation off (``make_subplots`` and validated traces
    took most of a drill-down's server time); tests re-validate it.
    """
    names = [plain(n) for n in info.names]
    traces = [{"type": "bar", "x": names, "y": info.busy, "name": "not stalled"}]
    for cause, cycles in info.stalls.items():
        label = plain(stall_label(cause, list(info.stalls)))
        traces.append({"type": "bar", "x": names, "y": cycles, "name": label})
    traces.append({"type": "bar", "x": names, "y": info.energy_uj, "name": "energy",
                   "marker": {"color": "#8c564b"}, "xaxis": "x2", "yaxis": "y2"})  # fmt: skip
    layout = {
        "barmode": "stack",
        "template": TEMPLATE,
        "margin": {"t": 40, "b": 40},
        "title": {"text": "Cycles (not stalled + stalls by cause) and energy per layer", "x": 0.01},
        "xaxis": {"domain": [0, 0.45], "title": {"text": "cycles per layer"}},
        "yaxis": {"title": {"text": "cycles"}},
        "xaxis2": {"domain": [0.55, 1], "anchor": "y2", "title": {"text": "energy per layer"}},
        "yaxis2": {"anchor": "x2", "title": {"text": "energy (µJ)"}},
    }
    return go.Figure(data=traces, layout=layout, _validate=False)


class PeHeatmapInfo(NamedTuple):
    """Busy cycles of each PE in each layer (rows: layers; NaN where a layer has fewer PEs)."""

    names: list[str]
    z: np.ndarray  # layers x n_pe
    imbalance: np.ndarray  # max / mean busy cycles per layer (1.0 is perfect balance)


def _get_pe_heatmap_info(report) -> PeHeatmapInfo:
    """PE busy cycles per layer from ``hw_report.layers[i].pe_busy_cycles``.

    >>> info = _get_pe_heatmap_info({"layers": [{"name": "a", "pe_busy_cycles": [2, 4, 6]}]})
    >>> info.z.tolist(), info.imbalance.tolist()
    ([[2.0, 4.0, 6.0]], [1.5])
    """
    layers = _layers(report)
    busy = [lay.get("pe_busy_cycles") for lay in layers]
    busy = [[_num(v, np.nan) for v in b] if isinstance(b, list) else [] for b in busy]
    width = max((len(b) for b in busy), default=0)
    z = np.full((len(busy), width), np.nan)
    for i, b in enumerate(busy):
        z[i, : len(b)] = b
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.nanmean(z, axis=1) if width else np.zeros(len(busy))
        imbalance = np.nanmax(z, axis=1) / mean if width else np.zeros(len(busy))
    names = [str(lay.get("name", f"layer {i}")) for i, lay in enumerate(layers)]
    return PeHeatmapInfo(names, z, imbalance)


def plot_pe_heatmap(info: PeHeatmapInfo) -> go.Figure:
    """Heatmap of busy cycles, layers by PE; the y labels carry each layer's max/mean ratio."""
    labels = [f"{plain(n)} (max/mean {r:.2f})"
              for n, r in zip(info.names, info.imbalance, strict=True)]  # fmt: skip
    trace = {
        "type": "heatmap",
        "z": info.z,
        "x": list(range(info.z.shape[1])),
        "y": labels,
        "colorscale": "YlOrRd",
        "colorbar": {"title": {"text": "busy cycles"}},
        "hovertemplate": "%{y}<br>PE %{x}: %{z} cycles<extra></extra>",
    }
    layout = {
        "title": {"text": "PE busy cycles per layer (load imbalance)"},
        "xaxis": {"title": {"text": "PE"}, **({"dtick": 1} if info.z.shape[1] <= 16 else {})},
        "yaxis": {"autorange": "reversed"},  # first layer on top, as in the table
        "template": TEMPLATE,
        "margin": {"t": 40, "b": 40},
    }
    return go.Figure(data=[trace], layout=layout, _validate=False)


class FeedbackInfo(NamedTuple):
    """The training run's path per feedback period: through (latency, accuracy) when the
    periods carry hardware cost, otherwise accuracy and sparsity against epoch."""

    periods: list[int]
    epochs: list[int]
    accuracy_pct: np.ndarray  # NaN where a period has no accuracy (e.g. before training)
    sparsity_pct: np.ndarray
    latency_us: np.ndarray
    energy_uj: np.ndarray
    has_cost: bool  # any period carries a latency


def _get_feedback_info(train_report) -> FeedbackInfo | None:
    """Feedback periods of ``train_report``, or None when the run recorded none.

    >>> info = _get_feedback_info({"feedback": [{"period": 0, "epoch": 1, "accuracy": 0.5,
    ...     "sparsity": 0.25, "latency_us": 9.0, "energy_uj": 1.0}]})
    >>> info.accuracy_pct.tolist(), info.sparsity_pct.tolist(), info.has_cost
    ([50.0], [25.0], True)
    """
    periods = train_report.get("feedback") if isinstance(train_report, dict) else None
    if not isinstance(periods, list):
        return None
    periods = [p for p in periods if isinstance(p, dict)]
    if not periods:
        return None
    latency = np.array([_num(p.get("latency_us"), np.nan) for p in periods])
    return FeedbackInfo(
        periods=[int(_num(p.get("period"), i)) for i, p in enumerate(periods)],
        epochs=[int(_num(p.get("epoch"))) for p in periods],
        accuracy_pct=np.array([100 * _num(p.get("accuracy"), np.nan) for p in periods]),
        sparsity_pct=np.array([100 * _num(p.get("sparsity"), np.nan) for p in periods]),
        latency_us=latency,
        energy_uj=np.array([_num(p.get("energy_uj"), np.nan) for p in periods]),
        has_cost=bool(np.isfinite(latency).any()),
    )


def plot_feedback(info: FeedbackInfo) -> go.Figure:
    """The path in the latency / accuracy plane, one numbered marker per period (or, without
    hardware cost in the periods, accuracy and sparsity per epoch)."""
    labels = [f"p{p}" for p in info.periods]
    if not info.has_cost:
        fig = go.Figure()
        for name, y in (("accuracy (%)", info.accuracy_pct), ("sparsity (%)", info.sparsity_pct)):
            fig.add_trace(
                go.Scatter(x=info.epochs, y=y, mode="lines+markers", name=name, text=labels)
            )
        fig.update_layout(
            title={"text": "Training per feedback period (no hardware cost recorded)"},
            xaxis={"title": {"text": "epoch"}},
            yaxis={"title": {"text": "%"}},
            template="plotly_white",
            margin={"t": 40, "b": 40},
        )
        return fig
    fig = go.Figure(
        go.Scatter(
            x=info.latency_us,
            y=info.accuracy_pct,
            mode="lines+markers+text",
            text=labels,
            textposition="top center",
            customdata=np.column_stack([info.epochs, info.energy_uj, info.sparsity_pct]),
            hovertemplate="period %{text}, epoch %{customdata[0]}<br>latency %{x:.4g} µs"
            "<br>accuracy %{y:.2f} %<br>energy %{customdata[1]:.4g} µJ"
            "<br>sparsity %{customdata[2]:.1f} %<extra></extra>",
            marker={"size": 9, "color": list(range(len(info.periods))), "colorscale": "Blues"},
        )
    )
    fig.update_layout(
        title={"text": "Training path per feedback period"},
        xaxis={"title": {"text": AXES["latency_us"][0]}},
        yaxis={"title": {"text": AXES["accuracy"][0]}},
        template="plotly_white",
        margin={"t": 40, "b": 40},
    )
    return fig


class CompareInfo(NamedTuple):
    """Designs side by side: metric rows, and the params on which they differ."""

    trials: list[int]
    metrics: dict[str, list[float]]  # metric -> value per trial, shown units (no accuracy
    # in a simulate-only study)
    table: list[dict]  # one row per metric or differing param; columns "trial N"
    differing: list[str]


def _get_compare_info(frame: pd.DataFrame, trials: list[int], params) -> CompareInfo:
    """Compare the rows of ``frame`` whose trial number is in ``trials`` (in that order)."""
    by_trial = frame.set_index("trial")
    trials = [int(t) for t in trials if int(t) in by_trial.index]
    rows = by_trial.loc[trials] if trials else by_trial.iloc[:0]
    present = [m for m in COMPARE_METRICS if m in frame and frame[m].notna().any()]
    metrics = {m: (rows[m].to_numpy(dtype=float) * AXES[m][1]).tolist() for m in present}
    table = [
        {
            "quantity": AXES[m][0],
            **{f"trial {t}": f"{v:.4g}" for t, v in zip(trials, vals, strict=True)},
        }
        for m, vals in metrics.items()
    ]
    differing = []
    for p in ("method", *params):
        values = rows[p].astype(str).tolist() if p in rows else []
        if len(set(values)) > 1:
            differing.append(p)
            table.append(
                {"quantity": p, **{f"trial {t}": v for t, v in zip(trials, values, strict=True)}}
            )
    return CompareInfo(trials, metrics, table, differing)


def plot_compare(info: CompareInfo) -> go.Figure:
    """One bar panel per metric, one bar per design."""
    shown = list(info.metrics) or list(COMPARE_METRICS)
    fig = make_subplots(rows=1, cols=len(shown), subplot_titles=[AXES[m][0] for m in shown])
    labels = [f"trial {t}" for t in info.trials]
    for k, m in enumerate(info.metrics, start=1):
        fig.add_trace(
            go.Bar(x=labels, y=info.metrics[m], name=AXES[m][0], showlegend=False), row=1, col=k
        )
    fig.update_layout(template="plotly_white", margin={"t": 40, "b": 40})
    return fig


class TrainingInfo(NamedTuple):
    """Accuracy and sparsity as training went: the end of each stage (train, prune,
    retrain) at its cumulative epoch, and each feedback period at its epoch."""

    stage_names: list[str]
    stage_epochs: list[int]
    stage_accuracy_pct: np.ndarray
    stage_sparsity_pct: np.ndarray
    period_epochs: list[int]
    period_accuracy_pct: np.ndarray  # NaN before the first evaluation
    period_sparsity_pct: np.ndarray


def _get_training_info(train_report) -> TrainingInfo | None:
    """The training curves of ``train_report``, or None when it records no stages.

    >>> info = _get_training_info({"stages": [{"name": "train", "epochs": 2, "accuracy": 0.5,
    ...     "sparsity": 0.1}, {"name": "retrain", "epochs": 1, "accuracy": 0.75, "sparsity": 0.9}]})
    >>> info.stage_epochs, info.stage_accuracy_pct.tolist()
    ([2, 3], [50.0, 75.0])
    """
    stages = train_report.get("stages") if isinstance(train_report, dict) else None
    stages = [s for s in stages if isinstance(s, dict)] if isinstance(stages, list) else []
    if not stages:
        return None
    ends = np.cumsum([int(_num(s.get("epochs"))) for s in stages]).tolist()
    periods = train_report.get("feedback")
    periods = [p for p in periods if isinstance(p, dict)] if isinstance(periods, list) else []
    return TrainingInfo(
        stage_names=[str(s.get("name", f"stage {i}")) for i, s in enumerate(stages)],
        stage_epochs=[int(e) for e in ends],
        stage_accuracy_pct=np.array([100 * _num(s.get("accuracy"), np.nan) for s in stages]),
        stage_sparsity_pct=np.array([100 * _num(s.get("sparsity"), np.nan) for s in stages]),
        period_epochs=[int(_num(p.get("epoch"))) for p in periods],
        period_accuracy_pct=np.array([100 * _num(p.get("accuracy"), np.nan) for p in periods]),
        period_sparsity_pct=np.array([100 * _num(p.get("sparsity"), np.nan) for p in periods]),
    )


def plot_training(info: TrainingInfo) -> go.Figure:
    """Accuracy and sparsity (%) against epoch: stage ends as labelled markers, feedback
    periods as a line."""
    traces = []
    for name, y, colour in (("accuracy", info.period_accuracy_pct, "#1f77b4"),
                            ("sparsity", info.period_sparsity_pct, "#ff7f0e")):  # fmt: skip
        if len(info.period_epochs):
            traces.append(
                go.Scatter(
                    x=info.period_epochs,
                    y=y,
                    mode="lines+markers",
                    name=f"{name} per feedback period",
                    line={"color": colour},
                )
            )
    for name, y, colour in (("accuracy", info.stage_accuracy_pct, "#1f77b4"),
                            ("sparsity", info.stage_sparsity_pct, "#ff7f0e")):  # fmt: skip
        traces.append(go.Scatter(x=info.stage_epochs, y=y, mode="markers+text",
                                 text=[plain(n) for n in info.stage_names],
                                 textposition="top center",
                                 marker={"symbol": "star", "size": 11, "color": colour},
                                 name=f"{name} at stage end"))  # fmt: skip
    fig = go.Figure(traces)
    fig.update_layout(
        title={"text": "Training: accuracy and weight sparsity per epoch", "x": 0.01},
        xaxis={"title": {"text": "epoch (cumulative over stages)"}},
        yaxis={"title": {"text": "%"}},
        template="plotly_white",
        margin={"t": 40, "b": 40},
    )
    return fig
