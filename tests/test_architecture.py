"""The package layout holds: imports flow indexer <- qa <- service, nothing imports in a cycle, and the
loaded index is reached through qa's LoadedIndex, not through chains into its parts."""

import ast
import re
from pathlib import Path

import pytest

from tests.conftest import ROOT

PACKAGES = ("indexer", "qa", "service", "eval", "training")
# package -> what it must never import (project packages or third-party web frameworks)
FORBIDDEN = {
    "indexer": ("qa", "service", "eval", "training", "fastapi", "starlette"),
    "qa": ("service", "eval", "training", "fastapi", "starlette", "uvicorn", "torch"),
    "service": ("eval", "training"),
    "training": ("service",),
}


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for package in PACKAGES for p in (ROOT / package).rglob("*.py")}


def _imports(path: Path, modules: dict[str, Path]) -> set[str]:
    """Every module this file imports, at the top or inside a function (lazy imports count too)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:  # `from pkg import module` imports pkg.module
                submodule = f"{node.module}.{alias.name}"
                found.add(submodule if submodule in modules else node.module)
    return found


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    return {name: {i for i in _imports(path, modules) if i in modules} for name, path in modules.items()}


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_imports_flow_one_way(package: str) -> None:
    modules = _modules()
    offences = [
        f"{name} imports {imported}"
        for name, path in modules.items()
        if name.split(".")[0] == package
        for imported in _imports(path, modules)
        if imported.split(".")[0] in FORBIDDEN[package]
    ]
    assert offences == []


def test_no_import_cycles() -> None:
    graph = _graph()
    cycles: list[list[str]] = []
    state: dict[str, str] = {}

    def visit(module: str, path: list[str]) -> None:
        state[module] = "open"
        for imported in sorted(graph[module]):
            if state.get(imported) == "open":
                cycles.append(path[path.index(imported) :] + [imported])
            elif imported not in state:
                visit(imported, [*path, imported])
        state[module] = "done"

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])
    assert cycles == []


def test_the_loaded_index_is_not_reached_through_its_parts() -> None:
    chain = re.compile(r"\bretriever\.store\b|\banswerer\.retriever\b")
    offences = [
        f"{path.relative_to(ROOT)}:{number}"
        for package in ("service", "eval", "bench", "tests", "indexer")
        for path in (ROOT / package).rglob("*.py")
        if path.name != "test_architecture.py"
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
        if chain.search(line)
    ]
    assert offences == []


def test_the_checks_see_the_packages() -> None:
    """Guards the checks above against passing on an empty or misread tree."""
    graph = _graph()
    assert {"indexer.build", "qa.loaded", "service.app", "eval.runner"} <= set(graph)
    assert (
        "qa.retriever" in graph["qa.loaded"]
        and "indexer.embedders.torch_backend" in graph["indexer.embedders.onnx_export"]
    )
