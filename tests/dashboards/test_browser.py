"""The app in headless Chromium (dash.testing's ``dash_duo``), on studies written by the tests."""

import os
import random

import optuna
import pytest
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.keys import Keys

from codesign.study.pareto import non_dominated
from dashboards import create_app
from dashboards.demo import demo_trial

pytestmark = pytest.mark.browser
POINTS = "#front .scatterlayer .trace .points path"

# every drawn marker: [element, trace name, trial number, x px, y px]
POINTS_JS = """
const out = [];
document.querySelectorAll('#front .scatterlayer .trace').forEach(tr => {
  const t = tr.__data__[0].trace;
  tr.querySelectorAll('.points path').forEach(p => {
    const r = p.getBoundingClientRect();
    const c = t.customdata ? t.customdata[p.__data__.i] : null;
    out.push([p, t.name, c, r.x + r.width / 2, r.y + r.height / 2]);
  });
});
return out;
"""


def trace_names(dash_duo):
    return dash_duo.driver.execute_script(
        "return document.querySelector('#front .js-plotly-plot').data.map(t => t.name)"
    )


def trace_types(dash_duo):
    return dash_duo.driver.execute_script(
        "return document.querySelector('#front .js-plotly-plot').data.map(t => t.type)"
    )


def front_line_x(dash_duo):
    """x of the drawn step line (area in mm²)."""
    return dash_duo.driver.execute_script(
        "const t = document.querySelector('#front .js-plotly-plot')._fullData"
        ".find(t => t.name === 'Pareto front'); return t ? Array.from(t.x) : [];"
    )


def expected_front_x(frame):
    mask = non_dominated(frame[["accuracy", "area_mm2"]].to_numpy(), [True, False])
    return sorted(frame["area_mm2"][mask].tolist())


def drawn(dash_duo):
    return dash_duo.driver.execute_script(POINTS_JS)


def isolated_point(points):
    """The design marker farthest from every other marker (so a click hits it alone)."""
    design = [p for p in points if p[2] is not None and p[1] not in ("over budget",)]

    def gap(p):
        return min(
            ((p[3] - q[3]) ** 2 + (p[4] - q[4]) ** 2 for q in points if q is not p), default=1e9
        )

    return max(design, key=gap)


def click(dash_duo, el):
    """Hover first (Plotly picks the clicked point from its hover state), then click."""
    ActionChains(dash_duo.driver).move_to_element(el).pause(0.3).click().perform()


def wait_points(dash_duo, n=None):
    dash_duo.wait_for_element(POINTS, timeout=15)
    if n is not None:
        dash_duo._wait_for(lambda d: len(drawn(dash_duo)) == n, timeout=10, msg=f"{n} points")
    return drawn(dash_duo)


def test_front_renders_and_a_click_opens_the_design(dash_duo, study_url, artifacts_dir):
    app = create_app(study_url, refresh_s=60)
    dash_duo.start_server(app)
    dash_duo.driver.set_window_size(1400, 1000)
    snap = app._codesign_source.current()
    points = wait_points(dash_duo)
    dash_duo.wait_for_contains_text("#status", "40 trials", timeout=10)
    trials = {int(p[2]) for p in points if p[2] is not None}
    assert trials == set(snap.frame["trial"])
    dash_duo.driver.save_screenshot(os.path.join(artifacts_dir, "main_page.png"))
    el, _, trial, _, _ = isolated_point(points)
    click(dash_duo, el)
    dash_duo.wait_for_text_to_equal("#detail-title", f"Trial {int(trial)}", timeout=10)
    hw = (
        optuna.load_study(storage=study_url, study_name="demo")
        .trials[int(trial)]
        .user_attrs["hw_config"]
    )
    dash_duo.wait_for_contains_text("#detail-hw", f"{hw['n_pe']}", timeout=5)
    assert "zero_skip" in dash_duo.find_element("#detail-hw").text
    dash_duo.wait_for_element("#detail-pe-graph .heatmaplayer, #detail-pe-graph .hm", timeout=10)
    dash_duo.driver.set_window_size(1400, 3200)  # the whole drill-down in one screenshot
    dash_duo.driver.execute_script("document.getElementById('detail').scrollIntoView()")
    dash_duo.find_element("#detail").screenshot(os.path.join(artifacts_dir, "drilldown.png"))
    assert dash_duo.get_logs() == []


def test_budget_and_filters_change_the_front(dash_duo, study_url):
    app = create_app(study_url, refresh_s=60)
    dash_duo.start_server(app)
    frame = app._codesign_source.current().frame
    wait_points(dash_duo)
    assert "over budget" not in trace_names(dash_duo)
    assert sorted(front_line_x(dash_duo)) == expected_front_x(frame)
    # a budget greys out what misses it
    budget = float(f"{frame['area_mm2'].median():.6f}")
    dash_duo.find_element("#max-area").send_keys(str(budget), Keys.ENTER)
    dash_duo._wait_for(lambda d: "over budget" in trace_names(dash_duo), timeout=10, msg="grey")
    grey = [p for p in drawn(dash_duo) if p[1] == "over budget"]
    assert len(grey) == int((frame["area_mm2"] > budget).sum()) > 0
    within = frame[frame["area_mm2"] <= budget]
    dash_duo._wait_for(lambda d: sorted(front_line_x(dash_duo)) == expected_front_x(within),
                       timeout=10, msg="front recomputed within budget")  # fmt: skip
    # the accuracy slider's upper handle, moved by keyboard, removes the best designs
    handle = dash_duo.find_elements("#filters [role=slider]")[1]
    handle.send_keys(*[Keys.PAGE_DOWN] * 2)
    dash_duo._wait_for(lambda d: len(drawn(dash_duo)) < len(frame), timeout=10, msg="filtered")
    high = float(handle.get_attribute("aria-valuenow"))
    kept = frame[100 * frame["accuracy"] <= high + 1e-9]
    dash_duo._wait_for(lambda d: len(drawn(dash_duo)) == len(kept), timeout=10, msg="kept")
    kept_within = kept[kept["area_mm2"] <= budget]
    assert sorted(front_line_x(dash_duo)) == expected_front_x(kept_within)
    assert expected_front_x(kept_within) != expected_front_x(within)
    dash_duo.find_element("#tabs .tab:nth-child(2)").click()  # accuracy vs latency
    dash_duo.wait_for_contains_text("#front .xtitle", "Latency (µs)", timeout=10)
    dash_duo.find_element("#tabs .tab:nth-child(4)").click()  # 3-D, drawn with WebGL
    dash_duo._wait_for(lambda d: "scatter3d" in trace_types(dash_duo), timeout=10, msg="3-D")
    dash_duo.wait_for_element("#front canvas", timeout=10)


def test_empty_study_shows_a_message(dash_duo, empty_study_url):
    dash_duo.start_server(create_app(empty_study_url, refresh_s=60))
    dash_duo.wait_for_contains_text("#message", "No finished trials", timeout=10)
    dash_duo.wait_for_contains_text("#front", "No designs to show", timeout=10)
    assert dash_duo.get_logs() == []


def test_missing_storage_shows_a_message(dash_duo, tmp_path):
    dash_duo.start_server(create_app(f"sqlite:///{tmp_path / 'none.db'}", refresh_s=60))
    dash_duo.wait_for_contains_text("#message", "file not found", timeout=10)


def test_new_trials_appear_and_the_selection_stays(dash_duo, tmp_path):
    from dashboards.demo import write_demo_study

    url = f"sqlite:///{tmp_path / 'live.db'}"
    write_demo_study(url, 8, real_reports=False)
    app = create_app(url, refresh_s=0.5)
    dash_duo.start_server(app)
    points = wait_points(dash_duo)
    el, _, trial, _, _ = isolated_point(points)
    click(dash_duo, el)
    dash_duo.wait_for_text_to_equal("#detail-title", f"Trial {int(trial)}", timeout=10)
    study = optuna.load_study(storage=url, study_name="demo")
    for i in (8, 9, 10):
        study.add_trial(demo_trial(i, random.Random(i)))
    dash_duo.wait_for_contains_text("#status", "11 trials", timeout=10)
    trials = lambda: {int(p[2]) for p in drawn(dash_duo) if p[2] is not None}  # noqa: E731
    dash_duo._wait_for(lambda d: len(trials()) == 10, timeout=10, msg="new points drawn")
    assert dash_duo.find_element("#detail-title").text == f"Trial {int(trial)}"
    names = dash_duo.driver.execute_script(
        "return document.querySelector('#front .js-plotly-plot').data.map(t => t.name)"
    )
    assert f"trial {int(trial)}" in names  # the selected design is still ringed


def test_hardware_study_front_is_drawn_and_a_click_opens_the_design(
    dash_duo, hw_study_url, artifacts_dir
):
    """A simulate-only sweep (accuracy null): hardware tabs, latency-vs-area front, drill-down."""
    app = create_app(hw_study_url, refresh_s=60)
    dash_duo.start_server(app)
    dash_duo.driver.set_window_size(1400, 1000)
    frame = app._codesign_source.current().frame
    dash_duo.wait_for_contains_text("#tabs", "Latency vs area", timeout=10)
    assert "Accuracy" not in dash_duo.find_element("#tabs").text
    dash_duo.wait_for_contains_text("#front .ytitle", "Latency (µs)", timeout=10)
    dash_duo.wait_for_contains_text("#status", "16 designs shown of 16 trials", timeout=10)
    points = wait_points(dash_duo)
    assert {int(p[2]) for p in points if p[2] is not None} == set(frame["trial"])
    mask = non_dominated(frame[["latency_us", "area_mm2"]].to_numpy(), [False, False])
    assert sorted(front_line_x(dash_duo)) == sorted(frame["area_mm2"][mask].tolist())
    assert "Accuracy" not in dash_duo.find_element("#filters").text  # no accuracy slider
    assert "workload.sparsity" in dash_duo.find_element("#filters").text
    dash_duo.wait_for_contains_text("#color-by", "hw.n_pe", timeout=5)  # one method: by n_pe
    dash_duo._wait_for(
        lambda d: (
            "colorbar" in str(trace_names(dash_duo)) or dash_duo.find_elements("#front .colorbar")
        ),
        timeout=10,
        msg="colour scale",
    )
    points = wait_points(dash_duo)
    dash_duo.driver.save_screenshot(os.path.join(artifacts_dir, "hw_front.png"))
    el, _, trial, _, _ = isolated_point(points)
    click(dash_duo, el)
    dash_duo.wait_for_text_to_equal("#detail-title", f"Trial {int(trial)}", timeout=10)
    sparsity = frame.loc[frame["trial"] == int(trial), "workload.sparsity"].item()
    dash_duo.wait_for_contains_text("#detail-workload", f"{sparsity}", timeout=5)
    assert "accuracy" not in dash_duo.find_element("#detail-summary").text
    dash_duo.driver.set_window_size(1400, 3000)  # the whole drill-down in one screenshot
    dash_duo.driver.execute_script("document.getElementById('detail').scrollIntoView()")
    dash_duo.find_element("#detail").screenshot(os.path.join(artifacts_dir, "hw_drilldown.png"))
    dash_duo.driver.set_window_size(1400, 1000)
    dash_duo.find_element("#tabs .tab:nth-child(2)").click()  # energy vs area
    dash_duo.wait_for_contains_text("#front .ytitle", "Energy (µJ)", timeout=10)
    dash_duo.find_element("#tabs .tab:nth-child(4)").click()  # 3-D: area, latency, energy
    dash_duo._wait_for(lambda d: "scatter3d" in trace_types(dash_duo), timeout=10, msg="3-D")
    dash_duo.wait_for_element("#front canvas", timeout=10)
    dash_duo.driver.execute_script("window.scrollTo(0, 0)")
    dash_duo.find_element("#front").screenshot(os.path.join(artifacts_dir, "hw_3d.png"))
    assert dash_duo.get_logs() == []
