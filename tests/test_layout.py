"""The layout rules of DESIGN.md and STYLE.md as a test: imports point one way (web → kb → search,
ingest; nothing imports web), no import cycle between modules (imports inside functions count),
none between rooms (sub-packages such as kb/documents, each taken as one), modules under ~400 lines.

Ported from ``../shared/tools/layout-check`` so CI enforces what the script only printed."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("kb", "search", "ingest", "web")
MAX_LINES = 400

# Room cycles known today, each with why it is still here. This list may only shrink: a cycle
# not listed fails, and so does a listed one that is gone (delete its line).
ALLOWED_ROOM_CYCLES = {
    # kb/retrieval/evaluation.py ingests its corpus through kb.documents.ingestion, while
    # kb/documents indexes through kb.retrieval.indexing. Breaking it moves evaluation and
    # evaluation_runs to a room above both (or indexing below documents), which web/ imports by
    # their current names (web/app.py, web/pages/evaluation.py): to be done with those imports.
    "kb.documents <-> kb.retrieval",
}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _sources() -> dict[str, Path]:
    return {
        _module_name(path): path
        for package in PACKAGES
        for path in sorted((ROOT / package).rglob("*.py"))
    }


def _imported_names(module: str, path: Path) -> Iterator[str]:
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                package = (
                    module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
                )
                base = package[: len(package) - node.level + 1]
                prefix = ".".join(base + ([node.module] if node.module else []))
            else:
                prefix = node.module or ""
            yield prefix
            yield from (f"{prefix}.{alias.name}" for alias in node.names)


def import_graph() -> dict[str, set[str]]:
    """Each project module → the project modules it imports (anywhere in its body)."""
    sources = _sources()

    def resolve(name: str) -> str | None:
        while name and name not in sources:
            name = name.rpartition(".")[0]
        return name or None

    return {
        module: {
            target
            for name in _imported_names(module, path)
            if (target := resolve(name)) and target != module
        }
        for module, path in sources.items()
    }


def room(module: str) -> str:
    """``kb.documents.jobs`` → ``kb.documents``; a top-level module (``kb.context``) is its own."""
    parts = module.split(".")
    return ".".join(parts[:2]) if len(parts) >= 3 else module


def room_graph(graph: dict[str, set[str]]) -> dict[str, set[str]]:
    rooms: dict[str, set[str]] = {}
    for module, targets in graph.items():
        rooms.setdefault(room(module), set()).update(
            room(t) for t in targets if room(t) != room(module)
        )
    return rooms


def cycles(graph: dict[str, set[str]]) -> list[str]:
    """Strongly connected components of more than one node (Tarjan, iterative), as sorted names."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[str] = []
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph.get(start, ()))))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
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
                    found.append(" <-> ".join(sorted(component)))
    return sorted(found)


@pytest.fixture(scope="module")
def graph() -> dict[str, set[str]]:
    return import_graph()


@pytest.mark.parametrize(
    ("graph_in", "expected"),
    [
        ({"a": {"b"}, "b": set()}, []),
        ({"a": {"b"}, "b": {"a"}}, ["a <-> b"]),
        ({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}, ["a <-> b <-> c"]),
        ({"a": {"a"}}, []),
    ],
)
def test_cycles_finds_every_strongly_connected_group(
    graph_in: dict[str, set[str]], expected: list[str]
) -> None:
    assert cycles(graph_in) == expected


def test_rooms_group_modules_by_their_sub_package() -> None:
    graph = {"kb.a.x": {"kb.b.y", "kb.context"}, "kb.b.y": {"kb.a.z"}, "kb.a.z": set()}
    assert room_graph(graph) == {"kb.a": {"kb.b", "kb.context"}, "kb.b": {"kb.a"}}
    assert cycles(room_graph(graph)) == ["kb.a <-> kb.b"]


def test_the_graph_sees_imports_inside_functions(graph: dict[str, set[str]]) -> None:
    """The whole walk, not only the top of a module: lazy imports are dependencies too."""
    lazy = {
        (module, node.module)
        for module, path in _sources().items()
        for function in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(function, ast.FunctionDef)
        for node in ast.walk(function)
        if isinstance(node, ast.ImportFrom) and node.module in graph
    }
    assert lazy, "no module imports a project module inside a function: this check proves nothing"
    assert [(module, target) for module, target in lazy if target not in graph[module]] == []


def test_nothing_below_web_imports_web(graph: dict[str, set[str]]) -> None:
    wrong = [
        f"{module} imports {target}"
        for module, targets in graph.items()
        if not module.startswith("web")
        for target in targets
        if target.split(".")[0] == "web"
    ]
    assert wrong == []


def test_search_and_ingest_know_nothing_of_kb(graph: dict[str, set[str]]) -> None:
    wrong = [
        f"{module} imports {target}"
        for module, targets in graph.items()
        if module.split(".")[0] in ("search", "ingest")
        for target in targets
        if target.split(".")[0] in ("kb", "web")
    ]
    assert wrong == []


def test_no_import_cycle_between_modules(graph: dict[str, set[str]]) -> None:
    assert cycles(graph) == []


def test_no_import_cycle_between_rooms_beyond_the_allowed_list(graph: dict[str, set[str]]) -> None:
    found = set(cycles(room_graph(graph)))
    assert found - ALLOWED_ROOM_CYCLES == set(), "a new cycle between rooms"
    assert ALLOWED_ROOM_CYCLES - found == set(), "an allowed cycle is gone: remove it from the list"


def test_modules_stay_under_the_line_limit() -> None:
    long = {
        str(path.relative_to(ROOT)): lines
        for path in _sources().values()
        if (lines := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert long == {}


def test_no_module_outside_search_names_the_index_files(graph: dict[str, set[str]]) -> None:
    """Backup, maintenance and the rest ask the ports (catalogue, index store, upkeep)."""
    file_names = re.compile(r"\b(CURRENT_FILE|META_FILE|CHUNKS_FILE|VECTORS_FILE|BM25_DIR)\b")
    wrong = [
        module
        for module, path in _sources().items()
        if not module.startswith("search") and file_names.search(path.read_text(encoding="utf-8"))
    ]
    assert wrong == []
