"""The README runs as written: its Python API script against `remote-oauth dev`, and every `remote-oauth`
command it or a page of docs/ shows names a real command with real flags.

A code block the README does not mean to run whole is preceded by ``<!-- not a script -->``; its
``remote-oauth`` commands are checked all the same. tests/test_docs.py checks the rest of what they say.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
import typer
from typer.testing import CliRunner

from tests.support.dev import running_dev
from worker.cli.app import app
from worker.cli.lazy import LAZY, alone

README = Path(__file__).parent.parent / "README.md"
DOCS = sorted((README.parent / "docs").glob("*.md"))
FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.MULTILINE | re.DOTALL)
SPAN = re.compile(r"`([^`\n]+)`")
COMMAND = re.compile(r"(?<![\w./-])(remote-oauth|scripts/dev)((?: +[^\s#&]+)*)")
FLAG = re.compile(r"(?<![\w-])--[a-z][a-z0-9-]*")


def readme() -> str:
    return README.read_text()


def python_api_script() -> str:
    """The first Python block of the README's "The Python API" section."""
    section = readme().split("## The Python API", 1)[1].split("\n## ", 1)[0]
    blocks: list[str] = [body for lang, body in FENCE.findall(section) if lang == "python"]
    assert blocks, "the Python API section has no python block"
    return blocks[0]


def shown_commands(*pages: Path) -> list[tuple[str, list[str]]]:
    """(subcommand, flags) of every ``remote-oauth SUB ...`` and ``scripts/dev ...`` in the code of ``pages``
    (the README when none is given)."""
    code: list[str] = []
    for page in pages or (README,):
        text = page.read_text()
        code += [body for lang, body in FENCE.findall(text) if lang != "python"]
        code += SPAN.findall(FENCE.sub("", text))
    found = []
    for piece in code:
        for line in piece.replace("\\|", "|").splitlines():
            for program, rest in COMMAND.findall(line):
                words = rest.split()
                if program == "scripts/dev":
                    found.append(("dev", FLAG.findall(rest)))
                elif words and re.fullmatch(r"[a-z][a-z-]*", words[0]):
                    found.append((words[0], FLAG.findall(" ".join(words[1:]))))
    return found


def test_the_readme_shows_commands() -> None:
    """The extraction finds the commands a newcomer sees first (so the next test cannot pass empty)."""
    shown = shown_commands()
    assert ("status", []) in shown
    assert ("magic-link", ["--user"]) in shown
    assert ("dev", ["--demo", "--token-ttl"]) in shown
    assert len({sub for sub, _ in shown}) >= 13


def test_every_command_the_readme_shows_exists_with_its_flags() -> None:
    """Each subcommand exists, answers --help, and takes every flag the README or docs/ give it."""
    commands = typer.main.get_command(app).commands  # type: ignore[attr-defined]
    shown = shown_commands(README, *DOCS)
    assert len(shown) > len(shown_commands())  # docs/ show commands too
    problems = []
    for sub, flags in shown:
        # sandbox and dev are imported only when run: ask for the real command.
        command = typer.main.get_command(alone(sub)) if sub in LAZY else commands.get(sub)
        if command is None:
            problems.append(f"remote-oauth {sub}: no such command")
            continue
        known = {opt for param in command.params for opt in (*param.opts, *param.secondary_opts)}
        problems += [f"remote-oauth {sub}: no {flag}" for flag in flags if flag not in known | {"--help"}]
    assert problems == []
    for sub in sorted({sub for sub, _ in shown}):
        done = CliRunner().invoke(app, [sub, "--help"])
        assert (sub, done.exit_code) == (sub, 0), done.output


def test_the_python_api_script_runs_as_shown(tmp_path: Path) -> None:
    """Run once: it prints a connect link; approve (the demo sandbox approves at once); run again: it uses
    every call it shows and exits 0."""
    script = tmp_path / "readme_api.py"
    script.write_text(python_api_script())
    with running_dev(tmp_path / "dev", "--demo", "1") as stack:

        def run() -> list[str]:
            done = subprocess.run(
                [sys.executable, str(script)],
                env=stack.env(),
                capture_output=True,
                text=True,
                timeout=120,
                check=False,
            )
            assert done.returncode == 0, done.stderr
            return done.stdout.splitlines()

        first = run()
        assert first[0] == "acme is awaiting_consent: send this link to Acme's admin, then run me again:"
        page = httpx.get(first[1], follow_redirects=True, trust_env=False, timeout=30)
        assert (page.status_code, "<h1>Connected</h1>" in page.text) == (200, True)

        second = run()
        assert second[0].startswith("acme is active; its token expires at ")
        assert second[1] == "GET /v1/companies: 200"
        assert re.fullmatch(
            r"partner token for partner \| acting token for [0-9a-f-]{36} \| sign-in link http://\S+",
            second[2],
        ), second[2]
        assert second[3] == "GET /v1/companies as the partner: 200"


@pytest.mark.parametrize("code", ["0", "1", "2"])
def test_the_readme_states_the_exit_codes(code: str) -> None:
    """Exit codes are documented where the CLI is."""
    section = readme().split("## The CLI", 1)[1].split("\n## ", 1)[0]
    assert f"`{code}`" in section
