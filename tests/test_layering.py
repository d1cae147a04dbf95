"""Import direction and import cycles (README "What it does", DESIGN.md "The rooms").

The top-level packages are layered ``benchmarks -> dashboards -> codesign ->
accelerators``: a module may import its own package or one to its right, never
one to its left. The one exception is ``codesign dash``
(``codesign/cli/_dash.py``), which imports ``dashboards`` inside the command to
serve the app. ``accelerators`` imports only numpy, simpy and networkx beside
the standard library, and importing ``accelerators``, ``codesign`` and its CLI
loads no torch, Dash or Optuna. No module
imports itself through a chain of imports (function-level imports included).

The graph is read with :mod:`ast` from every project ``.py`` file: an
``import a.b`` or ``from a.b import c`` is an edge to the longest project
module it names (``a.b.c`` when ``c`` is a submodule, else ``a.b``).
"""

import ast
import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]
LAYERS = ("accelerators", "codesign", "dashboards", "benchmarks")  # each imports only rightwards
ALLOWED_UPWARD = {("codesign.cli._dash", "dashboards"): "`codesign dash` serves the app"}
_SKIP_DIRS = {"build", "dist", "node_modules", "site-packages", "__pycache__"}


def _modules() -> dict[str, pathlib.Path]:
    mods = {}
    for path in ROOT.rglob("*.py"):
        rel = path.relative_to(ROOT)
        if any(p.startswith(".") or p in _SKIP_DIRS or "venv" in p for p in rel.parts[:-1]):
            continue
        parts = list(rel.with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        if parts:
            mods[".".join(parts)] = path
    return mods


def _targets(name: str, path: pathlib.Path, node: ast.AST, mods) -> list[str]:
    """The dotted names an import statement in module ``name`` (file ``path``) loads."""
    if isinstance(node, ast.Import):
        return [a.name for a in node.names]
    if node.level:  # relative: from the module's package, up level - 1
        base = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
        base = base[: len(base) - node.level + 1]
        prefix = ".".join(base + ([node.module] if node.module else []))
    else:
        prefix = node.module
    return [f"{prefix}.{a.name}" if f"{prefix}.{a.name}" in mods else prefix for a in node.names]


def import_graph() -> dict[str, dict[str, int]]:
    """Project module -> {project module it imports: line of the first such import}."""
    mods = _modules()
    graph: dict[str, dict[str, int]] = {}
    for name, path in mods.items():
        edges: dict[str, int] = {}
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if not isinstance(node, ast.Import | ast.ImportFrom):
                continue
            for target in _targets(name, path, node, mods):
                parts = target.split(".")
                for i in range(len(parts), 0, -1):
                    cand = ".".join(parts[:i])
                    if cand in mods:
                        if cand != name:
                            edges.setdefault(cand, node.lineno)
                        break
        graph[name] = edges
    return graph


def find_cycle(graph: dict[str, dict[str, int]]) -> list[str] | None:
    """One import cycle as [m0, m1, ..., m0], or None (iterative depth-first search).

    >>> find_cycle({"a": {"b": 1}, "b": {"c": 1}, "c": {"a": 1}})
    ['a', 'b', 'c', 'a']
    >>> find_cycle({"a": {"b": 1}, "b": {}}) is None
    True
    """
    state: dict[str, int] = {}  # 1 on the current path, 2 done
    for start in sorted(graph):
        if start in state:
            continue
        path, stack = [start], [iter(sorted(graph[start]))]
        state[start] = 1
        while stack:
            nxt = next(stack[-1], None)
            if nxt is None:
                state[path.pop()] = 2
                stack.pop()
            elif state.get(nxt) == 1:
                return path[path.index(nxt) :] + [nxt]
            elif nxt not in state and nxt in graph:
                state[nxt] = 1
                path.append(nxt)
                stack.append(iter(sorted(graph[nxt])))
    return None


def test_no_import_cycles():
    graph = import_graph()
    assert "codesign.sweep.runner" in graph and graph["codesign.sweep.runner"], "graph not read"
    cycle = find_cycle(graph)
    if cycle:
        steps = [f"{a} (line {graph[a][b]}) -> {b}" for a, b in zip(cycle, cycle[1:], strict=False)]
        raise AssertionError("import cycle:\n  " + "\n  ".join(steps))


def test_imports_point_one_way():
    rank = {pkg: i for i, pkg in enumerate(LAYERS)}
    wrong = []
    for mod, edges in import_graph().items():
        src = mod.split(".")[0]
        for dep, line in edges.items():
            dst = dep.split(".")[0]
            if src in rank and dst in rank and rank[dst] > rank[src]:
                if (mod, dep) not in ALLOWED_UPWARD:
                    wrong.append(f"{mod} (line {line}) imports {dep}")
    assert not wrong, "imports against benchmarks -> dashboards -> codesign -> accelerators:\n" + (
        "\n".join(wrong)
    )


def test_the_allowed_upward_import_is_lazy():
    """`codesign dash` imports dashboards inside the command, so `import codesign.cli` loads no Dash."""
    for (mod, dep), _why in ALLOWED_UPWARD.items():
        path = _modules()[mod]
        tree = ast.parse(path.read_text())
        top = [n for n in tree.body if isinstance(n, ast.Import | ast.ImportFrom)]
        for node in top:
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module]
            assert not any(n and n.split(".")[0] == dep for n in names), (mod, node.lineno)


def test_accelerators_needs_only_numpy_simpy_networkx():
    """README: ``accelerators/`` (hardware models; numpy, simpy and networkx only)."""
    roots = set()
    for path in (ROOT / "accelerators").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                roots |= {a.name.split(".")[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                roots.add(node.module.split(".")[0])
    third_party = roots - set(sys.stdlib_module_names) - {"accelerators"}
    assert third_party <= {"numpy", "simpy", "networkx"}, sorted(third_party)


def test_importing_accelerators_and_codesign_loads_no_torch():
    code = (
        "import sys, accelerators, codesign, codesign.cli.main;"
        "bad = {'torch', 'dash', 'optuna'} & set(sys.modules); print(sorted(bad))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
