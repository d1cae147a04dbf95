"""Plain-text tables for the CLI: one helper every command can reuse.

``table(headers, rows)`` right-aligns every column but the first, puts a rule
under the header and formats cells with :func:`cell` (ints with thousands
separators, floats to 4 significant digits, booleans as yes/no)::

    >>> print(table(["layer", "cycles", "busy"], [["fc1", 12345, True], ["fc2", 0.5, False]]))
      layer  cycles  busy
      -----  ------  ----
      fc1    12,345   yes
      fc2       0.5    no
"""

from __future__ import annotations

import math
from typing import Any

__all__ = ["cell", "json_default", "pct", "table"]


def table(headers: list[str], rows: list[list[Any]], indent: str = "  ") -> str:
    """The rows under the headers, columns padded to their widest cell."""
    cells = [headers] + [[cell(v) for v in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    lines = []
    for j, r in enumerate(cells):
        parts = [
            c.ljust(w) if i == 0 else c.rjust(w)
            for i, (c, w) in enumerate(zip(r, widths, strict=True))
        ]
        lines.append(indent + "  ".join(parts).rstrip())
        if j == 0:
            lines.append(indent + "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def cell(v: Any) -> str:
    """One value as table text."""
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, int):
        return f"{v:,}"
    if isinstance(v, float):
        return f"{v:,.4g}" if abs(v) < 1000 else f"{v:,.0f}"
    return str(v)


def pct(x: float) -> str:
    """A signed fraction as a percentage (``inf`` stays ``inf``)."""
    return "inf" if math.isinf(x) else f"{100 * x:+.1f} %"


def json_default(o: Any) -> Any:
    """``json.dump(default=...)`` for numpy scalars and arrays."""
    if hasattr(o, "item"):
        return o.item()
    if hasattr(o, "tolist"):
        return o.tolist()
    raise TypeError(f"{type(o).__name__} is not JSON serializable")
