"""The README and docs/ agree with the code: generated settings tables, every variable the code reads,
links that resolve, the CLI table, the company state diagram, the sandbox's faults and routes, the API table."""

from __future__ import annotations

import dataclasses
import re
import sys
from pathlib import Path

import pytest
import typer

from sandbox.endpoints.admin import admin_routes
from sandbox.state.faults import FAULT_KINDS
from tests import ROOT
from worker.api import RemoteOAuth
from worker.cli.app import app
from worker.cli.lazy import alone
from workflows.io.settings import Settings
from workflows.io.settings_vars import OTHER_VARIABLES, declared, tables
from workflows.types.company import Phase
from workflows.types.errors import ConfigurationError

sys.path.insert(0, str(ROOT / "scripts"))
import settings_doc

DOCS = sorted((ROOT / "docs").glob("*.md"))
PAGES = [ROOT / "README.md", *DOCS]
CODE_FOLDERS = ("workflows", "worker", "sandbox", "bench", "scripts", ".ci")
VARIABLE = re.compile(r"\b(?:REMOTE|TEMPORAL)_[A-Z0-9_]*[A-Z0-9]\b(?![_*])")
"""A variable name; ``REMOTE_*`` and ``REMOTE_OAUTH_*`` (prefixes in prose) are not names."""
FENCE = re.compile(r"^```.*?^```", re.MULTILINE | re.DOTALL)
LINK = re.compile(r"(?<!!)\[[^\]\n]*\]\(([^)\s]+)\)")


def _text(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def _section(text: str, heading: str) -> str:
    return text.split(f"\n{heading}\n", 1)[1].split("\n## ", 1)[0]


def _documented() -> set[str]:
    """Every variable name the generated tables mention."""
    return {name for table in tables(declared(Settings)).values() for name in VARIABLE.findall(table)}


def _read_by_code() -> dict[str, str]:
    """Variable name -> one file of ours that names it (generated_client and tests excluded)."""
    found: dict[str, str] = {}
    for folder in CODE_FOLDERS:
        for path in sorted((ROOT / folder).rglob("*")):
            if not path.is_file() or "__pycache__" in path.parts or path.suffix in (".pyc", ".db"):
                continue
            for name in VARIABLE.findall(path.read_text(encoding="utf-8", errors="replace")):
                found.setdefault(name, str(path.relative_to(ROOT)))
    return found


# -- settings -----------------------------------------------------------------------------------------------


def test_the_settings_tables_are_the_ones_the_code_renders() -> None:
    """docs/settings.md's generated regions equal what ``scripts/settings_doc`` would write now."""
    doc = _text(ROOT / "docs" / "settings.md")
    assert settings_doc.splice(doc, settings_doc.expected_tables()) == doc, "run scripts/settings_doc"


def test_a_changed_declaration_shows_in_the_rendered_table() -> None:
    """The comparison above can fail: another default renders another table, which the file does not hold."""
    doc = _text(ROOT / "docs" / "settings.md")
    variables = declared(Settings)
    variables["state_ttl"] = dataclasses.replace(variables["state_ttl"], default=901)
    changed = settings_doc.splice(doc, tables(variables))
    assert "| `REMOTE_OAUTH_STATE_TTL` | `901` |" in changed
    assert changed != doc


def test_every_variable_the_code_names_is_in_a_table() -> None:
    """A REMOTE_* / TEMPORAL_* name anywhere in our code (reads, messages, scripts) has a row in
    docs/settings.md; the scan finds the ones read outside ``Settings`` too."""
    code = _read_by_code()
    assert {
        "REMOTE_OAUTH_DEV_DIR",
        "REMOTE_OAUTH_VENV",
        "REMOTE_OAUTH_METRICS_PORT",
        "REMOTE_CLIENT_ID",
    } <= set(code)
    missing = {name: where for name, where in code.items() if name not in _documented()}
    assert missing == {}


def test_every_variable_the_docs_name_exists() -> None:
    """README and docs/ name no variable that the tables (so the code) do not have."""
    documented = _documented()
    named = {(page.name, name) for page in PAGES for name in VARIABLE.findall(_text(page))}
    assert {(page, name) for page, name in named if name not in documented} == set()


@pytest.mark.parametrize("field", list(declared(Settings)))
def test_every_declared_variable_is_read(field: str) -> None:
    """Setting the declared variable changes the settings, or is refused with a message naming it."""
    variable = declared(Settings)[field]
    for name in variable.names:
        value = "/nonexistent/remote-oauth-test" if name.endswith("_FILE") else "1"
        try:
            settings = Settings.from_env({name: value})
        except ConfigurationError as err:
            refusal = str(err)
        else:
            assert getattr(settings, field) != getattr(Settings(), field), name
            continue
        assert name in refusal


def test_the_other_variables_are_not_settings() -> None:
    """A variable is declared once: either a ``Settings`` field or one of the others."""
    settings = {v.env for v in declared(Settings).values()}
    assert settings.isdisjoint(v.env for v in OTHER_VARIABLES)


# -- links ----------------------------------------------------------------------------------------------------


def _slug(heading: str) -> str:
    """GitHub's anchor for a heading."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def _anchors(page: Path) -> set[str]:
    text = FENCE.sub("", _text(page))
    return {_slug(m) for m in re.findall(r"^#+ (.+)$", text, re.MULTILINE)}


def _links() -> list[tuple[Path, str]]:
    return [
        (page, target)
        for page in PAGES
        for target in LINK.findall(FENCE.sub("", _text(page)))
        if not re.match(r"[a-z]+:", target)
    ]


def test_the_link_check_sees_the_links() -> None:
    """The README links every docs page, and the extraction finds them (so the next test cannot pass empty)."""
    readme = {target for page, target in _links() if page.name == "README.md"}
    assert {f"docs/{doc.name}" for doc in DOCS} <= readme


@pytest.mark.parametrize(("page", "target"), _links(), ids=lambda v: v if isinstance(v, str) else v.name)
def test_every_relative_link_resolves(page: Path, target: str) -> None:
    """Each relative link names a file or folder of the checkout, and its #anchor a heading there."""
    path, _, anchor = target.partition("#")
    resolved = (page.parent / path).resolve() if path else page
    assert resolved.exists(), f"{page.name}: {target} does not exist"
    assert resolved.is_relative_to(ROOT.resolve()), f"{page.name}: {target} leaves the checkout"
    if anchor:
        assert anchor in _anchors(resolved), f"{page.name}: no heading #{anchor} in {path or page.name}"


# -- the CLI, the states, the sandbox, the API -------------------------------------------------------------


def test_the_cli_table_names_every_command() -> None:
    """The README's CLI table has one row per ``remote-oauth`` command, and no row for a command that is gone."""
    table = _section(_text(ROOT / "README.md"), "## The CLI")
    rows = set(re.findall(r"^\| `remote-oauth ([a-z-]+)", table, re.MULTILINE))
    commands = {
        name
        for name, command in typer.main.get_command(app).commands.items()  # type: ignore[attr-defined]
        if not command.hidden
    }
    assert len(commands) >= 13
    assert rows == commands


def _state_diagram() -> str:
    blocks = re.findall(r"^```mermaid\n(stateDiagram-v2\n.*?)^```", _text(ROOT / "README.md"), re.M | re.S)
    assert len(blocks) == 1
    return str(blocks[0])


def test_the_state_diagram_has_exactly_the_phases() -> None:
    """Every state drawn is a ``Phase`` (or a group of them), and every ``Phase`` is drawn."""
    diagram = _state_diagram()
    groups = set(re.findall(r'^\s*state "[^"]*" as (\w+) \{', diagram, re.MULTILINE))
    members = set(re.findall(r"^\s*(\w+)\s*$", diagram, re.MULTILINE))
    ends = {
        end
        for left, right in re.findall(r"^\s*(\S+) --> (\S+?)(?::|$)", diagram, re.MULTILINE)
        for end in (left, right)
    }
    drawn = (members | ends) - groups - {"[*]"}
    assert drawn == {str(phase) for phase in Phase}
    for final in (Phase.EXPIRED, Phase.OFFBOARDED):
        assert f"{final} --> [*]" in diagram


def test_the_sandbox_doc_names_every_fault_and_admin_route() -> None:
    """docs/sandbox.md lists every fault kind and every ``/sandbox/`` route the sandbox serves."""
    doc = re.sub(r"\{[^}]*\}", "{}", _text(ROOT / "docs" / "sandbox.md"))
    assert [kind for kind in FAULT_KINDS if f"`{kind}`" not in doc] == []
    routes = [
        f"{method} {re.sub(r'{[^}]*}', '{}', route.path)}"
        for route in admin_routes()
        for method in route.methods or ()
        if method != "HEAD"
    ]
    assert len(routes) == 15
    assert [route for route in routes if f"`{route}`" not in doc] == []


@pytest.mark.parametrize(("page", "command"), [("sandbox.md", "sandbox"), ("dev-stack.md", "dev")])
def test_documented_flags_exist(page: str, command: str) -> None:
    """Every ``--flag`` a command's reference page shows is one of that command's options."""
    click_command = typer.main.get_command(alone(command))  # sandbox and dev are imported only when run
    known = {opt for param in click_command.params for opt in (*param.opts, *param.secondary_opts)}
    shown = set(re.findall(r"`(--[a-z][a-z0-9-]*)`", _text(ROOT / "docs" / page)))
    assert shown
    assert shown - known == set()


def test_the_api_calls_the_docs_show_exist() -> None:
    """Every ``oauth.name(...)`` in the README and docs/api.md is a method of ``RemoteOAuth``."""
    calls = {
        name
        for page in (ROOT / "README.md", ROOT / "docs" / "api.md")
        for name in re.findall(r"\boauth\.([a-z_]+)\(", _text(page))
    }
    assert {"onboard", "token", "auth", "partner_token", "magic_link"} <= calls
    assert sorted(name for name in calls if not callable(getattr(RemoteOAuth, name, None))) == []
