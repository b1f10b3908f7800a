"""The layout a newcomer can see: small modules named by concept, small folders, boundaries that hold.

These are the rules of the restructure (issue 14) written as checks, so the shape does not drift back: a module
that grows past the limit, a folder that becomes a catch-all, a private name reached across packages, or workflow
code importing the generated client fails here with the rule it broke.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

from tests import ROOT

SOURCE_PACKAGES = ("workflows", "worker", "sandbox", "bench", "scripts")
MODULE_LINES = 300
TEST_MODULE_LINES = 400
FOLDER_MODULES = 10
IO_PACKAGE = "workflows.io"


def modules(*packages: str) -> Iterator[Path]:
    for package in packages:
        yield from sorted((ROOT / package).rglob("*.py"))


def dotted(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def package_of(path: Path) -> str:
    return ".".join(path.relative_to(ROOT).parent.parts)


def imports(path: Path) -> Iterator[ast.ImportFrom | ast.Import]:
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom | ast.Import):
            yield node


def line_count(path: Path) -> int:
    return len(path.read_text(encoding="utf-8").splitlines())


def test_no_source_module_is_over_the_limit() -> None:
    long = {
        str(p.relative_to(ROOT)): n for p in modules(*SOURCE_PACKAGES) if (n := line_count(p)) > MODULE_LINES
    }
    assert not long, f"split these by concept (limit {MODULE_LINES} lines): {long}"


def test_no_test_module_is_over_the_limit() -> None:
    long = {str(p.relative_to(ROOT)): n for p in modules("tests") if (n := line_count(p)) > TEST_MODULE_LINES}
    assert not long, f"split these by what they test (limit {TEST_MODULE_LINES} lines): {long}"


def test_no_folder_is_a_catch_all() -> None:
    folders: dict[Path, int] = {}
    for path in modules(*SOURCE_PACKAGES, "tests"):
        if path.name != "__init__.py":
            folders[path.parent] = folders.get(path.parent, 0) + 1
    crowded = {str(f.relative_to(ROOT)): n for f, n in folders.items() if n > FOLDER_MODULES}
    assert not crowded, f"group these folders' modules into sub-packages (limit {FOLDER_MODULES}): {crowded}"


def owner_of(module: str) -> str:
    """The package a module belongs to (a package owns itself)."""
    return module if (ROOT / module.replace(".", "/")).is_dir() else module.rpartition(".")[0]


def private_imports(source: str, package: str) -> list[str]:
    """Private names that code in ``package`` imports from a package that is not it or one of its parents."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and node.module and not node.level:
            private = [a.name for a in node.names if a.name.startswith("_") and not a.name.startswith("__")]
            owner = owner_of(node.module)
            if private and package != owner and not package.startswith(f"{owner}."):
                found.append(f"{node.lineno}: {private} from {node.module}")
    return found


def test_no_module_imports_a_private_name_of_another_package() -> None:
    """``from a.b import _x`` only inside package ``a``: a private name is its own package's business."""
    found = [
        f"{path.relative_to(ROOT)}:{hit}"
        for path in modules(*SOURCE_PACKAGES, "tests")
        for hit in private_imports(path.read_text(encoding="utf-8"), package_of(path))
    ]
    assert not found, "\n".join(found)


def test_the_private_name_rule_can_fail() -> None:
    source = "from worker.api.rpc import _secret, digest\n"
    assert private_imports(source, "worker.api") == []
    assert private_imports(source, "worker.cli") == ["1: ['_secret'] from worker.api.rpc"]
    assert private_imports(source, "tests.worker") == ["1: ['_secret'] from worker.api.rpc"]


def test_only_the_io_package_imports_the_generated_client() -> None:
    """Workflow code, the worker and the sandbox reach Remote's gateway only through ``workflows.io``."""
    found = []
    for path in modules("workflows", "worker", "sandbox", "bench"):
        if dotted(path).startswith(IO_PACKAGE):
            continue
        for node in imports(path):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
            if any(n == "generated_client" or n.startswith("generated_client.") for n in names):
                found.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert not found, f"only {IO_PACKAGE} imports generated_client: {found}"
