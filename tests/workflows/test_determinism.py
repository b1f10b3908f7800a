"""Our workflow-side modules run outside the sandbox's per-run copies: check statically what it checked at run time.

The ``workflows`` package (``worker.runner.DETERMINISTIC_PACKAGE``) is passed through the workflow sandbox
(imported once per process, for memory and start-up cost), so the sandbox's import and member restrictions no longer see them. These rules
stand in for it: only deterministic imports, time only from ``workflow.now()``, no module state that a workflow
could mutate and another then see.
"""

from __future__ import annotations

import ast
import importlib.util
import pkgutil
from pathlib import Path

import pytest

import workflows
from worker.runner import DETERMINISTIC_PACKAGE, WORKFLOWS

IO_PACKAGE = "workflows.io"
DETERMINISTIC_MODULES = tuple(
    sorted(
        info.name
        for info in pkgutil.walk_packages(workflows.__path__, f"{DETERMINISTIC_PACKAGE}.")
        if info.name != IO_PACKAGE and not info.name.startswith(f"{IO_PACKAGE}.")
    )
)
"""Every module of the passed-through package except the I/O sub-package: workflow code and its types."""

ALLOWED_IMPORTS = {
    "__future__",
    "asyncio",
    "base64",
    "collections.abc",
    "contextlib",
    "dataclasses",
    "datetime",
    "enum",
    "hashlib",
    "hmac",
    "math",
    "re",
    "types",
    "typing",
    "urllib.parse",
    "temporalio",
    "temporalio.common",
    "temporalio.exceptions",
}
"""Modules that are deterministic to import and use (``datetime`` minus its clocks, checked below)."""
CLOCKS = {"now", "utcnow", "today", "time", "monotonic", "perf_counter", "time_ns"}
MUTABLE_LITERALS = (ast.List, ast.Dict, ast.Set, ast.ListComp, ast.DictComp, ast.SetComp)


def source_of(module: str) -> ast.Module:
    spec = importlib.util.find_spec(module)
    assert spec is not None, module
    assert spec.origin is not None, module
    return ast.parse(Path(spec.origin).read_text(encoding="utf-8"), filename=spec.origin)


def is_passed_through_block(node: ast.stmt) -> bool:
    """``with workflow.unsafe.imports_passed_through():``: imports the sandbox already never copied."""
    return isinstance(node, ast.With) and any(
        isinstance(item.context_expr, ast.Call)
        and isinstance(item.context_expr.func, ast.Attribute)
        and item.context_expr.func.attr == "imports_passed_through"
        for item in node.items
    )


def sandbox_visible_imports(tree: ast.Module) -> list[str]:
    """Every module imported anywhere in the file except inside an imports-passed-through block."""
    skipped = {id(inner) for node in tree.body if is_passed_through_block(node) for inner in ast.walk(node)}
    names: list[str] = []
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module is not None:
            names.append(node.module)
    return names


@pytest.mark.parametrize("module", DETERMINISTIC_MODULES)
def test_imports_only_deterministic_modules(module: str) -> None:
    for name in sandbox_visible_imports(source_of(module)):
        assert name in ALLOWED_IMPORTS or name in DETERMINISTIC_MODULES or name == DETERMINISTIC_PACKAGE, (
            f"{module} imports {name}: workflow code imports only deterministic modules; what does I/O lives "
            f"in {IO_PACKAGE} and is reached inside workflow.unsafe.imports_passed_through() (activity references)"
        )


@pytest.mark.parametrize("module", DETERMINISTIC_MODULES)
def test_reaches_io_only_for_activity_references(module: str) -> None:
    """Inside ``imports_passed_through`` workflow code may name the activities, and nothing else of I/O."""
    for node in ast.walk(source_of(module)):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith(IO_PACKAGE):
            assert node.module == f"{IO_PACKAGE}.activities", f"{module}:{node.lineno} imports {node.module}"
            assert [alias.name for alias in node.names] == ["TokenActivities"], f"{module}:{node.lineno}"


def test_the_deterministic_modules_are_found() -> None:
    """The walk finds the workflows and their types, and nothing of the I/O sub-package."""
    assert {"workflows.company", "workflows.types.tokens"} <= set(DETERMINISTIC_MODULES)
    assert not [m for m in DETERMINISTIC_MODULES if m.startswith(IO_PACKAGE)]


@pytest.mark.parametrize("module", DETERMINISTIC_MODULES)
def test_reads_time_only_from_the_workflow(module: str) -> None:
    for node in ast.walk(source_of(module)):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in CLOCKS:
            owner = node.func.value
            assert isinstance(owner, ast.Name), f"{module}:{node.lineno} calls .{node.func.attr}()"
            assert owner.id == "workflow", (
                f"{module}:{node.lineno} calls .{node.func.attr}(): use workflow.now()"
            )


@pytest.mark.parametrize("module", DETERMINISTIC_MODULES)
def test_holds_no_mutable_module_state(module: str) -> None:
    tree = source_of(module)
    for node in ast.walk(tree):
        assert not isinstance(node, ast.Global), f"{module}:{node.lineno} uses global"
    for node in tree.body:
        if isinstance(node, ast.Assign | ast.AnnAssign) and isinstance(node.value, MUTABLE_LITERALS):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if all(isinstance(t, ast.Name) and t.id == "__all__" for t in targets):
                continue
            pytest.fail(
                f"{module}:{node.lineno}: a module-level mutable value is shared by every workflow run"
            )


def test_the_rules_catch_what_they_are_for() -> None:
    """The checks can fail: a clock read, a stray import and a module-level dict are each found."""
    bad = ast.parse("import random\nfrom datetime import datetime\nSEEN = {}\nx = datetime.now()\n")
    assert "random" in sandbox_visible_imports(bad)
    calls = [n for n in ast.walk(bad) if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute)]
    assert [c.func.attr for c in calls if isinstance(c.func, ast.Attribute)] == ["now"]
    assert any(isinstance(n, ast.Assign) and isinstance(n.value, MUTABLE_LITERALS) for n in bad.body)
    passed = ast.parse(
        "from temporalio import workflow\nwith workflow.unsafe.imports_passed_through():\n    import httpx\n"
    )
    assert sandbox_visible_imports(passed) == ["temporalio"]


def test_every_workflow_module_is_passed_through() -> None:
    """A workflow's own module passes through too, or its run would still copy it (and what it imports)."""
    assert {wf.__module__ for wf in WORKFLOWS} <= set(DETERMINISTIC_MODULES)
    assert all(m.startswith(f"{DETERMINISTIC_PACKAGE}.") for m in DETERMINISTIC_MODULES)
