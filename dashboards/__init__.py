"""The Dash app for exploring co-design studies: Pareto fronts and design drill-down.

- :func:`create_app` builds the app for one study in an Optuna storage;
- :class:`StudySource` reads a sweep study (contract 3 of docs/contracts.md)
  into a pandas frame, incrementally, and one trial's full record on demand;
- :func:`non_dominated` is the vectorized Pareto filter.

Modules: ``data`` (reading), ``pareto``, ``figures`` (fronts) and ``detail``
(drill-down, compare) as ``_get_*_info`` numbers + ``plot_*`` drawings,
``layout``, ``callbacks`` (plain functions + ``register``), ``app``, and
``demo`` (writes realistic studies for tests, benchmarks and trying the app).
"""

from codesign.study.pareto import non_dominated

from .app import create_app
from .data import Snapshot, StudyLoadError, StudySource

__all__ = ["Snapshot", "StudyLoadError", "StudySource", "create_app", "non_dominated"]
