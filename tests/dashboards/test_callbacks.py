"""What the page computes, as plain functions, on a study written by ``run_sweep``."""

import numpy as np
import optuna
import pandas as pd
from dash import no_update

from codesign.study.pareto import non_dominated
from dashboards.callbacks import (
    export_csv,
    front_csv,
    front_figure,
    front_view,
    poll,
    table_view,
)
from dashboards.data import StudySource
from dashboards.filters import filter_controls, filter_mask, filter_schema
from dashboards.views import compare_view, detail_view, training_view


def table_rows(div) -> list[dict]:
    """The rows of a plain HTML table built by ``dashboards.views._table``, as dicts."""
    head, body = div.children.children
    names = [th.children for th in head.children.children]
    return [dict(zip(names, (td.children for td in tr.children), strict=True))
            for tr in body.children]  # fmt: skip


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
    version, status, message, filters, schema, colour, targets = poll(source, None, None)
    assert "36 of 36 trials" in status and message == ""
    assert {"label": "hw.n_pe", "value": "hw.n_pe"} in colour
    assert "accuracy" in [t["value"] for t in targets] and schema["ranges"]
    assert poll(source, version, schema) == (no_update,) * 7


def test_poll_moves_the_ranges_with_new_trials_and_keeps_what_the_user_set(study_url, tmp_path):
    src = optuna.load_study(storage=study_url, study_name="train")
    trials = sorted(src.get_trials(), key=lambda t: t.user_attrs["metrics"]["area_mm2"])
    url = f"sqlite:///{tmp_path / 'live.db'}"
    study = optuna.create_study(storage=url, study_name="train", directions=src.directions)
    study.set_user_attr("objectives", src.user_attrs["objectives"])
    study.add_trials(trials[:20])
    source = StudySource(url)
    version, _, _, filters, schema, *_ = poll(source, None, None)
    area = schema["ranges"]["area_mm2"]
    lo_set = area["min"] + 0.25 * (area["max"] - area["min"])  # the user raised the low end
    study.add_trials(trials[20:])  # larger designs
    new_version, status, _, new_filters, new_schema, *_ = poll(
        source, version, schema, None, {"area_mm2": [lo_set, area["max"]]}, {}
    )
    assert new_version != version and "36 of 36 trials" in status
    new_area = new_schema["ranges"]["area_mm2"]
    assert new_area["max"] == trials[-1].user_attrs["metrics"]["area_mm2"] > area["max"]
    slider = next(c for c in walk(new_filters) if getattr(c, "id", None) == {
        "type": "frange", "col": "area_mm2"})  # fmt: skip
    assert slider.max == new_area["max"] and slider.value == [lo_set, new_area["max"]]
    assert poll(source, new_version, new_schema) == (no_update,) * 7


def test_poll_messages(tmp_path, empty_study_url):
    missing = StudySource(f"sqlite:///{tmp_path / 'missing.db'}")
    out = poll(missing, None, None)
    assert out[0] is None and "not found" in out[2]
    assert poll(missing, None, None, out[2]) == (no_update,) * 7  # same error: no redraw
    out = poll(StudySource(empty_study_url), None, None)
    assert "No finished trials" in out[2] and "'empty'" in out[2]
    fig = front_figure(StudySource(empty_study_url).current(), "area_mm2")
    assert fig.layout.annotations[0].text == "No designs to show"


def members(customdata) -> list[int]:
    out = []
    for c in customdata:
        out += [int(t) for t in c[2].split()] if isinstance(c, list | tuple) else [int(c)]
    return sorted(out)


def _points(fig):
    return sorted(t for tr in fig.data if tr.mode == "markers" and tr.name != "over budget"
                  and tr.customdata is not None for t in members(tr.customdata))  # fmt: skip


def test_front_figure_follows_filters_and_budgets(study_url):
    source = StudySource(study_url)
    _, _, _, _, schema, *_ = poll(source, None, None)
    snap = source.current()
    all_points = _points(front_figure(snap, "area_mm2", "method", schema))
    assert all_points == sorted(snap.frame["trial"])
    fig = front_figure(snap, "latency_us", None, schema, {}, {"train.method": ["binary"]})
    assert _points(fig) == sorted(snap.frame.loc[snap.frame["method"] == "binary", "trial"])
    budget = float(snap.frame["area_mm2"].median())
    fig = front_figure(snap, "area_mm2", None, schema, budgets={"max-area": budget})
    grey = next(t for t in fig.data if t.name == "over budget")
    assert members(grey.customdata) == sorted(
        snap.frame.loc[snap.frame["area_mm2"] > budget, "trial"]
    )
    none, status = front_view(snap, "area_mm2", None, schema, {}, {"train.method": []})
    assert status.startswith("0 of 36 designs pass the filters")
    fig, status = front_view(
        snap, "area_mm2", None, schema, budgets={"max-area": 1e-6, "min-accuracy": 50}
    )
    assert status.startswith(
        "No design meets the budget (max area 1e-06 mm², min test accuracy 50 %)"
    )
    names = [t.name for t in front_figure(snap, "3d", "hw.n_pe", schema,
                                          budgets={"max-area": budget}).data]  # fmt: skip
    assert names == ["over budget", "dominated", "Pareto front", "selected"]


def test_stacked_designs_are_one_marker_that_lists_them(study_url):
    source = StudySource(study_url)
    snap = source.snapshot()
    fig, status = front_view(snap, "area_mm2", "method")
    assert "36 of 36 designs pass the filters, drawn as 16 markers" in status
    stacked = [(c, h) for tr in fig.data if tr.customdata is not None and tr.name != "selected"
               for c, h in zip(tr.customdata, tr.hovertext, strict=True) if c[1] > 1]  # fmt: skip
    assert sorted(c[1] for c, _ in stacked) == [6, 6, 6, 6]
    for c, hover in stacked:
        rows = snap.frame[snap.frame["trial"].isin([int(t) for t in c[2].split()])]
        assert rows[["accuracy", "area_mm2"]].nunique().max() == 1  # truly one point
        assert hover.startswith("6 trials: ") and "train.reg_strength: " in hover


def test_colours_are_fixed_over_the_study(study_url):
    source = StudySource(study_url)
    snap = source.snapshot()
    _, _, _, _, schema, *_ = poll(StudySource(study_url), None, None)

    def colours(fig):
        out = {}
        for tr in fig.data:
            if tr.customdata is not None and tr.name != "selected" and tr.name != "over budget":
                out.setdefault(tr.name.replace(" (front)", ""), set()).update(tr.marker.color)
        return out

    every = colours(front_figure(snap, "area_mm2", "method", schema))
    part = colours(front_figure(snap, "area_mm2", "method", schema, {}, {
        "train.method": ["ternary", "sparse-ternary"]}))  # fmt: skip
    assert "binary" not in part and all(part[m] == every[m] for m in part)
    numeric = front_figure(snap, "area_mm2", "hw.n_pe", schema, {}, {"hw.n_pe": [4]})
    marker = next(t.marker for t in numeric.data if t.customdata is not None)
    assert (marker.cmin, marker.cmax) == (4.0, 16.0)  # the whole study's range, not just 4


def test_design_table_pages_sorts_filters_and_follows_the_plot_selection(study_url):
    source = StudySource(study_url)
    snap = source.snapshot()
    data, pages, columns, status = table_view(snap, "area_mm2", size=10)
    assert (len(data), pages, status) == (10, 4, "36 designs")
    assert {"trial", "front", "method", "accuracy", "hw.n_pe"} <= {c["id"] for c in columns}
    on_front = {r["trial"] for page in range(4)
                for r in table_view(snap, "area_mm2", page=page, size=10)[0] if r["front"]}  # fmt: skip
    assert on_front == set(front_csv(snap, "area_mm2")["trial"])
    data, *_ = table_view(snap, "area_mm2", size=50, sort_by=[{"column_id": "area_mm2",
                                                              "direction": "desc"}])  # fmt: skip
    assert [r["area_mm2"] for r in data] == sorted((r["area_mm2"] for r in data), reverse=True)
    data, *_ = table_view(
        snap, "area_mm2", size=50, query="{method} contains binary && {hw.n_pe} = 4"
    )
    assert len(data) == 6 and {(r["method"], r["hw.n_pe"]) for r in data} == {("binary", 4)}
    data, _, _, status = table_view(snap, "area_mm2", plot_selection=[3, 1, 2], size=50)
    assert sorted(r["trial"] for r in data) == [1, 2, 3] and "3 designs selected" in status


def test_front_csv_is_the_brute_force_front(study_url):
    source = StudySource(study_url)
    _, _, _, _, schema, *_ = poll(source, None, None)
    snap = source.current()
    budget = float(snap.frame["latency_us"].quantile(0.8))
    csv = front_csv(snap, "energy_uj", schema, {}, {}, {"max-latency": budget})
    f = snap.frame[snap.frame["latency_us"] <= budget]
    pts = f[["accuracy", "energy_uj"]].to_numpy()
    expected = [
        t for t, p in zip(f["trial"], pts, strict=True)
        if not any((q[0] >= p[0] and q[1] <= p[1]) and (q[0] > p[0] or q[1] < p[1]) for q in pts)
    ]  # fmt: skip
    assert sorted(csv["trial"]) == sorted(expected) and len(expected) >= 2
    assert csv["energy_uj"].is_monotonic_increasing
    f3 = front_csv(snap, "3d", schema, {}, {})
    cols = ["accuracy", "area_mm2", "latency_us"]
    mask = non_dominated(snap.frame[cols].to_numpy(), [True, False, False])
    assert sorted(f3["trial"]) == sorted(snap.frame["trial"][mask])


def test_export_payload_is_the_front_as_csv(study_url):
    import io

    source = StudySource(study_url)
    _, _, _, _, schema, *_ = poll(source, None, None)
    payload = export_csv(source.current(), "latency_us", schema, {}, {})
    assert payload["filename"] == "pareto_front_latency_us.csv"
    got = pd.read_csv(io.StringIO(payload["content"]))
    want = front_csv(source.current(), "latency_us", schema, {}, {})
    assert got["trial"].tolist() == want["trial"].tolist() and "hw.n_pe" in got.columns


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
    trials = optuna.load_study(storage=study_url, study_name="train").trials
    trial = trials[1]
    view = detail_view(source, 1)
    text = _text(view)
    assert "Trial 1" in text and f"n_pe {trial.user_attrs['hw_config']['n_pe']}" in text
    layers = [layer["name"] for layer in trial.user_attrs["hw_report"]["layers"]]
    assert len(layers) == 2 and all(name in text for name in layers)
    assert "hidden_units [32]" in text and "feedback.feedback_objective latency" in text
    assert "lanes idle in a column" in text and "PE load imbalance" in text
    assert "waiting on broadcast / FIFO / imbalance" not in text and "steady state" in text
    table = next(c for c in view if getattr(c, "id", None) == "detail-layers")
    assert "PE busy max/mean" in table_rows(table)[0]
    ids = [getattr(c, "id", None) for c in view]
    assert {"detail-layers-graph", "detail-pe-graph"} <= set(ids)
    assert [g.id for g in training_view(source, 1)] == ["detail-train-graph"]
    with_cost = [t.number for t in trials if t.params["train.feedback"] == "analytical"
                 and t.params["train.method"] == "sparse-ternary"]  # fmt: skip
    assert "detail-feedback-graph" in [g.id for g in training_view(source, with_cost[0])]
    assert training_view(source, None) == []
    assert "not in the study" in _text(detail_view(source, 12345))
    assert "Click a point" in _text(detail_view(source, None))


def test_compare_view(study_url):
    source = StudySource(study_url)
    source.snapshot()
    assert "two or more" in _text(compare_view(source.current(), [1]))
    view = compare_view(source.current(), [1, 2, 3])
    assert view[0].id == "compare-table" and list(table_rows(view[0])[0]) == [
        "quantity",
        "trial 1",
        "trial 2",
        "trial 3",
    ]


def test_first_page_is_what_the_first_callbacks_would_give(study_url, hw_study_url, tmp_path):
    """The page is served with the first poll's filters, the tab switch and the front of the
    default view in it (not the design table: it mounts once the front is drawn); nothing
    when the study cannot be read."""
    from dash import dcc

    from dashboards.callbacks import first_page
    from dashboards.layout import TABS

    tabs = [dcc.Tab(label=label, value=value) for value, label in TABS]
    source = StudySource(study_url)
    values = first_page(source, tabs)
    version, status, _, _, schema, *_ = poll(StudySource(study_url), None, None)
    assert values[("version", "data")] == version and values[("schema", "data")] == schema
    assert values[("status", "children")] == status
    assert ("tabs", "value") not in values  # the accuracy tabs are already the page's
    fig, front_status = front_view(source.current(), TABS[0][0], "method", schema)
    assert values[("front-status", "children")] == front_status
    assert values[("front", "figure")].to_json() == fig.to_json()
    assert not [key for key in values if key[0] == "design-table"]
    hw = first_page(StudySource(hw_study_url), tabs)
    assert hw[("tabs", "value")] == "latency_us-vs-area_mm2" and hw[("color-by", "value")]
    assert first_page(StudySource(f"sqlite:///{tmp_path / 'none.db'}"), tabs) == {}
    assert not (tmp_path / "none.db").exists()


def test_static_files_are_compressed_once_and_callbacks_never_cached(study_url):
    from dashboards import create_app

    app = create_app(study_url, refresh_s=60)
    client = app.server.test_client()
    url = "/_dash-component-suites/plotly/package_data/plotly.min.js"
    first = client.get(url, headers={"Accept-Encoding": "gzip"})
    again = client.get(url, headers={"Accept-Encoding": "gzip"})
    assert first.headers["Content-Encoding"] == "gzip" and first.data == again.data
    assert len(first.data) < 4.8e6 / 2
    cache = app.server.extensions["compress"].cache
    assert f"gzip;{url}?" in cache._data and not any(k.endswith(";") for k in cache._data)
    layout = client.get("/_dash-layout", headers={"Accept-Encoding": "gzip"})
    assert layout.headers["Content-Encoding"] == "gzip"
    assert not any("_dash-layout" in k for k in cache._data)  # the page changes: not cached
