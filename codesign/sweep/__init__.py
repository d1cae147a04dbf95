"""Sweeps of the joint training x hardware design space, stored as Optuna studies.

Public API: :func:`load_spec` reads a sweep file, :func:`run_sweep` runs or
continues it, :func:`evaluate_trial` is one trial. See docs/sweep.md.
"""

from .cache import TrainCache, train_key
from .knobs import OBJECTIVES, SAMPLERS
from .objective import TrialTask, evaluate_trial
from .runner import SweepSummary, run_sweep
from .spec import Param, SweepSpec, load_spec, parse_spec

__all__ = [
    "OBJECTIVES",
    "SAMPLERS",
    "Param",
    "SweepSpec",
    "SweepSummary",
    "TrainCache",
    "TrialTask",
    "evaluate_trial",
    "load_spec",
    "parse_spec",
    "run_sweep",
    "train_key",
]
