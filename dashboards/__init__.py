"""The Dash app for exploring co-design studies: Pareto fronts, a design table and drill-down.

- :func:`create_app` builds the app over the studies of one storage (read-only);
- :class:`StudySource` reads a sweep study (contract 3 of docs/contracts.md)
  through :class:`codesign.study.StudyStore` into a pandas frame, incrementally.

Modules: ``data`` (reading), ``filters`` (filters and budgets), ``figures`` and
``figures_3d`` (fronts), ``detail`` (drill-down figures), ``analysis``
(parallel coordinates, history, importance, slices), ``views`` (HTML of the
drill-down, compare and design table), ``callbacks`` (what the page computes,
as plain functions), ``wiring`` (binds them to the ``layout``), ``app``.
"""

from .app import create_app
from .data import Snapshot, StudyLoadError, StudySource

__all__ = ["Snapshot", "StudyLoadError", "StudySource", "create_app"]
