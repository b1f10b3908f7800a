"""``scripts/bootstrap``: one progress line per step, pip's noise hidden unless a step fails.

pip itself is replaced by a stand-in that prints 75 warnings (what the real one prints on this machine) and
succeeds or fails on request: the script's own logic runs for real, without a minute of installing.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests import ROOT

BOOTSTRAP = ROOT / "scripts" / "bootstrap"

FAKE_VENV_PYTHON = """#!/usr/bin/env bash
for i in $(seq 75); do echo "WARNING: Location 'file:///opt/pypi/simple/p$i/' is ignored" >&2; done
case " $* " in
    *" -e "*) if [ -n "$FAIL_EDITABLE" ]; then echo "ERROR: the editable install failed: boom" >&2; exit 1; fi ;;
esac
exit 0
"""


def fake_python(tmp_path: Path) -> Path:
    """A ``PYTHON`` whose ``-m venv DIR`` makes a venv whose python is the pip stand-in; the rest is real."""
    venv_python = tmp_path / "venv-python"
    venv_python.write_text(FAKE_VENV_PYTHON)
    venv_python.chmod(0o755)
    python = tmp_path / "python"
    python.write_text(
        "#!/usr/bin/env bash\n"
        'if [ "$1 $2" = "-m venv" ]; then mkdir -p "$3/bin" && cp '
        f'{venv_python} "$3/bin/python"; exit $?; fi\n'
        f'exec {sys.executable} "$@"\n'
    )
    python.chmod(0o755)
    return python


def bootstrap(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", "--noprofile", "--norc", "-c", f"source {BOOTSTRAP} && command -v python"],
        env={
            "PATH": "/usr/bin:/bin",
            "PYTHON": str(fake_python(tmp_path)),
            "REMOTE_OAUTH_VENV": str(tmp_path / "venv"),
            "TMPDIR": str(tmp_path),
            **env,
        },
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_a_first_run_prints_one_line_per_step(tmp_path: Path) -> None:
    """Four lines, no pip warning; the venv's bin goes first on PATH; a second run prints nothing."""
    venv = tmp_path / "venv"
    done = bootstrap(tmp_path)
    assert (done.returncode, done.stdout) == (0, f"{venv}/bin/python\n"), done.stderr
    assert done.stderr.splitlines() == [
        f"==> creating {venv}",
        "==> installing the pinned dependencies from requirements.lock (about a minute)",
        "==> installing remote-oauth itself (editable)",
        f"==> ready: {venv}",
    ]
    again = bootstrap(tmp_path)
    assert (again.returncode, again.stderr) == (0, "")
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("remote-oauth-bootstrap")) == []


def test_a_failing_step_shows_everything_it_printed(tmp_path: Path) -> None:
    """pip's full output (warnings and the error) is shown when its step fails, and bootstrap fails."""
    done = bootstrap(tmp_path, FAIL_EDITABLE="1")
    lines = done.stderr.splitlines()
    assert done.returncode == 1
    assert lines[:3] == [
        f"==> creating {tmp_path / 'venv'}",
        "==> installing the pinned dependencies from requirements.lock (about a minute)",
        "==> installing remote-oauth itself (editable)",
    ]
    assert sum(line.startswith("WARNING: Location") for line in lines) == 75
    assert lines[-2:] == [
        "ERROR: the editable install failed: boom",
        f"bootstrap: installing {tmp_path / 'venv'} failed (see above)",
    ]
    assert not (tmp_path / "venv" / ".lock-sha256").exists()
