"""Studies: the contract a sweep writes and every reader reads, and the one door to them.

- :mod:`codesign.study.contract`: objective and metric names, attribute keys,
  parameter prefixes (torch-free, Optuna-free);
- :class:`StudyStore` / :func:`open_storage`: every read and write of a study,
  through Optuna's public API only;
- :func:`non_dominated` / :func:`front_order`: the one Pareto-front implementation.
"""

from .contract import ATTR, METRIC_LABELS, METRICS, OBJECTIVES, PARAM_PREFIXES, STUDY_ATTR
from .pareto import front_order, non_dominated
from .store import StudyStore, open_storage, shown_url, storage_file, study_names

__all__ = [
    "ATTR",
    "METRICS",
    "METRIC_LABELS",
    "OBJECTIVES",
    "PARAM_PREFIXES",
    "STUDY_ATTR",
    "StudyStore",
    "front_order",
    "non_dominated",
    "open_storage",
    "shown_url",
    "storage_file",
    "study_names",
]
