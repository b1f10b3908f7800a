"""What a command loads: ``remote-oauth token`` imports neither the sandbox nor the dev stack nor a web
framework, and the lazy commands still list, explain and run as before."""

from __future__ import annotations

import inspect
import json
import subprocess
import sys

from typer.testing import CliRunner

from tests.support.cli import base_env
from tests.support.temporal import TEST_KEYS
from worker.cli.app import app
from worker.cli.lazy import LAZY

HEAVY = ("sandbox", "worker.dev", "starlette", "uvicorn")
"""Packages only the sandbox, the dev stack, the web app and the codec server need."""

# Runs the CLI's app as the console script does and prints, on the way out, what was imported; then ends
# as the console script does too (exit_process: the SDK's runtime can crash a normal interpreter exit).
TOKEN_PATH = """
import json, sys
from worker.cli.app import app
from worker.shutdown import exit_process
try:
    app(["token", "acme"])
except SystemExit as done:
    code = done.code
print(json.dumps(sorted(sys.modules)))
exit_process(code)
"""


def test_the_token_path_loads_neither_sandbox_nor_dev_stack() -> None:
    """``token REF``, run to its end (here: Temporal unreachable), never imports the heavy packages."""
    env = base_env(REMOTE_OAUTH_CODEC_KEYS=TEST_KEYS, TEMPORAL_ADDRESS="127.0.0.1:1")
    done = subprocess.run(
        [sys.executable, "-c", TOKEN_PATH], env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 1, done.stderr
    assert done.stderr.startswith("error: cannot reach Temporal (")
    assert done.stderr.endswith("); start it or set TEMPORAL_ADDRESS\n")
    loaded = json.loads(done.stdout)
    assert "worker.api" in loaded  # the path did run
    assert [m for m in loaded if m.split(".")[0] in HEAVY or m.startswith(HEAVY)] == []


def test_help_lists_the_lazy_commands_without_importing_them() -> None:
    """``--help`` shows sandbox and dev with their summaries and imports neither."""
    listing = "from worker.cli.app import main; main(['--help'])"
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", listing],
        env=base_env(COLUMNS="200"),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    for name, lazy in LAZY.items():
        assert f" {name} " in done.stdout
        assert lazy.summary in done.stdout
    imported = {line.rsplit("|", 1)[-1].strip() for line in done.stderr.splitlines() if "|" in line}
    assert [m for m in imported if m.split(".")[0] in HEAVY or m.startswith(HEAVY)] == []


def test_summaries_are_the_commands_own_help() -> None:
    """The listed summary is the first paragraph of the command's docstring, so the two cannot drift."""
    for lazy in LAZY.values():
        assert lazy.summary == " ".join((inspect.getdoc(lazy.load()) or "").split("\n\n")[0].split())


def test_a_lazy_command_takes_its_own_options_and_help() -> None:
    """``remote-oauth sandbox --help`` is the real command's help, with its options; a bad option is a
    usage error (exit 2) naming ``remote-oauth sandbox``."""
    runner = CliRunner()
    shown = runner.invoke(app, ["sandbox", "--help"], prog_name="remote-oauth", env={"COLUMNS": "200"})
    assert shown.exit_code == 0, shown.output
    assert "--refresh-rotation" in shown.output
    assert "Usage: remote-oauth sandbox [OPTIONS]" in shown.output
    dev = runner.invoke(app, ["dev", "--help"], prog_name="remote-oauth", env={"COLUMNS": "200"})
    assert (dev.exit_code, "--demo" in dev.output) == (0, True)
    wrong = runner.invoke(app, ["sandbox", "--no-such-flag"], prog_name="remote-oauth")
    assert wrong.exit_code == 2
    assert "No such option: --no-such-flag" in wrong.output
