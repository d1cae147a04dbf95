"""The callbacks as plain functions, on a real SQLite study."""

import numpy as np
import optuna
import pandas as pd
from dash import no_update

from codesign.study.pareto import non_dominated
from dashboards.callbacks import (
    compare_selection,
    compare_view,
    detail_view,
    export_csv,
    filter_controls,
    filter_mask,
    filter_schema,
    front_csv,
    front_figure,
    poll,
    selection_from_click,
)
from dashboards.data import StudySource


def small():
    return pd.DataFrame(
        {
            "trial": [0, 1, 2, 3],
            "method": ["binary", "sparse-ternary", "sparse-ternary", "ternary"],
            "accuracy": [0.80, 0.90, 0.85, 0.70],
            "area_mm2": [1.0, 4.0, 2.0, 3.0],
            "latency_us": [1.0, 10.0, 100.0, 1000.0],
            "energy_uj": [1.0, 2.0, 1.5, 3.0],
            "hw.n_pe": [4, 8, 16, 32],
            "train.reg_strength": [1e-6, 1e-5, 1e-4, 1e-3],
            "hw.zero_skip": ["none", "weights", "weights", "none"],
        }
    )


def walk(component):
    """Every component in a Dash tree."""
    if isinstance(component, list | tuple):
        for c in component:
            yield from walk(c)
    elif hasattr(component, "to_plotly_json"):
        yield component
        children = getattr(component, "children", None)
        if children is not None:  # (a component with no children is falsy)
            yield from walk(children)


def test_filter_schema_by_hand():
    schema = filter_schema(small(), ["hw.n_pe", "train.reg_strength", "hw.zero_skip"])
    r = schema["ranges"]
    assert r["accuracy"] == {"log": False, "min": 70.0, "max": 90.0, "scale": 100.0}
    assert r["latency_us"]["log"] and (r["latency_us"]["min"], r["latency_us"]["max"]) == (0.0, 3.0)
    assert r["train.reg_strength"]["log"] and np.isclose(r["train.reg_strength"]["min"], -6)
    assert schema["cats"] == {"hw.n_pe": [4, 8, 16, 32], "hw.zero_skip": ["none", "weights"]}
    controls = filter_controls(schema)
    ids = [getattr(c, "id", None) for c in walk(controls)]
    assert {"type": "frange", "col": "accuracy"} in ids and {
        "type": "fcats",
        "col": "hw.n_pe",
    } in ids


def test_constant_columns_get_no_slider():
    f = small().assign(area_mm2=2.0)
    assert "area_mm2" not in filter_schema(f, [])["ranges"]


def test_filter_mask_by_hand():
    f = small()
    schema = filter_schema(f, ["hw.n_pe", "train.reg_strength", "hw.zero_skip"])
    assert filter_mask(f, schema, {}, {}).all()
    # accuracy 75..90 %, latency 10**0.5..10**3 us (log slider), zero-skip "weights" only
    mask = filter_mask(f, schema, {"accuracy": [75, 90], "latency_us": [0.5, 3]}, {})
    assert mask.tolist() == [False, True, True, False]
    mask = filter_mask(f, schema, {}, {"hw.zero_skip": ["none"], "hw.n_pe": [4, 16, 32]})
    assert mask.tolist() == [True, False, False, True]


def test_slider_left_at_its_end_stays_open_for_later_trials():
    f = small()
    schema = filter_schema(f, [])
    later = pd.concat([f, f.iloc[[0]].assign(trial=9, accuracy=0.99)], ignore_index=True)
    assert filter_mask(later, schema, {"accuracy": [70, 90]}, {}).tolist()[-1]
    assert not filter_mask(later, schema, {"accuracy": [70, 89]}, {}).tolist()[-1]
    schema = filter_schema(f, ["hw.zero_skip"])
    later = pd.concat([f, f.iloc[[0]].assign(trial=9, **{"hw.zero_skip": "weights+activations"})])
    mask = filter_mask(later, schema, {}, {"hw.zero_skip": ["weights"]})
    assert mask.tolist() == [False, True, True, False, True]  # the new value is not deselected


def test_poll_reports_then_stays_quiet(study_url):
    source = StudySource(study_url)
    version, status, message, filters, schema, colour, compare = poll(source, None, None)
    assert "40 trials" in status and "failed" in status and message == ""
    assert {"label": "hw.n_pe", "value": "hw.n_pe"} in colour
    assert len(compare) == len(source.current().frame) and schema["ranges"]
    assert poll(source, version, schema) == (no_update,) * 7


def test_poll_keeps_filters_when_only_trials_change(tmp_path):
    from dashboards.demo import write_demo_study

    url = f"sqlite:///{tmp_path / 'live.db'}"
    write_demo_study(url, 6, real_reports=False)
    source = StudySource(url)
    version, _, _, filters, schema, *_ = poll(source, None, None)
    study = optuna.load_study(storage=url, study_name="demo")
    import random

    from dashboards.demo import demo_trial

    study.add_trial(demo_trial(7, random.Random(7)))
    new_version, status, _, new_filters, new_schema, *_ = poll(source, version, schema)
    assert new_version != version and "7 trials" in status
    assert new_filters is no_update and new_schema is no_update  # user's filter values survive


def test_poll_messages(tmp_path, empty_study_url):
    missing = StudySource(f"sqlite:///{tmp_path / 'missing.db'}")
    out = poll(missing, None, None)
    assert out[0] is None and "file not found" in out[2]
    assert poll(missing, None, None, out[2]) == (no_update,) * 7  # same error: no redraw
    out = poll(StudySource(empty_study_url), None, None)
    assert "No finished trials" in out[2] and "'empty'" in out[2]
    fig = front_figure(StudySource(empty_study_url).current(), "area_mm2")
    assert fig.layout.annotations[0].text == "No designs to show"


def _points(fig):
    return sorted(int(t) for tr in fig.data if tr.mode == "markers" and tr.name != "over budget"
                  and tr.customdata is not None and not tr.name.startswith("trial ")
                  for t in tr.customdata)  # fmt: skip


def test_front_figure_follows_filters_and_budgets(study_url):
    source = StudySource(study_url)
    _, _, _, _, schema, *_ = poll(source, None, None)
    snap = source.current()
    all_points = _points(front_figure(snap, "area_mm2", "method", schema))
    assert all_points == sorted(snap.frame["trial"])
    fig = front_figure(snap, "latency_us", None, schema, {}, {"train.method": ["binary"]})
    assert _points(fig) == sorted(snap.frame.loc[snap.frame["method"] == "binary", "trial"])
    budget = float(snap.frame["area_mm2"].median())
    fig = front_figure(snap, "area_mm2", None, schema, max_area=budget)
    grey = next(t for t in fig.data if t.name == "over budget")
    assert sorted(grey.customdata) == sorted(
        snap.frame.loc[snap.frame["area_mm2"] > budget, "trial"]
    )
    none = front_figure(snap, "area_mm2", None, schema, {"accuracy": [99.9, 100]}, {})
    assert none.layout.annotations[0].text == "No design passes the filters"
    assert len(front_figure(snap, "3d", None, schema).data) == 2


def test_front_csv_is_the_brute_force_front(study_url):
    source = StudySource(study_url)
    _, _, _, _, schema, *_ = poll(source, None, None)
    snap = source.current()
    budget = float(snap.frame["latency_us"].quantile(0.8))
    csv = front_csv(snap, "energy_uj", schema, {}, {}, None, budget)
    f = snap.frame[snap.frame["latency_us"] <= budget]
    pts = f[["accuracy", "energy_uj"]].to_numpy()
    expected = [
        t for t, p in zip(f["trial"], pts, strict=True)
        if not any((q[0] >= p[0] and q[1] <= p[1]) and (q[0] > p[0] or q[1] < p[1]) for q in pts)
    ]  # fmt: skip
    assert sorted(csv["trial"]) == sorted(expected) and len(expected) >= 2
    assert csv["energy_uj"].is_monotonic_increasing
    f3 = front_csv(snap, "3d", schema, {}, {}, None, None)
    cols = ["accuracy", "area_mm2", "latency_us"]
    mask = non_dominated(snap.frame[cols].to_numpy(), [True, False, False])
    assert sorted(f3["trial"]) == sorted(snap.frame["trial"][mask])


def test_export_payload_is_the_front_as_csv(study_url):
    import io

    source = StudySource(study_url)
    _, _, _, _, schema, *_ = poll(source, None, None)
    payload = export_csv(source.current(), "latency_us", schema, {}, {}, None, None)
    assert payload["filename"] == "pareto_front_latency_us.csv"
    got = pd.read_csv(io.StringIO(payload["content"]))
    want = front_csv(source.current(), "latency_us", schema, {}, {}, None, None)
    assert got["trial"].tolist() == want["trial"].tolist() and "hw.n_pe" in got.columns


def test_click_and_compare_selection():
    assert selection_from_click({"points": [{"customdata": 7, "x": 1}]}) == 7
    assert selection_from_click({"points": [{"customdata": [3, "x"]}]}) == 3
    assert selection_from_click(None) is no_update
    assert selection_from_click({"points": [{"customdata": "os.system"}]}) is no_update
    assert compare_selection("add-compare", [1], 5, None) == [1, 5]
    assert compare_selection("add-compare", [1, 5], 5, None) == [1, 5]
    box = {"points": [{"customdata": 4}, {"customdata": 2}, {"customdata": 4}]}
    assert compare_selection("front", [1], None, box) == [4, 2]
    assert compare_selection("front", [1], None, {"points": []}) is no_update


def _text(component):
    """All strings in a Dash component tree."""
    if isinstance(component, str | int | float):
        return str(component)
    if isinstance(component, list | tuple):
        return " ".join(_text(c) for c in component)
    children = getattr(component, "children", None)
    data = getattr(component, "data", None)
    out = _text(children) if children is not None else ""
    if isinstance(data, list):
        out += " " + " ".join(str(v) for row in data for v in row.values())
    return out


def test_detail_view_shows_the_design(study_url):
    source = StudySource(study_url)
    trial = optuna.load_study(storage=study_url, study_name="demo").trials[1]
    view = detail_view(source, 1)
    text = _text(view)
    assert "Trial 1" in text and f"n_pe {trial.user_attrs['hw_config']['n_pe']}" in text
    layers = [layer["name"] for layer in trial.user_attrs["hw_report"]["layers"]]
    assert len(layers) == 4 and all(name in text for name in layers)
    ids = [getattr(c, "id", None) for c in view]
    assert "detail-layers-graph" in ids and "detail-pe-graph" in ids
    with_feedback = [t.number for t in optuna.load_study(storage=study_url, study_name="demo").trials
                     if "feedback" in t.user_attrs.get("train_report", {})]  # fmt: skip
    assert with_feedback
    assert "detail-feedback-graph" in [
        getattr(c, "id", None) for c in detail_view(source, with_feedback[0])
    ]
    assert "not in the study" in _text(detail_view(source, 12345))
    assert "Click a point" in _text(detail_view(source, None))


def test_compare_view(study_url):
    source = StudySource(study_url)
    source.snapshot()
    assert "two or more" in _text(compare_view(source.current(), [1]))
    view = compare_view(source.current(), [1, 2, 3])
    assert view[0].id == "compare-table" and list(view[0].data[0]) == [
        "quantity",
        "trial 1",
        "trial 2",
        "trial 3",
    ]
