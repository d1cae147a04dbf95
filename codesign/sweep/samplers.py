"""How a sweep chooses its points: Optuna's TPE / NSGA-II, or a random sampler seeded
by trial number (grid sweeps queue their points and need no sampler).

The random sampler's draws depend only on (sweep seed, trial number, attempt),
and the storage hands out trial numbers uniquely, so several coordinators never
repeat each other's draws and a seeded sweep gives the same points whatever the
executor (:mod:`codesign.sweep.runner`).
"""

from __future__ import annotations

import json
import math

__all__ = ["make_sampler", "point_key"]


def point_key(params: dict) -> str:
    return json.dumps(params, sort_keys=True)


def make_sampler(spec):
    """The Optuna sampler of a TPE or NSGA-II sweep (grid and random choose points themselves)."""
    import optuna

    if spec.sampler == "tpe":
        return optuna.samplers.TPESampler(seed=spec.seed)
    if spec.sampler == "nsga2":
        return optuna.samplers.NSGAIISampler(seed=spec.seed, population_size=spec.population or 16)
    return _number_seeded(spec.seed, spec.distributions())


def _number_seeded(seed: int, distributions: dict):
    """A random sampler whose draws depend only on (seed, trial number, attempt).

    It draws a whole point at once and draws again (up to 1,000 times) while the
    point is one the study already holds, so a finite space is not sampled twice.
    """
    import random

    import optuna

    class NumberSeededSampler(optuna.samplers.BaseSampler):
        def infer_relative_search_space(self, study, trial):
            return dict(distributions)

        def sample_relative(self, study, trial, search_space):
            taken = {point_key(t.params) for t in study.get_trials(deepcopy=False) if t.params}
            for attempt in range(1000):
                rng = random.Random(f"{seed}:{trial.number}:{attempt}")
                point = {n: _draw(rng, d) for n, d in sorted(search_space.items())}
                if point_key(point) not in taken:
                    break
            return point

        def sample_independent(self, study, trial, name, distribution):
            return _draw(random.Random(f"{seed}:{trial.number}:{name}"), distribution)

    return NumberSeededSampler()


def _draw(rng, d):
    """One uniform (log-uniform for log ranges) draw from an Optuna distribution."""
    from optuna.distributions import CategoricalDistribution, IntDistribution

    if isinstance(d, CategoricalDistribution):
        return d.choices[rng.randrange(len(d.choices))]
    if d.log:
        v = math.exp(rng.uniform(math.log(d.low), math.log(d.high)))
    else:
        v = rng.uniform(d.low, d.high)
    step = getattr(d, "step", None)
    if isinstance(d, IntDistribution):
        step = step or 1
        return (
            int(min(d.high, d.low + round((v - d.low) / step) * step))
            if not d.log
            else int(min(d.high, max(d.low, round(v))))
        )
    if step is not None:
        v = d.low + round((v - d.low) / step) * step
    return float(min(d.high, max(d.low, v)))
