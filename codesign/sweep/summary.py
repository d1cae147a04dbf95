"""What a sweep left in its study: :class:`SweepSummary` and :func:`summarize`.

A point's result is its COMPLETE trial, or a FAIL with an error; a FAIL that was
queued again (interrupted, or its worker died) and a PRUNED repeat are not
counted (:func:`settled`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from codesign.study import ATTR, StudyStore, non_dominated, shown_url

__all__ = ["SweepSummary", "settled", "summarize"]


@dataclass
class SweepSummary:
    """What a sweep left in its study."""

    study: str
    storage: str
    objectives: list[str]
    trials_done: int
    trials_failed: int
    trials_interrupted: int
    front: list[dict] = field(default_factory=list)
    recovered: list[int] = field(default_factory=list)

    def to_dict(self) -> dict:
        return dict(self.__dict__)


def settled(t) -> bool:
    """Whether trial ``t`` holds or will hold its point's result (not a re-queued failure)."""
    from optuna.trial import TrialState

    if t.state == TrialState.FAIL:
        return not t.user_attrs.get(ATTR.REQUEUED) and not t.user_attrs.get(ATTR.INTERRUPTED)
    return t.state != TrialState.PRUNED


def summarize(store: StudyStore, recovered=()) -> SweepSummary:
    """The study's counts and Pareto front (distinct points; re-queued failures not counted)."""
    import numpy as np
    from optuna.trial import TrialState

    from codesign.study.contract import OBJECTIVES

    trials = store.trials()
    objectives = store.objectives
    complete = [t for t in trials if t.state == TrialState.COMPLETE]
    failed = [t for t in trials if t.state == TrialState.FAIL and settled(t)]
    interrupted = [t for t in trials if t.user_attrs.get(ATTR.INTERRUPTED)]
    front = []
    if complete:
        maximize = [OBJECTIVES.get(o, "minimize") == "maximize" for o in objectives]
        mask = non_dominated(np.array([t.values for t in complete], dtype=float), maximize)
        front = [
            {
                "number": t.number,
                "values": {o: _num(v) for o, v in zip(objectives, t.values, strict=True)},
                "params": dict(t.params),
            }
            for t, on in zip(complete, mask, strict=True)
            if on
        ]
    return SweepSummary(
        study=store.name,
        storage=shown_url(store.url),  # a password in it is not printed
        objectives=list(objectives),
        trials_done=len(complete),
        trials_failed=len(failed),
        trials_interrupted=len(interrupted),
        front=front,
        recovered=list(recovered),
    )


def _num(v: float) -> float | None:
    """A value for the summary; NaN and +-inf (a trial another program wrote) are None,
    which JSON can hold: ``json.dumps`` writes them as NaN / Infinity, not JSON."""
    return None if v is None or not math.isfinite(v) else v
