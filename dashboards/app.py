"""Build the Dash app for the studies of one storage: :func:`create_app`."""

from __future__ import annotations

import sys
import time

import dash

from .callbacks import WEBGL_ABOVE
from .data import StudyLoadError, list_studies
from .layout import build_layout
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
    study shows a message in the page. Assets (plotly.js ...) are served compressed.
    """
    if not refresh_s > 0:
        raise ValueError(f"refresh_s must be > 0 seconds, got {refresh_s!r}")
    studies, storage = list_studies(storage_url)
    default = study_name or (studies[-1] if studies else None)
    sources = Sources(storage_url, default, storage)
    if preload:
        t = time.perf_counter()
        print(f"reading study {default!r} from {storage_url} ...", file=sys.stderr, flush=True)
        try:
            snap = sources.get(default).snapshot()
            print(f"read {snap.n_trials} trials in {time.perf_counter() - t:.1f} s",
                  file=sys.stderr, flush=True)  # fmt: skip
        except StudyLoadError as exc:
            print(f"not read: {exc}", file=sys.stderr, flush=True)
    app = dash.Dash(__name__, title="codesign explorer", compress=True)
    app.layout = build_layout(refresh_s, studies, default)
    register(app, sources, webgl_above)
    app._codesign_source = sources.get(default)  # for tests and benchmarks
    return app
