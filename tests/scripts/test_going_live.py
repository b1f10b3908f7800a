"""Going live is one tested command: ``scripts/regenerate_client --dialect live`` in a copy of this repository.

The copy is regenerated from Remote's live dialect of the seed; then the sandbox, started from the bumped spec,
carries the whole flow and stays conformant to it, and the live client type-checks against our code. Every CI
run does this, so the next bump from Remote is known to work before it arrives.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from tests import ROOT

sys.path.insert(0, str(ROOT / "scripts"))
import regenerate_client_dialect as dialect

SKIPPED = shutil.ignore_patterns(
    ".git",
    ".venv",
    "__pycache__",
    ".mypy_cache",
    ".ruff_cache",
    ".pytest_cache",
    ".hypothesis",
    ".remote-oauth",
)
"""Build and cache folders, and the dev stack's data: none is part of the repository."""
MINUTES = 60


def _run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """``args`` in the copy, with this venv (same lock file, so scripts/bootstrap installs nothing)."""
    env = {
        **os.environ,
        "PYTHONPATH": str(cwd),
        "PYTHONDONTWRITEBYTECODE": "1",
        "REMOTE_OAUTH_VENV": sys.prefix,
    }
    command = [str(cwd / args[0]), *args[1:]] if args[0].startswith("scripts/") else [sys.executable, *args]
    # Each step is bounded: a hung server fails this test instead of the whole run.
    return subprocess.run(
        command, cwd=cwd, env=env, capture_output=True, text=True, timeout=5 * MINUTES, check=False
    )


def test_going_live_regenerates_and_the_whole_flow_passes(tmp_path: Path) -> None:
    """In a copy: the live dialect, regenerated with its summary; then mypy, the whole flow and conformance pass."""
    copy = tmp_path / "repo"
    shutil.copytree(ROOT, copy, ignore=SKIPPED)
    before = (copy / "openapi" / "remote-oauth-api.yml").read_text(encoding="utf-8")
    seed = (copy / "openapi" / "seed" / "remote-oauth-api.yml").read_text(encoding="utf-8")
    live = dialect.live_spec(seed)

    assert (Path(sys.prefix) / ".lock-sha256").is_file(), "run the tests in the venv scripts/bootstrap made"
    regenerated = _run(
        "scripts/regenerate_client", "--dialect", "live", cwd=copy
    )  # the command docs/spec-bumps.md shows
    assert regenerated.returncode == 0, regenerated.stderr
    assert (copy / "openapi" / "remote-oauth-api.yml").read_text(encoding="utf-8") == live
    printed = regenerated.stdout.splitlines()
    assert printed[0] == "wrote remote-oauth-api.yml in the live dialect"
    if before != live:  # a checkout already in the live dialect has nothing to change
        old, new = dialect.seed_version(before), dialect.seed_version(live)
        assert f"remote-oauth-api.yml: {old} -> {new}" in printed
        assert "  ~ operation exchangeOAuthToken: POST /oauth2/token -> POST /auth/oauth2/token" in printed
    token_endpoint = (
        copy / "generated_client" / "remote_oauth_api" / "api" / "o_auth" / "exchange_o_auth_token.py"
    )
    assert '"url": "/auth/oauth2/token"' in token_endpoint.read_text(encoding="utf-8")

    checked = _run("scripts/regenerate_client", "--check", cwd=copy)
    assert checked.returncode == 0, checked.stderr
    typed = _run(
        "-m",
        "mypy",
        "--no-incremental",
        "generated_client",
        "workflows/io/activities.py",
        "workflows/io/gateway/token_endpoint.py",
        cwd=copy,
    )
    assert typed.returncode == 0, typed.stdout

    suites = [
        "tests/test_whole_flow.py",
        "tests/sandbox/test_conformance.py",
        "tests/test_generated_client.py",
    ]
    tested = _run("-m", "pytest", "-q", "-p", "no:cacheprovider", *suites, cwd=copy)
    assert tested.returncode == 0, tested.stdout[-4000:]
    summary = tested.stdout.strip().splitlines()[-1]
    assert re.fullmatch(r"=* ?\d+ passed in [\d.]+s ?=*", summary), summary
