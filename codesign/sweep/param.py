"""One axis of a sweep's search space (``[search]`` in the sweep file, see :mod:`.spec`).

An axis is a list of choices (categorical, and a grid axis) or a range
``{low, high[, step][, log]}``: an integer range when both ends are integers,
otherwise a float range. :func:`parse_param` validates one entry.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass

from accelerators import InputError

from .checks import is_int, is_num, unknown_keys

RANGE_KEYS = ("low", "high", "step", "log")


@dataclass(frozen=True)
class Param:
    """One axis of the search space: ``choices`` (categorical) or a ``low..high`` range."""

    name: str
    choices: tuple | None = None
    low: float | int | None = None
    high: float | int | None = None
    step: float | int | None = None
    log: bool = False

    @property
    def is_int(self) -> bool:
        return self.choices is None and all(
            isinstance(v, int) and not isinstance(v, bool) for v in (self.low, self.high)
        )

    def distribution(self):
        """The Optuna distribution of this axis."""
        import optuna.distributions as d

        if self.choices is not None:
            return d.CategoricalDistribution(list(self.choices))
        if self.is_int:
            return d.IntDistribution(self.low, self.high, log=self.log, step=int(self.step or 1))
        return d.FloatDistribution(float(self.low), float(self.high), log=self.log, step=self.step)

    def grid_size(self) -> int:
        """How many points :meth:`grid_values` has, without listing them."""
        if self.choices is not None:
            return len(self.choices)
        if self.is_int:
            return (self.high - self.low) // int(self.step or 1) + 1
        if self.step is None:
            return len(self.grid_values())  # raises: a float range needs a step
        return int(math.floor((self.high - self.low) / self.step + 1e-9)) + 1

    def grid_values(self) -> tuple:
        """The axis as a list of points (choices, or a stepped range)."""
        if self.choices is not None:
            return self.choices
        if self.is_int:
            return tuple(range(self.low, self.high + 1, int(self.step or 1)))
        if self.step is None:
            raise InputError(
                f'search."{self.name}"',
                {"low": self.low, "high": self.high},
                "a list or a range with a step for the grid sampler",
            )
        n = int(math.floor((self.high - self.low) / self.step + 1e-9)) + 1
        return tuple(round(self.low + i * self.step, 12) for i in range(n))

    def to_dict(self) -> dict:
        if self.choices is not None:
            return {"choices": list(self.choices)}
        out = {"low": self.low, "high": self.high, "log": self.log}
        if self.step is not None:
            out["step"] = self.step
        return out


def parse_param(name: str, value) -> Param:
    where = f'search."{name}"'
    if not name.startswith(("hw.", "train.", "workload.")) or name.count(".") != 1:
        raise InputError(where, value, "a name train.<knob>, hw.<field> or workload.sparsity")
    if isinstance(value, list):
        if not value:
            raise InputError(where, value, "a non-empty list of choices")
        if len({json.dumps(v) for v in value}) != len(value):
            raise InputError(where, value, "a list without repeated choices")
        for v in value:
            if not isinstance(v, str | int | float | bool):
                raise InputError(where, v, "choices that are strings, numbers or booleans")
            if isinstance(v, float) and not math.isfinite(v):
                raise InputError(where, v, "finite numbers (no inf or nan)")
        return Param(name, choices=tuple(value))
    if isinstance(value, dict):
        unknown_keys(value, RANGE_KEYS, where)
        low, high = value.get("low"), value.get("high")
        step, log = value.get("step"), value.get("log", False)
        if not is_num(low) or not is_num(high):
            raise InputError(where, value, "a range with finite numeric low and high")
        if max(abs(low), abs(high)) > 1e15:
            raise InputError(where, value, "a range within -1e15..1e15")
        if not low < high:
            raise InputError(where, value, "a non-empty range: low < high")
        if not isinstance(log, bool):
            raise InputError(f"{where}.log", log, "true or false")
        if step is not None and (not is_num(step) or step <= 0):
            raise InputError(f"{where}.step", step, "a finite number > 0")
        if step is not None and is_int(low) and is_int(high) and not is_int(step):
            raise InputError(f"{where}.step", step, "an integer step for an integer range")
        if log and (low <= 0 or step is not None):
            raise InputError(where, value, "a log range with low > 0 and no step")
        return Param(name, low=low, high=high, step=step, log=log)
    raise InputError(where, value, "a list of choices or a table {low, high[, step][, log]}")
