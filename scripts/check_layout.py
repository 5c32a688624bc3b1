"""Check the layout rules ``make lint`` enforces: no import cycles, no oversized modules.

* **No import cycles** among the project's modules. Every import counts, including those
  inside functions and under ``if TYPE_CHECKING``; ``from pkg import name`` counts as an
  import of ``pkg.name`` when that is a module, else of ``pkg``. (A package's own
  ``__init__`` importing its submodules is not a cycle: Python imports parents first.)
* **No module over** :data:`MAX_LINES` lines, except the numba kernel modules (numba's
  on-disk cache is per file, so their kernels stay together).

Prints each problem on one line and exits 1 if there is any.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from pathlib import Path

PACKAGES = ("commons", "crawler", "audit", "pipelines", "bench")
MAX_LINES = 450
#: Modules allowed over MAX_LINES: numba kernels share one on-disk cache per file.
LARGE_OK_SUFFIX = "kernels.py"


def modules(root: Path) -> dict[str, Path]:
    """Dotted module name -> file, for every module of the project's packages."""
    out: dict[str, Path] = {}
    for package in PACKAGES:
        for path in sorted((root / package).rglob("*.py")):
            parts = list(path.relative_to(root).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            out[".".join(parts)] = path
    return out


def _imported(node: ast.AST, package: str) -> Iterator[tuple[str, ...]]:
    """The names an import statement may bind, most specific first, per imported name."""
    if isinstance(node, ast.Import):
        for alias in node.names:
            yield (alias.name,)
    elif isinstance(node, ast.ImportFrom):
        base = node.module or ""
        if node.level:
            parent = package.split(".")[: len(package.split(".")) - node.level + 1]
            base = ".".join([*parent, base] if base else parent)
        for alias in node.names:
            yield (f"{base}.{alias.name}", base)


def import_graph(mods: dict[str, Path]) -> dict[str, set[str]]:
    """Module -> the project modules it imports."""

    def resolve(name: str) -> str | None:
        while name and name not in mods:
            name = name.rpartition(".")[0]
        return name or None

    graph: dict[str, set[str]] = {}
    for name, path in mods.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        found: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text("utf-8"), str(path))):
            for candidates in _imported(node, package):
                hit = next((m for m in candidates if m in mods), None) or resolve(candidates[-1])
                if hit and hit != name:
                    found.add(hit)
        graph[name] = found
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, edges = work[-1]
            for nxt in edges:
                if nxt not in index:
                    index[nxt] = low[nxt] = counter
                    counter += 1
                    stack.append(nxt)
                    on_stack.add(nxt)
                    work.append((nxt, iter(sorted(graph[nxt]))))
                    break
                if nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    if len(component) > 1:
                        found.append(sorted(component))
    return found


def main(root: Path) -> int:
    mods = modules(root)
    problems = [f"import cycle: {' <-> '.join(c)}" for c in cycles(import_graph(mods))]
    for path in mods.values():
        lines = len(path.read_text("utf-8").splitlines())
        if lines > MAX_LINES and not path.name.endswith(LARGE_OK_SUFFIX):
            problems.append(f"{path.relative_to(root)}: {lines} lines (the limit is "
                            f"{MAX_LINES}); split it by responsibility")
    for line in problems:
        print(line)
    print(f"layout: {len(mods)} modules, {len(problems)} problems", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(".")))
