"""The names a sweep file may use, shared by the spec, the trial function and the runner."""

from __future__ import annotations

from codesign.study.contract import OBJECTIVES
from codesign.training_config import Rule

__all__ = [
    "FEEDBACKS",
    "FEEDBACK_KNOBS",
    "FEEDBACK_RULES",
    "FEEDBACK_OBJECTIVES",
    "FIDELITIES",
    "MAX_GRID_POINTS",
    "MAX_TRIALS",
    "OBJECTIVES",
    "SAMPLERS",
]

SAMPLERS = ("grid", "random", "tpe", "nsga2")
FIDELITIES = ("simpy", "analytical")
FEEDBACKS = ("none", "simpy", "analytical")
FEEDBACK_OBJECTIVES = ("latency", "energy", "area")
#: knobs under [train] / train.* that configure hardware feedback, not TrainConfig,
#: and their rules (targets in us and uJ)
FEEDBACK_RULES = {
    "feedback": Rule("choice", choices=FEEDBACKS),
    "feedback_objective": Rule("choice", choices=FEEDBACK_OBJECTIVES),
    "feedback_period_steps": Rule("int", 1, 10**9, optional=True),
    "feedback_per_row": Rule("bool"),
    "feedback_per_column": Rule("bool"),
    "feedback_smoothing": Rule("float", 0.0, 1.0, hi_open=True),
    "target_latency_us": Rule("float", 0.0, 1e12, lo_open=True),
    "target_energy_uj": Rule("float", 0.0, 1e12, lo_open=True),
}
FEEDBACK_KNOBS = tuple(FEEDBACK_RULES)
#: the largest grid a sweep may queue (each point is a trial row in the study)
MAX_GRID_POINTS = 100_000
#: the most finished trials a sweep may ask for
MAX_TRIALS = 1_000_000
