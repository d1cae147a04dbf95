"""The Dash app for exploring co-design studies: Pareto fronts and design drill-down.

``create_app(storage_url)`` builds the app; ``StudySource`` reads a sweep study
(contract 3 of docs/contracts.md) into a frame; ``non_dominated`` is the
vectorized Pareto filter. Imports Dash, Plotly, pandas and Optuna lazily only
through these modules.
"""

from .app import create_app
from .data import Snapshot, StudyLoadError, StudySource
from .pareto import non_dominated

__all__ = ["Snapshot", "StudyLoadError", "StudySource", "create_app", "non_dominated"]
