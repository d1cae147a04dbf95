"""The app in headless Chromium (dash.testing's ``dash_duo``), on studies written by ``run_sweep``.

Every test waits for the plot's points (Plotly draws asynchronously) before it asserts.
"""

import os
import time

import optuna
import pytest
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from codesign.study.pareto import non_dominated
from dashboards import create_app

pytestmark = pytest.mark.browser
POINTS = "#front .scatterlayer .trace .points path"

# every drawn marker: [element, trace name, first trial, x px, y px, all trials, colour]
POINTS_JS = """
const out = [];
document.querySelectorAll('#front .scatterlayer .trace').forEach(tr => {
  const t = tr.__data__[0].trace;
  if (t.name === 'selected') return;
  tr.querySelectorAll('.points path').forEach(p => {
    const r = p.getBoundingClientRect();
    const c = t.customdata ? t.customdata[p.__data__.i] : null;
    const first = c === null ? null : (Array.isArray(c) ? c[0] : c);
    const all = c === null ? [] : (Array.isArray(c) ? c[2].split(' ').map(Number) : [c]);
    out.push([p, t.name, first, r.x + r.width / 2, r.y + r.height / 2, all, p.style.fill]);
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


def table_trials(dash_duo):
    """Trial numbers of the design table's rows on the current page."""
    cells = dash_duo.find_elements("#design-table td[data-dash-column=trial]")
    return [int(c.text) for c in cells if c.text.strip()]


def wait_table(dash_duo, n):
    dash_duo._wait_for(lambda d: len(table_trials(dash_duo)) == n, timeout=15, msg=f"{n} rows")
    return table_trials(dash_duo)


def hover_text(dash_duo):
    return " ".join(e.text for e in dash_duo.find_elements("#front .hoverlayer .hovertext"))


def test_stacked_designs_open_from_the_table(dash_duo, study_url, artifacts_dir):
    """36 trials on 16 markers: a stacked marker counts its designs in the hover, a click
    lists them all in the design table, and any of them opens from its row."""
    app = create_app(study_url, refresh_s=60)
    dash_duo.start_server(app)
    dash_duo.driver.set_window_size(1400, 1000)
    frame = app._codesign_source.current().frame
    points = wait_points(dash_duo, 16)
    assert sorted(t for p in points for t in p[5]) == sorted(frame["trial"])
    dash_duo.wait_for_contains_text("#front-status", "36 of 36 designs pass the filters", 10)
    assert "drawn as 16 markers" in dash_duo.find_element("#front-status").text
    stacked = next(p for p in points if len(p[5]) == 6)
    ActionChains(dash_duo.driver).move_to_element(stacked[0]).pause(0.5).perform()
    dash_duo._wait_for(lambda d: "6 trials" in hover_text(dash_duo), timeout=10, msg="hover")
    assert "train.reg_strength: " in hover_text(dash_duo)  # the knob that differs, listed
    dash_duo.driver.save_screenshot(os.path.join(artifacts_dir, "stacked_hover.png"))
    click(dash_duo, stacked[0])
    dash_duo.wait_for_text_to_equal("#detail-title", f"Trial {stacked[2]}", timeout=10)
    assert sorted(wait_table(dash_duo, 6)) == sorted(stacked[5])
    dash_duo.wait_for_contains_text("#table-status", "6 designs selected on the plot", 10)
    # metrics show 4 significant digits (88.33, not 88.333333), sorted on their values
    shown = {
        int(t.text): a.text
        for t, a in zip(
            dash_duo.find_elements("#design-table td[data-dash-column=trial]"),
            dash_duo.find_elements("#design-table td[data-dash-column=accuracy]"),
            strict=True,
        )
    }
    exact = frame.set_index("trial")["accuracy"]
    assert shown == {t: f"{100 * exact[t]:.4g}" for t in shown}, shown
    other = next(t for t in stacked[5] if t != stacked[2])
    row = next(c for c in dash_duo.find_elements("#design-table td[data-dash-column=trial]")
               if c.text == str(other))  # fmt: skip
    row.click()
    dash_duo.wait_for_text_to_equal("#detail-title", f"Trial {other}", timeout=10)
    # the drill-down names stalls for what they are, with per-PE busy beside them
    dash_duo.wait_for_contains_text("#detail-layers", "lanes idle in a column", 10)
    assert "PE busy max/mean" in dash_duo.find_element("#detail-layers").text
    train = dash_duo.find_element("#detail-train").text
    assert "hidden_units" in train and "[32]" in train and "feedback.feedback_objective" in train
    assert "steady state" in dash_duo.find_element("#detail").text
    dash_duo.wait_for_element("#detail-pe-graph .heatmaplayer, #detail-pe-graph .hm", timeout=10)
    dash_duo.wait_for_element("#detail-train-graph .scatterlayer .points path", timeout=10)
    dash_duo.driver.save_screenshot(os.path.join(artifacts_dir, "main_page.png"))
    dash_duo.driver.set_window_size(1400, 3600)  # the whole drill-down in one screenshot
    dash_duo.driver.execute_script("document.getElementById('detail').scrollIntoView()")
    dash_duo.find_element("#detail").screenshot(os.path.join(artifacts_dir, "drilldown.png"))
    dash_duo.find_element("#clear-selection").click()
    wait_table(dash_duo, 15)  # one page of the 36 designs
    assert dash_duo.get_logs() == []


def test_box_selection_lists_every_design_and_ticked_rows_compare(dash_duo, study_url):
    """A box over the whole plot keeps all 36 designs (no cap); ticked rows ring their points
    (in the browser) and fill the comparison."""
    app = create_app(study_url, refresh_s=60)
    dash_duo.start_server(app)
    wait_points(dash_duo, 16)
    # what Plotly emits after a box over every marker (a drag under a loaded headless browser
    # is unreliable): each marker's curve and point number; Dash reads customdata from them
    dash_duo.driver.execute_script("""
        const gd = document.querySelector('#front .js-plotly-plot');
        const points = [];
        gd.data.forEach((t, i) => { if (t.customdata && t.name !== 'selected')
            t.customdata.forEach((c, k) => points.push({curveNumber: i, pointNumber: k,
                                                        pointIndex: k, x: t.x[k], y: t.y[k]})); });
        gd.emit('plotly_selected', {points: points});
    """)
    dash_duo.wait_for_contains_text("#table-status", "36 designs selected on the plot", 15)
    boxes = dash_duo.find_elements("#design-table input[type=checkbox]")
    boxes[0].click()
    boxes[1].click()
    dash_duo.wait_for_element("#compare-table", timeout=10)
    assert len(dash_duo.find_elements("#compare-table th")) == 3  # quantity + two designs
    ring = lambda: dash_duo.driver.execute_script(  # noqa: E731
        "const d = document.querySelector('#front .js-plotly-plot').data;"
        "return d[d.length - 1].x.length"
    )
    dash_duo._wait_for(lambda d: ring() >= 1, timeout=10, msg="ticked designs ringed")
    assert dash_duo.get_logs() == []


def test_colours_keep_their_meaning_and_the_status_follows_filters(dash_duo, study_url):
    app = create_app(study_url, refresh_s=60)
    dash_duo.start_server(app)
    frame = app._codesign_source.current().frame
    points = wait_points(dash_duo, 16)
    colours = {p[1].replace(" (front)", ""): p[6] for p in points}
    assert {"binary", "ternary", "sparse-ternary"} <= set(colours)
    # the accuracy slider's upper handle, moved by keyboard, removes the best designs
    handle = dash_duo.find_elements("#filters [role=slider]")[1]
    handle.send_keys(*[Keys.PAGE_DOWN] * 2)
    high = lambda: float(handle.get_attribute("aria-valuenow"))  # noqa: E731
    kept = lambda: int((100 * frame["accuracy"] <= high() + 1e-9).sum())  # noqa: E731
    dash_duo._wait_for(lambda d: kept() < len(frame) and f"{kept()} of 36 designs pass" in
                       dash_duo.find_element("#front-status").text, timeout=15, msg="status follows")  # fmt: skip
    points = wait_points(dash_duo)
    assert all(colours[p[1].replace(" (front)", "")] == p[6] for p in points)
    # a budget nothing meets says so
    dash_duo.find_element("#max-area").send_keys("0.0001", Keys.ENTER)
    dash_duo.wait_for_contains_text("#front-status", "No design meets the budget", 10)
    assert "max area 0.0001 mm²" in dash_duo.find_element("#front-status").text


def test_3d_greys_out_over_budget_and_takes_the_colour(dash_duo, study_url, artifacts_dir):
    app = create_app(study_url, refresh_s=60)
    dash_duo.start_server(app)
    frame = app._codesign_source.current().frame
    wait_points(dash_duo, 16)
    budget = float(f"{frame['area_mm2'].median():.6f}")
    dash_duo.find_element("#max-area").send_keys(str(budget), Keys.ENTER)
    dash_duo.wait_for_contains_text("#front-status", "within budget", 10)
    dash_duo.find_element("#tabs .tab:nth-child(4)").click()
    dash_duo._wait_for(lambda d: "scatter3d" in trace_types(dash_duo), timeout=10, msg="3-D")
    dash_duo.wait_for_element("#front canvas", timeout=10)
    data = dash_duo.driver.execute_script(
        "return document.querySelector('#front .js-plotly-plot').data.map(t => "
        "[t.name, t.customdata ? t.customdata.length : 0, JSON.stringify(t.marker.color)])"
    )
    by = {name: (n, colour) for name, n, colour in data}
    assert by["over budget"][0] == int((frame["area_mm2"] > budget).sum()) > 0
    assert by["over budget"][0] + by["dominated"][0] + by["Pareto front"][0] == len(frame)
    assert by["Pareto front"][1] != by["dominated"][1] or "#" in by["Pareto front"][1]
    time.sleep(0.5)
    dash_duo.find_element("#front").screenshot(os.path.join(artifacts_dir, "front_3d.png"))
    box = dash_duo.find_element("#front .main-svg").size
    assert box["height"] >= 500  # the scene is not clipped: the graph keeps its full height


def test_export_picks_the_format_at_once_and_offers_no_cloud(dash_duo, study_url, tmp_path):
    app = create_app(study_url, refresh_s=60)
    dash_duo.start_server(app)
    wait_points(dash_duo, 16)
    titles = [b.get_attribute("data-title") or "" for b in
              dash_duo.find_elements("#front .modebar-btn")]  # fmt: skip
    assert titles and not any("Chart Studio" in t or "Share" in t or "cloud" in t.lower()
                              for t in titles)  # fmt: skip
    assert app._codesign_source.study_name in dash_duo.find_element("#front .gtitle").text
    dash_duo.driver.execute_cdp_cmd(
        "Page.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(tmp_path)}
    )
    dash_duo.find_element("#image-format input[value=svg]").click()
    dash_duo.find_element("#export-figure").click()
    path = tmp_path / "pareto_front.svg"
    dash_duo._wait_for(lambda d: path.exists() and path.stat().st_size > 0, timeout=15,
                       msg="SVG downloaded")  # fmt: skip
    svg = path.read_text()
    assert svg.startswith("<svg") and "Accuracy vs area" in svg  # the title is in the file


def test_empty_study_shows_a_message(dash_duo, empty_study_url):
    dash_duo.start_server(create_app(empty_study_url, refresh_s=60))
    dash_duo.wait_for_contains_text("#message", "No finished trials", timeout=10)
    dash_duo.wait_for_contains_text("#front", "No designs to show", timeout=10)
    assert dash_duo.get_logs() == []


def test_missing_storage_shows_a_message(dash_duo, tmp_path):
    dash_duo.start_server(create_app(f"sqlite:///{tmp_path / 'none.db'}", refresh_s=60))
    dash_duo.wait_for_contains_text("#message", "not found", timeout=10)
    assert not (tmp_path / "none.db").exists()


def copy_study(src_url: str, dst_url: str, numbers, name="train", src_name="train"):
    """A new study ``name`` at ``dst_url`` holding trials ``numbers`` of study ``src_name``
    at ``src_url`` (public API)."""
    src = optuna.load_study(storage=src_url, study_name=src_name)
    try:
        dst = optuna.load_study(storage=dst_url, study_name=name)
    except KeyError:
        dst = optuna.create_study(storage=dst_url, study_name=name, directions=src.directions)
        for k, v in src.user_attrs.items():
            dst.set_user_attr(k, v)
    trials = src.get_trials()
    dst.add_trials([trials[i] for i in numbers])
    return dst


def test_live_trials_move_the_filter_ranges_and_keep_the_selection(dash_duo, study_url, tmp_path):
    src = optuna.load_study(storage=study_url, study_name="train").get_trials()
    by_area = sorted(range(len(src)), key=lambda i: src[i].user_attrs["metrics"]["area_mm2"])
    first, later = by_area[:12], by_area[12:]  # the largest designs arrive later
    url = f"sqlite:///{tmp_path / 'live.db'}"
    copy_study(study_url, url, first)
    app = create_app(url, refresh_s=0.5)
    dash_duo.start_server(app)
    points = wait_points(dash_duo)
    el, _, trial, *_ = isolated_point(points)
    click(dash_duo, el)
    dash_duo.wait_for_text_to_equal("#detail-title", f"Trial {int(trial)}", timeout=10)

    def area_max():
        sliders = dash_duo.find_elements("#filters [role=slider]")
        return float(sliders[3].get_attribute("aria-valuemax"))

    old = area_max()
    copy_study(study_url, url, later)
    dash_duo.wait_for_contains_text("#status", "36 of 36 trials", timeout=15)
    want = max(t.user_attrs["metrics"]["area_mm2"] for t in src)
    dash_duo._wait_for(lambda d: abs(area_max() - want) < 1e-6, timeout=10, msg="range follows")
    assert want > old
    dash_duo._wait_for(lambda d: len(wait_points(dash_duo)) == 16, timeout=10, msg="all drawn")
    assert dash_duo.find_element("#detail-title").text == f"Trial {int(trial)}"


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
    dash_duo.wait_for_contains_text("#front .ytitle", "Latency, steady state (µs)", timeout=10)
    dash_duo.wait_for_contains_text("#status", "16 of 16 trials", timeout=10)
    points = wait_points(dash_duo)
    assert {t for p in points for t in p[5]} == set(frame["trial"])
    mask = non_dominated(frame[["latency_us", "area_mm2"]].to_numpy(), [False, False])
    assert sorted(front_line_x(dash_duo)) == sorted(frame["area_mm2"][mask].tolist())
    assert "Accuracy" not in dash_duo.find_element("#filters").text  # no accuracy slider
    assert "workload.sparsity" in dash_duo.find_element("#filters").text
    dash_duo.wait_for_contains_text("#color-by", "hw.n_pe", timeout=5)  # one method: by n_pe
    dash_duo.wait_for_element("#front .colorbar", timeout=10)
    assert "log2" in dash_duo.find_element("#front .colorbar").text  # n_pe: powers of two
    points = wait_points(dash_duo)
    dash_duo.driver.save_screenshot(os.path.join(artifacts_dir, "hw_front.png"))
    el, _, trial, *_ = isolated_point(points)
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
    dash_duo.wait_for_contains_text("#front .ytitle", "Energy, steady state (µJ)", timeout=10)
    dash_duo.find_element("#tabs .tab:nth-child(4)").click()  # 3-D: area, latency, energy
    dash_duo._wait_for(lambda d: "scatter3d" in trace_types(dash_duo), timeout=10, msg="3-D")
    dash_duo.wait_for_element("#front canvas", timeout=10)
    dash_duo.driver.execute_script("window.scrollTo(0, 0)")
    dash_duo.find_element("#front").screenshot(os.path.join(artifacts_dir, "hw_3d.png"))
    assert dash_duo.get_logs() == []


def test_journal_study_is_served(dash_duo, journal_study_url):
    app = create_app(journal_study_url, refresh_s=60)
    dash_duo.start_server(app)
    points = wait_points(dash_duo)
    assert {t for p in points for t in p[5]} == set(range(16))


def test_study_picker_history_importance_and_notes(dash_duo, study_url, tmp_path, artifacts_dir):
    url = f"sqlite:///{tmp_path / 'two.db'}"
    copy_study(study_url, url, range(36), name="train")
    copy_study(study_url, url, range(10), name="first-ten")
    before = (tmp_path / "two.db").read_bytes()
    app = create_app(url, refresh_s=60)
    dash_duo.start_server(app)
    wait_points(dash_duo)  # the newest study is shown first
    dash_duo.wait_for_contains_text("#status", "study 'first-ten': 10 of 10", timeout=10)
    dash_duo.select_dcc_dropdown("#study-picker", value="train")
    dash_duo.wait_for_contains_text("#status", "study 'train': 36 of 36", timeout=15)
    wait_points(dash_duo, 16)
    dash_duo.find_element("#analysis-tabs .tab:nth-child(2)").click()
    dash_duo.wait_for_element("#parallel-graph .parcoords", timeout=15)
    dash_duo.driver.save_screenshot(os.path.join(artifacts_dir, "parallel.png"))
    assert (tmp_path / "two.db").read_bytes() == before  # nothing written by looking
    dash_duo.find_element("#analysis-tabs .tab:nth-child(3)").click()
    dash_duo.wait_for_element("#history-graph .main-svg", timeout=15)
    dash_duo.wait_for_contains_text("#history-graph", "hypervolume", timeout=10)
    dash_duo.find_element("#history-graph").screenshot(os.path.join(artifacts_dir, "history.png"))
    dash_duo.find_element("#analysis-tabs .tab:nth-child(4)").click()
    dash_duo.find_element("#analysis-run").click()
    dash_duo.wait_for_element("#importance-graph .bars path", timeout=60)
    text = dash_duo.find_element("#importance-graph").text
    assert "train.method" in text or "hw.n_pe" in text
    dash_duo.driver.save_screenshot(os.path.join(artifacts_dir, "importance.png"))
    # a note is the one write, and only when asked
    el, _, trial, *_ = isolated_point(wait_points(dash_duo, 16))
    click(dash_duo, el)
    dash_duo.wait_for_text_to_equal("#detail-title", f"Trial {int(trial)}", timeout=10)
    dash_duo.find_element("#note-text").send_keys("fits the edge budget")
    dash_duo.find_element("#note-save").click()
    dash_duo.wait_for_contains_text("#note-status", f"note saved on trial {int(trial)}", 10)
    from codesign.study import StudyStore

    attrs = StudyStore.open(url, "train").system_attrs
    assert attrs[f"codesign:note:{int(trial)}"] == "fits the edge budget"


# records the body of every callback request the page makes (Dash's renderer uses fetch)
RECORD_POSTS = """
window.__cd_posts = [];
const fetch0 = window.fetch;
window.fetch = function (url, opts) {
  if (opts && opts.body) { window.__cd_posts.push(String(opts.body)); }
  return fetch0.apply(this, arguments);
};
"""


# the first frame in which the front has markers, and the first with the design table in it
FIRST_FRAMES = """
window.__cd_first = {};
(function loop() {
  const f = window.__cd_first, now = performance.now();
  if (f.front === undefined && document.querySelector('#front .scatterlayer .points path')) {
    f.front = now;
  }
  if (f.table === undefined && document.getElementById('design-table')) { f.table = now; }
  if (f.front === undefined || f.table === undefined) { requestAnimationFrame(loop); }
})();
"""


def posts(dash_duo):
    return dash_duo.driver.execute_script("return window.__cd_posts || []")


def test_first_page_and_clicks_need_no_front_from_the_server(dash_duo, study_url):
    """Issue 11 item 7: plotly.js is served compressed; the first page carries the front (no
    callback draws it); the design table mounts only after the front is drawn; a click opens
    the design and moves the ring in the browser, without the server re-sending the front."""
    app = create_app(study_url, refresh_s=60)
    dash_duo.start_server(app)
    wait_points(dash_duo, 16)
    sizes = dash_duo.driver.execute_script(
        "const e = performance.getEntriesByType('resource')"
        ".find(e => e.name.includes(arguments[0])); return [e.transferSize, e.decodedBodySize]",
        app._codesign_plotly_url,
    )
    assert 0 < sizes[0] < sizes[1] / 2  # plotly.js (the partial bundle, 2 MB) sent compressed
    dash_duo.driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument",
                                    {"source": RECORD_POSTS + FIRST_FRAMES})  # fmt: skip
    dash_duo.driver.refresh()
    points = wait_points(dash_duo, 16)
    wait_table(dash_duo, 15)  # the design table mounts once the front is drawn, then fills
    first = dash_duo.driver.execute_script("return window.__cd_first")
    assert first["front"] < first["table"], first
    dash_duo.wait_for_contains_text("#status", "36 of 36 trials", timeout=10)
    time.sleep(1.0)  # let every first callback finish
    assert not [p for p in posts(dash_duo) if "front.figure" in p]
    el, _, trial, x, y, *_ = isolated_point(points)
    click(dash_duo, el)
    dash_duo.wait_for_text_to_equal("#detail-title", f"Trial {int(trial)}", timeout=10)
    ring = lambda: dash_duo.driver.execute_script(  # noqa: E731
        "const d = document.querySelector('#front .js-plotly-plot').data;"
        "const r = d[d.length - 1]; return [r.name, Array.from(r.x).length]"
    )
    dash_duo._wait_for(lambda d: ring() == ["selected", 1], timeout=10, msg="ring moved")
    assert not [p for p in posts(dash_duo) if "front.figure" in p]
    assert dash_duo.get_logs() == []


def test_webgl_front_points_stand_out_and_open(dash_duo, study_url):
    """Issue 11 item 5: above ``webgl_above`` markers the front draws with WebGL, its designs
    still large, opaque and outlined (their own traces), dominated ones faded; a click on
    a WebGL marker opens its design."""
    app = create_app(study_url, refresh_s=60, webgl_above=5)  # 16 markers: WebGL
    dash_duo.start_server(app)
    dash_duo._wait_for(
        lambda d: d.execute_script(
            "const gd = document.querySelector('#front .js-plotly-plot');"
            "return !!(gd && gd._fullLayout && gd._fullLayout._glcanvas)"
        ),
        timeout=15,
        msg="WebGL canvas",
    )
    traces = dash_duo.driver.execute_script(
        "return document.querySelector('#front .js-plotly-plot')._fullData.map(t => [t.type, "
        "t.name, t.marker ? t.marker.size : null, t.marker ? t.marker.opacity : null, "
        "t.marker && t.marker.line ? t.marker.line.width : null, "
        "t.customdata ? t.customdata.length : 0])"
    )
    points = [t for t in traces if t[5] and t[1] != "selected"]
    assert points and all(t[0] == "scattergl" for t in points)
    front = [t for t in points if t[1].endswith("(front)")]
    rest = [t for t in points if not t[1].endswith("(front)")]
    assert front and rest
    assert all(t[2] == 11 and t[3] == 1 and t[4] > 0 for t in front)
    assert all(t[2] < 11 and t[3] < 1 for t in rest)
    assert sum(t[5] for t in points) == 16
    assert "Pareto front" in [t[1] for t in traces]  # the step line as well
    trial = dash_duo.driver.execute_script("""
        const gd = document.querySelector('#front .js-plotly-plot');
        const i = gd.data.findIndex(t => t.name.endsWith('(front)'));
        const t = gd.data[i];
        gd.emit('plotly_click', {points: [{curveNumber: i, pointNumber: 0, pointIndex: 0,
            x: t.x[0], y: t.y[0], customdata: t.customdata[0]}]});
        return t.customdata[0][0];
    """)
    dash_duo.wait_for_text_to_equal("#detail-title", f"Trial {int(trial)}", timeout=10)
    assert dash_duo.get_logs() == []


def test_energy_budget_slices_and_parallel_follow_the_selection(dash_duo, study_url, artifacts_dir):
    """Issue 11 items 1 and 10: an energy budget greys designs out and names itself; the
    parallel coordinates colour a ticked design red; the knob-vs-metric slices are drawn."""
    app = create_app(study_url, refresh_s=60)
    dash_duo.start_server(app)
    frame = app._codesign_source.current().frame
    wait_points(dash_duo, 16)
    budget = float(f"{frame['energy_uj'].median():.6g}")
    dash_duo.find_element("#max-energy").send_keys(str(budget), Keys.ENTER)
    within = int((frame["energy_uj"] <= budget).sum())
    dash_duo.wait_for_contains_text("#front-status", f"{within} within budget", 10)
    assert "max energy" in dash_duo.find_element("#front .gtitle").text
    assert any(p[1] == "over budget" for p in wait_points(dash_duo))
    box = dash_duo.find_elements("#design-table input[type=checkbox]")[0]
    box.click()
    dash_duo.wait_for_element("#detail-title", timeout=10)
    dash_duo.find_element("#analysis-tabs .tab:nth-child(2)").click()
    dash_duo.wait_for_element("#parallel-graph .parcoords", timeout=15)
    colours = dash_duo.driver.execute_script(
        "return Array.from(document.querySelector('#parallel-graph .js-plotly-plot')"
        "._fullData[0].line.color)"
    )
    assert colours.count(2) == 1  # the ticked design, red
    dash_duo.driver.set_window_size(1400, 1000)
    table = dash_duo.find_element("#design-table")
    dash_duo.driver.execute_script("arguments[0].scrollIntoView()", table)
    table.screenshot(os.path.join(artifacts_dir, "design_table.png"))
    dash_duo.find_element("#analysis-tabs .tab:nth-child(5)").click()
    drawn_gl = (  # the slices draw with WebGL: wait for the canvas and the points' data
        "const gd = document.querySelector('#slices-graph .js-plotly-plot');"
        "return !!(gd && gd._fullLayout && gd._fullLayout._glcanvas) &&"
        " gd._fullData.reduce((n, t) => n + (t.x ? t.x.length : 0), 0)"
    )
    dash_duo._wait_for(lambda d: d.execute_script(drawn_gl) == len(frame) * len(
        app._codesign_source.current().params), timeout=15, msg="slices drawn")  # fmt: skip
    text = dash_duo.find_element("#slices-graph").text
    assert "train.reg_strength" in text or "hw.n_pe" in text
    graph = dash_duo.find_element("#slices-graph")
    dash_duo.driver.execute_script("arguments[0].scrollIntoView()", graph)
    time.sleep(0.5)
    graph.screenshot(os.path.join(artifacts_dir, "slices.png"))
    assert dash_duo.get_logs() == []


def _wait_grey(dash_duo, trials: set, msg: str) -> None:
    """Wait until exactly ``trials`` are drawn in the front's "over budget" trace."""
    dash_duo._wait_for(
        lambda d: {t for p in drawn(dash_duo) if p[1] == "over budget" for t in p[5]} == trials,
        timeout=10,
        msg=msg,
    )


def test_budget_on_any_metric(dash_duo, study_url):
    """Budgets on any metric: "Add a budget" gives a row whose dropdown offers every metric
    of the study with its bound and unit; a budget on weight storage (which had no budget
    input) greys out the designs over it, names itself in the title and counts in the status
    line; emptying the box lifts it. Sparsity is offered both ways; "min sparsity" greys out
    the designs with fewer zeros. Nothing logs an error."""
    app = create_app(study_url, refresh_s=60)
    dash_duo.start_server(app)
    frame = app._codesign_source.current().frame
    wait_points(dash_duo, 16)
    dash_duo.wait_for_contains_text("#front-status", f"{len(frame)} within budget", 10)
    dash_duo.find_element("#add-budget").click()
    dash_duo.wait_for_element("#metric-budgets .dash-dropdown", timeout=10)
    dash_duo.select_dcc_dropdown("#metric-budgets .dash-dropdown", "max weight storage (KiB)")
    budget = float(f"{frame['size_kib'].median():.6g}")
    over = set(frame.loc[frame["size_kib"] > budget, "trial"])
    assert 0 < len(over) < len(frame)
    box = dash_duo.find_element("#metric-budgets input[type=number]")
    box.send_keys(str(budget), Keys.ENTER)
    within = len(frame) - len(over)
    dash_duo.wait_for_contains_text("#front-status", f"{within} within budget", 10)
    dash_duo.wait_for_contains_text("#front .gtitle", f"max weight storage {budget:g} KiB", 10)
    _wait_grey(dash_duo, over, "the designs over the budget drawn grey")
    box.send_keys(Keys.CONTROL, "a")
    box.send_keys(Keys.BACKSPACE, Keys.ENTER)
    dash_duo.wait_for_contains_text("#front-status", f"{len(frame)} within budget", 10)
    assert "over budget" not in trace_names(dash_duo)
    # sparsity has no better direction: a second row offers it as a lower or an upper bound
    # and shows the one picked; "at least" greys out the designs with fewer zeros
    dash_duo.find_element("#add-budget").click()
    row = "#metric-budgets > div:nth-child(2)"
    dash_duo.wait_for_element(f"{row} .dash-dropdown", timeout=10)
    dash_duo.find_element(f"{row} .dash-dropdown").click()
    dash_duo.wait_for_element(".dash-dropdown-options .dash-dropdown-option", timeout=10)
    options = {e.text: e for e in dash_duo.find_elements(".dash-dropdown-option")}
    assert "min sparsity (%)" in options and "max sparsity (%)" in options, list(options)
    assert "max weight storage (KiB)" in options and "min weight storage (KiB)" not in options
    options["min sparsity (%)"].click()
    dash_duo.wait_for_contains_text(f"{row} .dash-dropdown", "min sparsity (%)", 10)
    budget = float(f"{100 * frame['sparsity'].median():.6g}")  # typed in %
    over = set(frame.loc[frame["sparsity"] < budget / 100, "trial"])
    assert 0 < len(over) < len(frame)
    dash_duo.find_element(f"{row} input[type=number]").send_keys(str(budget), Keys.ENTER)
    dash_duo.wait_for_contains_text("#front-status", f"{len(frame) - len(over)} within budget", 10)
    dash_duo.wait_for_contains_text("#front .gtitle", f"min sparsity {budget:g} %", 10)
    _wait_grey(dash_duo, over, "the designs under the sparsity budget drawn grey")
    assert dash_duo.get_logs() == []


def row_text(dash_duo, row: int) -> str:
    """What budget row ``row`` (from 1) shows: its dropdown's text."""
    return dash_duo.find_element(f"#metric-budgets > div:nth-child({row}) .dash-dropdown").text


def offered(dash_duo, row: int) -> dict:
    """``{label: disabled}`` of the options budget row ``row`` offers (opened and closed)."""
    dropdown = dash_duo.find_element(f"#metric-budgets > div:nth-child({row}) .dash-dropdown")
    dropdown.click()
    dash_duo.wait_for_element(".dash-dropdown-options .dash-dropdown-option", timeout=10)
    out = {  # a disabled option's radio button is disabled
        e.text: e.find_element(By.CSS_SELECTOR, "input").get_attribute("disabled") is not None
        for e in dash_duo.find_elements(".dash-dropdown-option")
    }
    dropdown.send_keys(Keys.ESCAPE)
    dash_duo._wait_for(
        lambda d: not dash_duo.find_elements(".dash-dropdown-options"), timeout=5, msg="closed"
    )
    return out


def test_budget_rows_follow_the_study_picker(dash_duo, study_url, hw_study_url, tmp_path):
    """Budget rows added on a training study offer the metrics of the study shown after a
    switch: on a simulate-only study a min-accuracy row is marked "not in this study" and
    not applied (the title and status leave it out), a row on energy applies there; back on
    the training study both apply again. Both studies written by ``run_sweep``."""
    from dashboards.data import StudySource
    from dashboards.wiring import metric_budget_options

    url = f"sqlite:///{tmp_path / 'two.db'}"
    copy_study(hw_study_url, url, range(16), name="hw", src_name="hw")
    copy_study(study_url, url, range(36), name="train")  # the newest: shown first
    app = create_app(url, refresh_s=60)
    dash_duo.start_server(app)
    train = app._codesign_source.current().frame
    hw_source = StudySource(url, "hw")
    hw = hw_source.snapshot().frame
    wait_points(dash_duo, 16)
    dash_duo.wait_for_contains_text("#status", "study 'train'", timeout=10)
    accuracy = float(f"{100 * train['accuracy'].median():.6g}")
    energy = float(f"{hw['energy_uj'].median():.6g}")
    for row, (label, value) in enumerate(
        [("min test accuracy (%)", accuracy), ("max energy, steady state (µJ)", energy)], start=1
    ):
        dash_duo.find_element("#add-budget").click()
        sel = f"#metric-budgets > div:nth-child({row})"
        dash_duo.wait_for_element(f"{sel} .dash-dropdown", timeout=10)
        dash_duo.select_dcc_dropdown(f"{sel} .dash-dropdown", label)
        dash_duo.wait_for_contains_text(f"{sel} .dash-dropdown", label, 10)
        dash_duo.find_element(f"{sel} input[type=number]").send_keys(str(value), Keys.ENTER)
    within = int(((train["accuracy"] >= accuracy / 100) & (train["energy_uj"] <= energy)).sum())
    assert 0 < within < len(train)
    dash_duo.wait_for_contains_text("#front-status", f"{within} within budget", 10)
    dash_duo.wait_for_contains_text("#front .gtitle", f"min test accuracy {accuracy:g} %", 10)

    dash_duo.select_dcc_dropdown("#study-picker", value="hw")
    dash_duo.wait_for_contains_text("#status", "study 'hw': 16 of 16", timeout=15)
    dash_duo.wait_for_contains_text("#metric-budgets > div:nth-child(1)", "not in this study", 10)
    assert row_text(dash_duo, 2) == "max energy, steady state (µJ)"
    expected = [o["label"] for o in metric_budget_options(hw_source)]
    assert "min test accuracy (%)" not in expected and "max energy, steady state (µJ)" in expected
    assert offered(dash_duo, 2) == dict.fromkeys(expected, False)
    assert offered(dash_duo, 1) == {
        **dict.fromkeys(expected, False),
        "min test accuracy (%): not in this study": True,
    }
    within = int((hw["energy_uj"] <= energy).sum())
    assert 0 < within < len(hw)
    dash_duo.wait_for_contains_text("#front-status", f"{within} within budget", 10)
    dash_duo.wait_for_contains_text("#front .gtitle", f"max energy, steady state {energy:g} µJ", 10)
    assert "accuracy" not in dash_duo.find_element("#front .gtitle").text

    dash_duo.select_dcc_dropdown("#study-picker", value="train")
    dash_duo.wait_for_contains_text("#status", "study 'train': 36 of 36", timeout=15)
    dash_duo._wait_for(
        lambda d: row_text(dash_duo, 1) == "min test accuracy (%)", timeout=10, msg="row 1 back"
    )
    within = int(((train["accuracy"] >= accuracy / 100) & (train["energy_uj"] <= energy)).sum())
    dash_duo.wait_for_contains_text("#front-status", f"{within} within budget", 10)
    dash_duo.wait_for_contains_text("#front .gtitle", f"min test accuracy {accuracy:g} %", 10)
    assert dash_duo.get_logs() == []
