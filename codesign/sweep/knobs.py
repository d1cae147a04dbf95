"""The names a sweep file may use, shared by the spec, the trial function and the runner."""

from __future__ import annotations

from codesign.study.contract import OBJECTIVES

__all__ = [
    "FEEDBACKS",
    "FEEDBACK_KNOBS",
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
#: knobs under [train] / train.* that configure hardware feedback, not TrainConfig
FEEDBACK_KNOBS = (
    "feedback",
    "feedback_objective",
    "feedback_period_steps",
    "feedback_per_row",
    "target_latency_us",
    "target_energy_uj",
)
#: the largest grid a sweep may queue (each point is a trial row in the study)
MAX_GRID_POINTS = 100_000
#: the most finished trials a sweep may ask for
MAX_TRIALS = 1_000_000
