"""The partial plotly.js bundle the page loads (``dashboards/vendor``, built by
``scripts/build_plotly_bundle.sh``): it holds every trace type the dashboard draws, the page
loads it and nothing else, and a missing or stale bundle falls back to the full one."""

import ast
import json
import os
import pathlib
import shutil

import plotly.graph_objects as go
import pytest
from plotly.basedatatypes import BaseTraceType
from plotly.offline import get_plotlyjs_version

import dashboards
from dashboards import app as app_module
from dashboards import create_app
from dashboards.app import BUNDLE_ROUTE, FULL_PLOTLY, PLOTLY_BUNDLE, plotly_bundle
from dashboards.callbacks import front_view, poll
from dashboards.data import StudySource
from dashboards.figures import views_for
from dashboards.views import compare_view, detail_view, training_view
from dashboards.wiring import _analysis_view

#: every trace type plotly knows, by name
TRACE_TYPES = {
    cls._path_str
    for name in dir(go)
    if isinstance(cls := getattr(go, name), type) and issubclass(cls, BaseTraceType)
}
MANIFEST = json.loads(pathlib.Path(PLOTLY_BUNDLE).read_text())
BUNDLED = set(MANIFEST["traces"])
REBUILD = (
    "add it to TRACES in dashboards/plotly_bundle/build.js and run scripts/build_plotly_bundle.sh"
)


def test_the_bundle_is_the_one_its_manifest_describes():
    manifest, _ = plotly_bundle()  # the file's sha256 and plotly.js version checked
    assert manifest["plotly_js"] == get_plotlyjs_version()
    assert BUNDLED <= TRACE_TYPES
    size = os.path.getsize(os.path.join(os.path.dirname(PLOTLY_BUNDLE), manifest["file"]))
    assert size == manifest["bytes"] < manifest["full_bundle_bytes"] / 2
    with open(os.path.join(os.path.dirname(PLOTLY_BUNDLE), manifest["file"])) as f:
        head = f.read(400)
    assert f"plotly.js v{manifest['plotly_js']}" in head and "MIT license" in head


def _types_in_source(tree: ast.AST) -> set[str]:
    """Trace types a module names: ``go.<Trace>(...)`` classes and the string values of a
    ``"type"`` key in dict literals (``{"type": "scattergl" if webgl else "scatter"}``)."""
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            cls = getattr(go, node.attr, None) if node.value.id == "go" else None
            if isinstance(cls, type) and issubclass(cls, BaseTraceType):
                out.add(cls._path_str)
        if isinstance(node, ast.Dict):
            for key, value in zip(node.keys, node.values, strict=True):
                if isinstance(key, ast.Constant) and key.value == "type":
                    out |= {
                        n.value
                        for n in ast.walk(value)
                        if isinstance(n, ast.Constant) and n.value in TRACE_TYPES
                    }
    return out


def test_every_trace_type_named_in_the_dashboard_is_bundled():
    root = pathlib.Path(dashboards.__file__).parent
    named = {}
    for path in sorted(root.glob("*.py")):
        for kind in _types_in_source(ast.parse(path.read_text())):
            named.setdefault(kind, []).append(path.name)
    missing = {k: v for k, v in named.items() if k not in BUNDLED}
    assert not missing, f"trace types not in the plotly.js bundle: {missing}; {REBUILD}"
    assert set(named) == BUNDLED, "the bundle holds trace types the dashboard never names"


def _figure_types(component) -> set[str]:
    """Trace types of every ``dcc.Graph`` figure in a Dash tree (or of a figure)."""
    if isinstance(component, go.Figure):
        return {t.type for t in component.data}
    if isinstance(component, list | tuple):
        return set().union(*(_figure_types(c) for c in component))
    out = set()
    figure = getattr(component, "figure", None)
    if figure is not None:
        data = figure.data if isinstance(figure, go.Figure) else figure.get("data", [])
        out |= {t.type if hasattr(t, "type") else t.get("type", "scatter") for t in data}
    children = getattr(component, "children", None)
    if children is not None and not isinstance(children, str):
        out |= _figure_types(children)
    return out


def test_every_figure_the_dashboard_draws_is_bundled(study_url, hw_study_url):
    """The figures themselves, as the page gets them on studies of the real sweep: every
    tab of the front (SVG and WebGL), the drill-down (layers, PE heatmap, training and
    feedback curves), the comparison and the four analysis figures."""
    drawn: dict[str, set] = {}
    for url in (study_url, hw_study_url):
        source = StudySource(url)
        source.snapshot()
        snap = source.current()
        schema = poll(source, None, None)[4]
        for view in views_for(snap.has_accuracy):
            for webgl_above in (10**9, 0):  # SVG, then WebGL
                fig, _ = front_view(snap, view.value, "hw.n_pe", schema, webgl_above=webgl_above)
                drawn[f"front {view.value} (webgl_above={webgl_above})"] = _figure_types(fig)
        trials = [int(t) for t in snap.frame["trial"]]
        for t in trials[:4]:
            drawn[f"detail {t}"] = _figure_types(detail_view(source, t))
            drawn[f"training {t}"] = _figure_types(training_view(source, t))
        drawn["compare"] = _figure_types(compare_view(snap, trials[:3]))
        target = snap.objectives[0]
        on_front = snap.frame["trial"].isin(trials[:4]).to_numpy()
        for which in ("parallel", "history", "importance", "slices"):
            view = _analysis_view(which, snap, snap.frame, on_front, trials[:1], target,
                                  "analysis-run")  # fmt: skip
            drawn[f"{which} ({url.rsplit('/', 1)[-1]})"] = _figure_types(view)
    missing = {k: sorted(v - BUNDLED) for k, v in drawn.items() if v - BUNDLED}
    assert not missing, (
        f"figures with trace types not in the plotly.js bundle: {missing}; {REBUILD}"
    )
    assert set().union(*drawn.values()) == BUNDLED  # each bundled type is drawn somewhere


@pytest.fixture
def no_bundle(tmp_path, monkeypatch):
    """The bundle's manifest pointed at a copy the test may break."""
    vendor = tmp_path / "vendor"
    shutil.copytree(os.path.dirname(PLOTLY_BUNDLE), vendor)
    monkeypatch.setattr(app_module, "PLOTLY_BUNDLE", str(vendor / os.path.basename(PLOTLY_BUNDLE)))
    return vendor


def _index(app) -> str:
    return app.server.test_client().get("/").get_data(as_text=True)


def test_the_page_loads_the_partial_bundle_compressed(hw_study_url):
    app = create_app(hw_study_url, refresh_s=60, preload=False)
    html = _index(app)
    url = f"/{BUNDLE_ROUTE}{MANIFEST['file']}?v={MANIFEST['sha256'][:12]}"
    assert html.count(MANIFEST["file"]) == 1 and json.dumps(url) in html  # the head's script only
    assert FULL_PLOTLY not in html
    client = app.server.test_client()
    assert client.get(url).get_data() == pathlib.Path(PLOTLY_BUNDLE).with_name(
        MANIFEST["file"]).read_bytes()  # fmt: skip
    for encoding in ("gzip", "br", "zstd"):
        res = client.get(url, headers={"Accept-Encoding": encoding})
        assert res.status_code == 200 and res.headers["Content-Encoding"] == encoding
        assert int(res.headers["Content-Length"]) < MANIFEST["bytes"] / 2
        assert res.headers["Content-Type"].startswith("application/javascript")
        assert "max-age=31536000" in res.headers["Cache-Control"]


@pytest.mark.parametrize("damage", ["missing", "stale", "other plotly.js"])
def test_a_missing_or_stale_bundle_falls_back_to_the_full_one(
    hw_study_url, no_bundle, capsys, damage
):
    bundle = no_bundle / MANIFEST["file"]
    if damage == "missing":
        bundle.unlink()
    elif damage == "stale":
        bundle.write_bytes(bundle.read_bytes() + b"\n")
    else:
        manifest = dict(MANIFEST, plotly_js="0.0.1")
        (no_bundle / os.path.basename(PLOTLY_BUNDLE)).write_text(json.dumps(manifest))
    html = _index(create_app(hw_study_url, refresh_s=60, preload=False))
    err = capsys.readouterr().err
    assert "serving the full plotly.js bundle instead of the partial one" in err
    assert {"missing": "No such file", "stale": "sha256", "other plotly.js": "rebuild it"}[
        damage
    ] in err
    assert f"/{FULL_PLOTLY}" in html and MANIFEST["file"] not in html


# every script the page fetched, and the trace types the plotly.js it runs has registered
LOADED = """
return [performance.getEntriesByType('resource').map(e => e.name),
        Object.keys(window.Plotly.PlotSchema.get().traces).sort()];
"""


@pytest.mark.browser
def test_the_browser_fetches_only_the_partial_bundle_and_every_kind_draws(dash_duo, study_url):
    """In Chromium: the page fetches the partial bundle and never the full one, the plotly.js
    it runs registers exactly the manifest's trace types, and the 2-D front, the 3-D view,
    the parallel coordinates, the layer bars and the PE heatmap all draw with it."""
    app = create_app(study_url, refresh_s=60)
    dash_duo.start_server(app)
    dash_duo.wait_for_element("#front .scatterlayer .trace .points path", timeout=15)
    fetched, registered = dash_duo.driver.execute_script(LOADED)
    assert [u for u in fetched if MANIFEST["file"] in u], fetched
    assert not [u for u in fetched if "plotly.min.js" in u], fetched
    assert registered == sorted(BUNDLED)
    gd = "document.querySelector('#front .js-plotly-plot')"
    trial = dash_duo.driver.execute_script(
        f"const gd = {gd}; const t = gd.data.find(t => t.customdata && t.customdata.length"
        " && t.name !== 'selected'); const c = t.customdata[0];"
        " return Array.isArray(c) ? c[0] : c;"
    )
    dash_duo.driver.execute_script(  # a click on a marker, as Plotly emits it
        f"const gd = {gd}; const i = gd.data.findIndex(t => t.customdata"
        " && t.customdata.length && t.name !== 'selected'); const t = gd.data[i];"
        " gd.emit('plotly_click', {points: [{curveNumber: i, pointNumber: 0, pointIndex: 0,"
        " x: t.x[0], y: t.y[0], customdata: t.customdata[0]}]});"
    )
    dash_duo.wait_for_text_to_equal("#detail-title", f"Trial {int(trial)}", timeout=10)
    dash_duo.wait_for_element("#detail-layers-graph .barlayer .point path", timeout=10)
    dash_duo.wait_for_element("#detail-pe-graph .heatmaplayer image", timeout=10)
    dash_duo.find_element("#analysis-tabs .tab:nth-child(2)").click()
    dash_duo.wait_for_element("#parallel-graph .parcoords .axis", timeout=15)
    dash_duo.find_element("#tabs .tab:nth-child(4)").click()
    dash_duo._wait_for(
        lambda d: d.execute_script(
            f"const gd = {gd}; return !!(gd && gd._fullLayout.scene"
            " && gd._fullLayout.scene._scene && gd._fullLayout.scene._scene.glplot)"
            " && gd.data.some(t => t.type === 'scatter3d')"
        ),
        timeout=15,
        msg="3-D scene drawn",
    )
    assert dash_duo.get_logs() == []


@pytest.mark.browser
def test_the_fallback_page_draws_with_the_full_bundle(dash_duo, hw_study_url, no_bundle):
    (no_bundle / MANIFEST["file"]).unlink()
    dash_duo.start_server(create_app(hw_study_url, refresh_s=60))
    dash_duo.wait_for_element("#front .scatterlayer .trace .points path", timeout=20)
    fetched, registered = dash_duo.driver.execute_script(LOADED)
    assert [u for u in fetched if u.endswith(FULL_PLOTLY)], fetched
    assert not [u for u in fetched if MANIFEST["file"] in u]
    assert BUNDLED < set(registered)
