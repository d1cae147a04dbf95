"""Build the Dash app for one study: :func:`create_app`."""

from __future__ import annotations

import dash

from .callbacks import WEBGL_ABOVE, register
from .data import StudySource
from .layout import build_layout

__all__ = ["create_app"]


def create_app(
    storage_url: str,
    study_name: str | None = None,
    refresh_s: float = 5.0,
    webgl_above: int = WEBGL_ABOVE,
) -> dash.Dash:
    """The Pareto explorer for ``study_name`` (default: the only or newest study) in ``storage_url``.

    ``refresh_s``: seconds between polls for new trials. ``webgl_above``: 2-D fronts
    with more points than this draw with WebGL. Nothing is read until the page
    asks; a missing or malformed study shows a message in the page.
    """
    if not refresh_s > 0:
        raise ValueError(f"refresh_s must be > 0 seconds, got {refresh_s!r}")
    source = StudySource(storage_url, study_name)
    app = dash.Dash(__name__, title="codesign explorer")
    app.layout = build_layout(refresh_s)
    register(app, source, webgl_above)
    app._codesign_source = source  # for tests and benchmarks
    return app
