"""Simulate-only studies (a [workload] sweep: accuracy null in every trial) in the dashboard.

The study is written by the real sweep code (``hw_study_url`` in conftest.py); the
small frames below are checked against fronts worked out by hand.
"""

import json
import subprocess
import sys

import numpy as np
import optuna
import pandas as pd
import pandas.testing as pdt
import plotly.graph_objects as go
import pytest
from dash import dcc, no_update
from optuna.distributions import FloatDistribution
from optuna.trial import TrialState, create_trial

from dashboards.callbacks import export_csv, front_csv, front_figure, poll, tabs_update
from dashboards.data import StudySource, frame_from_trials
from dashboards.figures import HARDWARE_VIEWS, _get_front_info, plot_front
from dashboards.figures_3d import _get_front_3d_info, plot_front_3d
from dashboards.layout import TABS
from dashboards.views import compare_view, detail_view

HW_TABS = ["latency_us-vs-area_mm2", "energy_uj-vs-area_mm2", "energy_uj-vs-latency_us", "3d"]


def table_rows(div) -> list[dict]:
    """The rows of a plain HTML table built by ``dashboards.views._table``, as dicts."""
    head, body = div.children.children
    names = [th.children for th in head.children.children]
    return [dict(zip(names, (td.children for td in tr.children), strict=True))
            for tr in body.children]  # fmt: skip


def brute_front(points, maximize):
    """Indices of the rows no other row dominates, by the definition."""
    s = np.where(np.asarray(maximize), -1.0, 1.0)
    p = np.asarray(points, dtype=float) * s
    return [i for i in range(len(p))
            if not any((p[j] <= p[i]).all() and (p[j] < p[i]).any() for j in range(len(p)))]  # fmt: skip


def hw_frame():
    # area, latency, energy: 0 (1, 10, 1) least area; 1 (2, 5, 1); 2 (3, 6, 0.5) dominated by 1
    # in area/latency and by 4 in all three; 3 (4, 1, 2) least latency; 4 (2.5, 5, 0.5)
    # dominated by 1 in area/latency, but on the 3-D front (least energy with 2)
    return pd.DataFrame(
        {
            "trial": [0, 1, 2, 3, 4],
            "method": ["sparse-ternary"] * 5,
            "accuracy": [np.nan] * 5,
            "area_mm2": [1.0, 2.0, 3.0, 4.0, 2.5],
            "latency_us": [10.0, 5.0, 6.0, 1.0, 5.0],
            "energy_uj": [1.0, 1.0, 0.5, 2.0, 0.5],
            "hw.n_pe": [1, 2, 4, 8, 2],
        }
    )


def test_hardware_front_infos_by_hand():
    info = _get_front_info(hw_frame(), "area_mm2", y_col="latency_us", maximize=(False, False))
    assert info.on_front.tolist() == [True, True, False, True, False]
    assert info.step_x.tolist() == [1.0, 2.0, 4.0] and info.step_y.tolist() == [10.0, 5.0, 1.0]
    assert (info.x_title, info.y_title) == ("Area (mm²)", "Latency, steady state (µs)")
    budget = np.array([True, False, True, True, True])  # without trial 1, 4 joins the front
    info = _get_front_info(hw_frame(), "area_mm2", budget, None, None, "latency_us", (False, False))
    assert info.on_front.tolist() == [True, False, False, True, True]
    info3 = _get_front_3d_info(hw_frame(), None, "energy_uj", (False, False, False))
    assert info3.on_front.tolist() == [True, True, False, True, True]
    assert info3.z.tolist() == [1.0, 1.0, 0.5, 2.0, 0.5] and not info3.log_z
    fig = plot_front_3d(info3)
    go.Figure(fig.to_dict())  # valid once re-validated
    assert fig.layout.scene.zaxis.title.text == "Energy, steady state (µJ)"
    assert "energy, steady state %{z:.4g} µJ" in fig.data[0].hovertemplate
    fig = plot_front(_get_front_info(hw_frame(), "latency_us", y_col="energy_uj"))
    go.Figure(fig.to_dict())
    assert fig.layout.yaxis.title.text == "Energy, steady state (µJ)"


def test_simulate_only_trials_are_valid_and_accuracy_is_absent(hw_study_url):
    snap = StudySource(hw_study_url).snapshot()
    study = optuna.load_study(storage=hw_study_url, study_name="hw")
    trials = study.get_trials()
    assert all(t.user_attrs["metrics"]["accuracy"] is None for t in trials)
    assert (len(snap.frame), snap.n_skipped, snap.n_failed) == (16, 0, 0) and snap.notes == []
    assert snap.frame["accuracy"].isna().all() and not snap.has_accuracy
    assert "accuracy" not in snap.metrics and "latency_us" in snap.metrics
    assert snap.directions == ("minimize", "minimize", "minimize")
    assert snap.params == ("hw.lanes_per_pe", "hw.n_pe", "workload.sparsity")
    assert snap.workload["sparsity"] == 0.8  # the [workload] table of the sweep file
    objectives = study.user_attrs["objectives"]
    pdt.assert_frame_equal(snap.frame, frame_from_trials(trials, objectives))
    sparsity = {0.5: [], 0.9: []}  # the sparsity metric follows the swept workload sparsity
    for s, w in zip(snap.frame["sparsity"], snap.frame["workload.sparsity"], strict=True):
        sparsity[w].append(s)
    assert np.allclose(sparsity[0.5], 0.5) and np.allclose(sparsity[0.9], 0.9, atol=0.01)


def test_validity_follows_the_studys_objectives(tmp_path):
    url = f"sqlite:///{tmp_path / 'x.db'}"
    study = optuna.create_study(storage=url, study_name="x", directions=["minimize", "minimize"])
    study.set_user_attr("objectives", ["latency_us", "area_mm2"])
    base = {"accuracy": None, "sparsity": 0.9, "area_mm2": 1.0, "latency_us": 2.0,
            "energy_uj": 0.5, "cycles": 100, "size_kib": 1.0}  # fmt: skip
    for metrics in (
        base,  # 0: shown
        {**base, "energy_uj": None},  # 1: shown, a null non-objective is NaN
        {**base, "latency_us": None},  # 2: an objective is null
        {**base, "area_mm2": float("inf")},  # 3: an objective is not finite
        {**base, "accuracy": "high"},  # 4: neither a number nor null
    ):
        study.add_trial(
            create_trial(
                params={"hw.clock_mhz": 500.0},
                distributions={"hw.clock_mhz": FloatDistribution(100, 1000)},
                values=[1.0, 1.0],
                user_attrs={"metrics": metrics, "method": "sparse-ternary"},
            )
        )
    snap = StudySource(url).snapshot()
    assert snap.frame["trial"].tolist() == [0, 1] and snap.n_skipped == 3
    assert np.isnan(snap.frame["energy_uj"][1]) and "energy_uj" in snap.metrics
    assert "accuracy" not in snap.metrics and not snap.has_accuracy
    trials = study.get_trials()
    pdt.assert_frame_equal(snap.frame, frame_from_trials(trials, ["latency_us", "area_mm2"]))


def test_filters_and_tabs_of_a_hardware_study(hw_study_url):
    source = StudySource(hw_study_url)
    version, status, message, filters, schema, colour, targets = poll(source, None, None)
    snap = source.current()
    assert "16 of 16 trials have results" in status and message == ""
    assert "accuracy" not in [t["value"] for t in targets]
    assert "accuracy" not in schema["ranges"] and "accuracy" not in schema["cats"]
    assert {"latency_us", "area_mm2", "energy_uj", "workload.sparsity"} <= set(schema["ranges"])
    assert schema["cats"]["hw.n_pe"] == [1, 2, 4, 8]
    assert {"label": "workload.sparsity", "value": "workload.sparsity"} in colour
    layout_tabs = [dcc.Tab(label=label, value=value) for value, label in TABS]
    tabs, value, colour = tabs_update(snap, layout_tabs)
    assert [t.value for t in tabs] == HW_TABS and value == HW_TABS[0] and colour == "hw.n_pe"
    assert [t.label for t in tabs][:3] == ["Latency vs area", "Energy vs area", "Energy vs latency"]
    as_json = [{"type": "Tab", "props": {"label": t.label, "value": t.value}} for t in tabs]
    assert tabs_update(snap, as_json) == (no_update,) * 3  # unchanged: left alone
    assert tabs_update(None, as_json) == (no_update,) * 3


def test_training_study_keeps_its_tabs(study_url):
    layout_tabs = [dcc.Tab(label=label, value=value) for value, label in TABS]
    assert tabs_update(StudySource(study_url).snapshot(), layout_tabs) == (no_update,) * 3


def members(customdata) -> list[int]:
    """Trial numbers of a trace's markers (2-D: ``[first, count, "all"]``; 3-D: the number)."""
    out = []
    for c in customdata:
        out += [int(t) for t in c[2].split()] if isinstance(c, list | tuple) else [int(c)]
    return sorted(out)


def _designs(fig):
    return sorted(t for tr in fig.data if tr.mode == "markers" and tr.customdata is not None
                  and tr.name != "selected" for t in members(tr.customdata))  # fmt: skip


@pytest.mark.parametrize("view", HARDWARE_VIEWS, ids=lambda v: v.value)
def test_hardware_fronts_are_the_brute_force_fronts(hw_study_url, view):
    source = StudySource(hw_study_url)
    _, _, _, _, schema, *_ = poll(source, None, None)
    snap = source.current()
    f = snap.frame
    fig = front_figure(snap, view.value, "hw.n_pe", schema, selected=3)
    go.Figure(fig.to_dict())
    assert _designs(fig) == sorted(f["trial"])
    cols = [view.y, view.x] if view.z is None else [view.z, view.x, view.y]
    want = sorted(f["trial"].iloc[brute_front(f[cols].to_numpy(), [False] * len(cols))])
    csv = front_csv(snap, view.value, schema, {}, {})
    assert sorted(csv["trial"]) == want and 2 <= len(want) < len(f)
    if view.z is None:
        assert fig.layout.xaxis.title.text.lower().startswith(view.x.split("_")[0])
        assert fig.layout.yaxis.title.text.lower().startswith(view.y.split("_")[0])
        line = next(t for t in fig.data if t.name == "Pareto front")
        assert sorted(line.x) == sorted(f.loc[f["trial"].isin(want), view.x])
        assert csv[view.x].is_monotonic_increasing
        ring = fig.data[-1]  # the selected design is ringed (the last trace)
        assert ring.name == "selected" and list(ring.x) == f.loc[f["trial"] == 3, view.x].tolist()
    else:
        assert fig.layout.scene.zaxis.title.text == "Energy, steady state (µJ)"
        assert fig.data[1].name == "Pareto front" and sorted(fig.data[1].customdata) == want


def test_budgets_filters_and_export_in_a_hardware_study(hw_study_url):
    import io

    source = StudySource(hw_study_url)
    _, _, _, _, schema, *_ = poll(source, None, None)
    snap = source.current()
    f = snap.frame
    budget = float(f["area_mm2"].median())
    fig = front_figure(snap, HW_TABS[0], None, schema, budgets={"max-area": budget})
    grey = next(t for t in fig.data if t.name == "over budget")
    assert members(grey.customdata) == sorted(f.loc[f["area_mm2"] > budget, "trial"])
    fig = front_figure(snap, HW_TABS[1], None, schema, {}, {"hw.n_pe": [8]})
    assert _designs(fig) == sorted(f.loc[f["hw.n_pe"] == 8, "trial"])
    sparse = f[f["workload.sparsity"] >= 0.7]
    csv = front_csv(snap, HW_TABS[0], schema, {"workload.sparsity": [0.7, 0.9]}, {})
    pts = sparse[["latency_us", "area_mm2"]].to_numpy()
    assert sorted(csv["trial"]) == sorted(sparse["trial"].iloc[brute_front(pts, [False, False])])
    payload = export_csv(snap, HW_TABS[0], schema, {}, {})
    assert payload["filename"] == "pareto_front_latency_us-vs-area_mm2.csv"
    got = pd.read_csv(io.StringIO(payload["content"]))
    assert "workload.sparsity" in got.columns and got["accuracy"].isna().all()
    # a stale accuracy tab (before the tabs switch) draws the first hardware view
    stale = front_figure(snap, "area_mm2", None, schema)
    assert stale.layout.yaxis.title.text == "Latency, steady state (µs)"


def _text(component):
    if isinstance(component, str | int | float):
        return str(component)
    if isinstance(component, list | tuple):
        return " ".join(_text(c) for c in component)
    out = _text(component.children) if getattr(component, "children", None) is not None else ""
    data = getattr(component, "data", None)
    if isinstance(data, list):
        out += " " + " ".join(str(v) for row in data for v in row.values())
    return out


def _ids(component, out=None):
    out = [] if out is None else out
    if isinstance(component, list | tuple):
        for c in component:
            _ids(c, out)
    elif hasattr(component, "to_plotly_json"):
        out.append(getattr(component, "id", None))
        if getattr(component, "children", None) is not None:
            _ids(component.children, out)
    return out


def test_drilldown_and_compare_without_accuracy(hw_study_url):
    source = StudySource(hw_study_url)
    source.snapshot()
    trial = optuna.load_study(storage=hw_study_url, study_name="hw").trials[5]
    view = detail_view(source, 5)
    text = _text(view)
    summary = next(c for c in view if getattr(c, "id", None) == "detail-summary").children
    assert "accuracy" not in summary and "latency" in summary and "µs" in summary
    assert "Workload (simulate-only sweep)" in text and "Training settings" not in text
    assert f"sparsity {trial.params['workload.sparsity']}" in text  # the trial's own sparsity
    assert json.dumps(HW_SPEC_SHAPES) in text
    ids = _ids(view)
    assert "detail-workload" in ids and "detail-layers-graph" in ids
    table, graph = compare_view(source.current(), [1, 2, 4])  # n_pe 1, 1, 2
    quantities = [row["quantity"] for row in table_rows(table)]
    assert quantities[:3] == [
        "Area (mm²)",
        "Latency, steady state (µs)",
        "Energy, steady state (µJ)",
    ]
    assert "Test accuracy (%)" not in quantities and "hw.n_pe" in quantities
    assert [a.text for a in graph.figure.layout.annotations] == quantities[:3]


HW_SPEC_SHAPES = [{"kind": "linear", "in": 64, "out": 32}, {"kind": "linear", "in": 32, "out": 10}]


def test_check_reports_simulate_only_trials_as_valid(hw_study_url):
    cmd = [sys.executable, "-m", "codesign.cli.main", "dash", "--storage", hw_study_url, "--check"]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert "16 (16 shown, 0 failed, 0 pruned, 0 running, 0 without valid metrics)" in out.stdout
    assert "workload.sparsity" in out.stdout
    assert "min latency" in out.stdout and "accuracy" not in out.stdout
    out = subprocess.run([*cmd, "--json"], capture_output=True, text=True, timeout=60)
    assert "NaN" not in out.stdout  # strict JSON: no accuracy at all, not NaN
    summary = json.loads(out.stdout)
    assert "best_accuracy_pct" not in summary
    assert (summary["n_shown"], summary["n_skipped"]) == (16, 0)
    trials = optuna.load_study(storage=hw_study_url, study_name="hw").get_trials()
    assert summary["min_latency_us"] == min(t.user_attrs["metrics"]["latency_us"] for t in trials)
    assert [t.state for t in trials] == [TrialState.COMPLETE] * 16
