"""No module over about 400 lines without a reason stated at its top (issue 12).

A longer module either splits along its seams or starts with a comment line
``# Over 400 lines: <why>``.
"""

import pathlib

ROOT = pathlib.Path(__file__).resolve().parents[1]
LIMIT = 400
CHECKED = ("accelerators", "codesign", "dashboards", "benchmarks")
# being reworked on other branches at the time of writing; their owners add the reason or split
PENDING: set[str] = set()


def test_long_modules_state_why():
    long = []
    for pkg in CHECKED:
        for path in sorted((ROOT / pkg).rglob("*.py")):
            rel = path.relative_to(ROOT).as_posix()
            lines = path.read_text().splitlines()
            if rel in PENDING or len(lines) <= LIMIT:
                continue
            if not any(line.startswith("# Over 400 lines: ") for line in lines[:3]):
                long.append(f"{rel}: {len(lines)} lines")
    assert not long, "split these or state why at the top:\n" + "\n".join(long)
