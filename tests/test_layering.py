"""Imports point one way: dashboards -> codesign -> accelerators (DESIGN.md, "The rooms")."""

import ast
import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]


def _imported_roots(package: str) -> set[str]:
    roots = set()
    for path in (ROOT / package).rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                roots |= {a.name.split(".")[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                roots.add(node.module.split(".")[0])
    return roots


def test_accelerators_imports_no_training_or_web_stack():
    banned = {"torch", "dash", "plotly", "optuna", "codesign", "dashboards", "sklearn", "pandas"}
    assert not (_imported_roots("accelerators") & banned)


def test_codesign_never_imports_dashboards():
    for path in (ROOT / "codesign").rglob("*.py"):
        if path.name == "_dash.py":  # the `codesign dash` CLI serves the app: the one allowed edge
            continue
        text = path.read_text()
        assert "import dashboards" not in text and "from dashboards" not in text, path


def test_importing_accelerators_and_codesign_loads_no_torch():
    code = (
        "import sys, accelerators, codesign, codesign.cli.main;"
        "bad = {'torch', 'dash', 'optuna'} & set(sys.modules); print(sorted(bad))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
