"""Build the Dash app for the studies of one storage: :func:`create_app`."""

from __future__ import annotations

import hashlib
import json
import os
import sys
import time

import dash

from codesign.study import shown_url

from .callbacks import WEBGL_ABOVE, first_page
from .data import StudyLoadError, list_studies
from .layout import build_layout, design_table, fill
from .wiring import Sources, register

__all__ = ["create_app"]


def create_app(
    storage_url: str,
    study_name: str | None = None,
    refresh_s: float = 5.0,
    webgl_above: int = WEBGL_ABOVE,
    preload: bool = True,
) -> dash.Dash:
    """The Pareto explorer for ``study_name`` (default: the newest study) in ``storage_url``.

    ``refresh_s``: seconds between polls for new trials. ``webgl_above``: 2-D fronts
    with more points than this draw with WebGL. ``preload``: read the whole study
    now (progress on stderr), so the first page is served from memory; later polls
    read only new trials. The storage is opened read-only; a missing or malformed
    study shows a message in the page. Assets (plotly.js ...) are served compressed; the
    page loads the partial plotly.js bundle of :data:`PLOTLY_BUNDLE` (the full one if it is
    missing or stale, said on stderr).
    """
    if not refresh_s > 0:
        raise ValueError(f"refresh_s must be > 0 seconds, got {refresh_s!r}")
    studies, storage = list_studies(storage_url)
    default = study_name or (studies[-1] if studies else None)
    sources = Sources(storage_url, default, storage)
    if preload:
        t = time.perf_counter()
        shown = shown_url(storage_url)  # never a password on the terminal
        print(f"reading study {default!r} from {shown} ...", file=sys.stderr, flush=True)
        try:
            snap = sources.get(default).snapshot()
            print(f"read {snap.n_trials} trials in {time.perf_counter() - t:.1f} s",
                  file=sys.stderr, flush=True)  # fmt: skip
        except StudyLoadError as exc:
            print(f"not read: {exc}", file=sys.stderr, flush=True)
        _warm_plotly()
    app = dash.Dash(__name__, title="codesign explorer")
    _compress(app)

    first: dict = {}  # the first page's values for the study version last served

    def page():
        """The page as served: the default study's filters, tabs and front already in it (no
        chain of first callbacks before the front can be drawn); computed once per study
        version. The design table mounts once the front is drawn."""
        names = sources.names() or studies  # studies made since the start are offered too
        shown = default or (names[-1] if names else None)  # no --study: the newest
        layout = build_layout(refresh_s, names, shown)
        source = sources.get(shown)
        try:
            version = source.snapshot().version
        except StudyLoadError:
            return layout  # the first poll says why
        if first.get("version") != version:
            tabs = next(c for c in layout._traverse() if getattr(c, "id", None) == "tabs")
            values = first_page(source, tabs.children, webgl_above)
            if ("front", "figure") in values:  # serialized once, not per page
                values[("front", "figure")] = values[("front", "figure")].to_plotly_json()
            first.clear()
            first.update(version=version, values=values)
        return fill(layout, first["values"])

    app.validation_layout = dash.html.Div(  # every id, for Dash's checks
        [build_layout(refresh_s, studies, default), design_table()]
    )
    app.layout = page
    if preload:
        page()  # the first page's values, computed before serving
    prefix = app.config.requests_pathname_prefix
    app._codesign_plotly_url = _serve_plotly(app)  # for tests and benchmarks
    app.index_string = app.index_string.replace(
        "{%css%}", "{%css%}\n" + _early_plotly(app._codesign_plotly_url)
    ).replace("{%renderer%}", "{%renderer%}\n" + _early_chunks(prefix))
    register(app, sources, webgl_above)
    app._codesign_source = sources.get(default)  # for tests and benchmarks
    return app


def _warm_plotly() -> None:
    """Plotly loads its validator table (a large JSON file, about 0.3 s) on the first figure;
    do it before serving rather than in the first page request."""
    import plotly.graph_objects as go

    go.Figure()


#: the manifest of the partial plotly.js bundle the page loads (written with the bundle by
#: ``scripts/build_plotly_bundle.sh``): its plotly.js version, trace types, size and sha256
PLOTLY_BUNDLE = os.path.join(os.path.dirname(__file__), "vendor", "plotly-codesign.json")
#: the full plotly.js bundle of the Python plotly package, as Dash serves it
FULL_PLOTLY = "_dash-component-suites/plotly/package_data/plotly.min.js"
#: where the app serves the partial bundle (under the app's path prefix)
BUNDLE_ROUTE = "_codesign/plotly/"


def plotly_bundle() -> tuple[dict, bytes]:
    """(manifest, bytes) of the partial plotly.js bundle :data:`PLOTLY_BUNDLE` describes,
    checked against the manifest (its sha256) and against the Python plotly package (the
    same plotly.js version, so figures built here draw there). Raises ``ValueError`` saying
    what is wrong otherwise."""
    from plotly.offline import get_plotlyjs_version

    try:
        with open(PLOTLY_BUNDLE) as f:
            manifest = json.load(f)
        with open(os.path.join(os.path.dirname(PLOTLY_BUNDLE), manifest["file"]), "rb") as f:
            data = f.read()
    except (OSError, ValueError, KeyError) as exc:
        raise ValueError(f"cannot read the partial plotly.js bundle: {exc}") from None
    if hashlib.sha256(data).hexdigest() != manifest.get("sha256"):
        raise ValueError(f"{manifest['file']} is not the file {PLOTLY_BUNDLE} describes (sha256)")
    if manifest.get("plotly_js") != get_plotlyjs_version():
        raise ValueError(
            f"the partial bundle is plotly.js {manifest.get('plotly_js')}, the plotly package "
            f"ships {get_plotlyjs_version()}: rebuild it (scripts/build_plotly_bundle.sh)"
        )
    return manifest, data


def _serve_plotly(app: dash.Dash) -> str:
    """Serve the partial plotly.js bundle (:func:`plotly_bundle`: about 2 MB against the full
    bundle's 4.8 MB, whose evaluation was the largest part of the first render) and return
    the URL the page loads plotly.js from: the partial bundle's, or, if that is missing or
    stale, the full bundle's, said on stderr.

    Served from memory (not as an asset: Flask streams those, and a streamed response is
    compressed again on every request), compressed once per encoding like Dash's bundles
    (:class:`_StaticCache`); the URL carries the bundle's digest, so browsers may keep it.
    """
    try:
        manifest, data = plotly_bundle()
    except ValueError as exc:
        print(f"serving the full plotly.js bundle instead of the partial one: {exc}",
              file=sys.stderr, flush=True)  # fmt: skip
        return app.config.requests_pathname_prefix + FULL_PLOTLY
    from flask import Response

    def serve():
        response = Response(data, mimetype="application/javascript")
        response.cache_control.max_age = 31536000  # a year: a rebuilt bundle has a new URL
        return response

    path = BUNDLE_ROUTE + manifest["file"]
    app.server.add_url_rule(app.config.routes_pathname_prefix + path, "codesign_plotly", serve)
    return f"{app.config.requests_pathname_prefix}{path}?v={manifest['sha256'][:12]}"


def _early_plotly(url: str) -> str:
    """A script for the page's head that starts loading plotly.js (``url``, from
    :func:`_serve_plotly`; evaluating it is the largest part of the first render) at once, so
    it is fetched and evaluated while the Dash bundles load and the layout is requested,
    instead of after the first graph mounts.

    ``dcc.Graph`` takes ``window.Plotly`` when it is set and loads the script itself
    otherwise; until the script has run, ``window.Plotly`` is a promise of it, which the
    graph awaits (plotly.js replaces it with itself when it runs). If the script fails,
    the promise is removed and rejected, and a graph mounted later loads the full bundle
    (Dash's own URL of it).
    """
    return f"""<script>
(function () {{
  if (window.Plotly) {{ return; }}
  var s = document.createElement("script");
  var pending = new Promise(function (resolve, reject) {{
    s.onload = function () {{ resolve(window.Plotly); }};
    s.onerror = function (e) {{ if (window.Plotly === pending) {{ delete window.Plotly; }} reject(e); }};
  }});
  window.Plotly = pending;
  s.src = {json.dumps(url)}; s.async = true;
  document.head.appendChild(s);
}})();
</script>"""


#: the code-split parts of Dash's components that the front and the controls beside it
#: need (graph, dropdowns, the filters' sliders). Not the design table's: the table mounts
#: once the front is drawn (``layout.design_table``). The rest (date pickers, markdown,
#: upload ...) load only if a page uses them.
FIRST_VIEW_CHUNKS = (
    "dash/dcc/async-graph.js",
    "dash/dcc/async-dropdown.js",
    "dash/dcc/async-slider.js",
)


def _early_chunks(prefix: str) -> str:
    """A script, run once Dash's bundles have run, that preloads :data:`FIRST_VIEW_CHUNKS`.

    Dash requests each chunk only once React renders a component that needs it, which on a
    big study comes after plotly.js has been evaluated (about a second): the page then
    waited a network round trip more before it could mount the front. Preloaded here, they
    download while plotly.js is evaluated and are in the browser's cache by then (fetched,
    not run: each still runs when a component needs it). Not links in the HTML, which the
    browser would fetch at once, ahead of plotly.js.
    """
    urls = [f"{prefix}_dash-component-suites/{chunk}" for chunk in FIRST_VIEW_CHUNKS]
    return f"""<script>
{json.dumps(urls)}.forEach(function (url) {{
  var link = document.createElement("link");
  link.rel = "preload"; link.as = "script"; link.href = url;
  document.head.appendChild(link);
}});
</script>"""


class _StaticCache:
    """Flask-Compress's cache, for static files only (plotly.js, the Dash bundles, assets):
    each is compressed once per encoding instead of on every page load (plotly.js alone
    is 4.8 MB to compress); nothing else is stored (see :func:`_static_key`)."""

    def __init__(self):
        self._data: dict[str, bytes] = {}

    def get(self, key: str):
        return self._data.get(key)

    def set(self, key: str, value: bytes) -> None:
        if not key.endswith(";"):
            self._data[key] = value


def _static_key(request) -> str:
    """The URL of a static file, or "" (never cached) for any other response."""
    path = request.path
    static = any(f"/{p}" in path for p in ("_dash-component-suites/", "assets/", BUNDLE_ROUTE))
    return request.full_path if request.method == "GET" and static else ""


def _compress(app: dash.Dash) -> None:
    """Serve responses gzip/brotli/zstd-compressed (as ``Dash(compress=True)`` does), static
    files from a cache of their compressed bytes."""
    from flask_compress import Compress

    app.server.config.update(COMPRESS_CACHE_BACKEND=_StaticCache, COMPRESS_CACHE_KEY=_static_key)
    app.server.extensions["compress"] = Compress(app.server)
