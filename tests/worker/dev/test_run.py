"""``remote-oauth dev`` as a user runs it: a real subprocess that starts the stack, refuses a second copy,
and leaves no process behind on Ctrl-C (SIGINT)."""

from __future__ import annotations

import contextlib
import json
import os
import shlex
import signal
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx

from tests.support.dev import DevStack, dev_argv, running_dev
from worker.dev.demo import Summary, render, summarize
from worker.dev.files import default_data_dir, load_or_create_keys
from worker.dev.stack import choose_port, port_free


def alive(pid: int) -> bool:
    """True for a live process (a zombie counts as gone: it runs nothing)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def group_members(pgids: set[int]) -> list[int]:
    """Live processes in any of these process groups (grandchildren included)."""
    members = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                if int(fields[2]) in pgids and fields[0] != "Z":
                    members.append(int(entry.name))
    return members


def test_dev_starts_refuses_a_second_copy_and_stops_every_child(tmp_path: Path) -> None:
    """The stack starts, a second `dev` on the same data says so, and SIGINT leaves no process alive."""
    with running_dev(tmp_path) as stack:
        children = stack.children()
        assert sorted(children) == ["codec", "sandbox", "temporal", "web", "worker"]
        assert all(alive(pid) for pid in children.values())
        assert stack.paths.pid_file.read_text().strip() == str(stack.process.pid)
        assert (stack.paths.codec_keys.stat().st_mode & 0o777) == 0o600

        second = subprocess.run(dev_argv(tmp_path), capture_output=True, text=True, timeout=30, check=False)
        assert second.returncode == 1
        assert f"already running (pid {stack.process.pid})" in second.stderr

        stack.process.send_signal(signal.SIGINT)
        assert stack.process.wait(timeout=30) == 0

    assert [name for name, pid in children.items() if alive(pid)] == []
    assert group_members(set(children.values())) == []
    assert not stack.paths.stack_file.exists()


def test_dev_key_is_created_once_and_kept(tmp_path: Path) -> None:
    """A restart reads the same codec key, so the workflows it wrote stay readable."""
    first = load_or_create_keys(tmp_path / "codec-keys")
    assert first.startswith("dev-1:")
    assert load_or_create_keys(tmp_path / "codec-keys") == first


def test_dev_data_lives_in_the_project(tmp_path: Path) -> None:
    """Inside a remote-oauth checkout the data goes to its .remote-oauth/dev; elsewhere to the cwd's."""
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "remote-oauth"\n')
    (tmp_path / "sub").mkdir()
    assert default_data_dir({}, tmp_path / "sub") == tmp_path / ".remote-oauth" / "dev"
    other = tmp_path / "sub"
    (tmp_path / "pyproject.toml").unlink()
    assert default_data_dir({}, other) == other / ".remote-oauth" / "dev"
    assert default_data_dir({"REMOTE_OAUTH_DEV_DIR": str(tmp_path)}, other) == tmp_path


def test_demo_table_with_no_companies_says_so() -> None:
    """The live table's headline is readable before any company exists."""
    summary: Summary = summarize([])
    lines = render(summary, datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC))
    assert lines[0] == "12:00:00  no companies yet | next refresh: - | refreshes done: 0 | errors: 0"


def test_a_killed_dev_leaves_no_child_behind(tmp_path: Path) -> None:
    """SIGKILL gives `dev` no chance to clean up: each child's guard notices and stops it."""
    with running_dev(tmp_path) as stack:
        children = stack.children()
        assert all(alive(pid) for pid in children.values())
        stack.process.kill()
        stack.process.wait(timeout=10)
        deadline = time.monotonic() + 30
        while group_members(set(children.values())) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert group_members(set(children.values())) == []
    with running_dev(tmp_path) as again:  # the stale pid file of the killed copy does not block a new one
        assert sorted(again.children()) == ["codec", "sandbox", "temporal", "web", "worker"]


def test_the_guard_passes_the_exit_status_and_signals_on() -> None:
    """The guard exits as its child does, and a SIGTERM sent to the guard alone reaches the child."""
    guard = [sys.executable, "-m", "worker.dev.guard", str(os.getpid())]
    assert subprocess.run([*guard, sys.executable, "-c", "raise SystemExit(3)"], check=False).returncode == 3
    sleeper = subprocess.Popen([*guard, sys.executable, "-c", "import time; time.sleep(60)"])
    children = Path(f"/proc/{sleeper.pid}/task/{sleeper.pid}/children")
    deadline = time.monotonic() + 15
    while not children.read_text().strip():  # the guard's handlers are set before its child starts
        assert time.monotonic() < deadline, "the guard never started its child"
        time.sleep(0.02)
    sleeper.send_signal(signal.SIGTERM)
    assert sleeper.wait(timeout=15) == 128 + signal.SIGTERM
    usage = subprocess.run([*guard[:3], "not-a-pid"], capture_output=True, text=True, check=False)
    assert (usage.returncode, usage.stderr.startswith("usage:")) == (2, True)


def cli_json(stack: DevStack, *args: str) -> tuple[int, str, str]:
    """``remote-oauth ARGS`` against the running stack, as a shell that sourced its env file."""
    done = subprocess.run(
        [sys.executable, "-m", "worker.cli.app", *args],
        env=stack.env(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    return done.returncode, done.stdout, done.stderr


def wait_active(stack: DevStack, refs: list[str], deadline_s: float = 60.0) -> dict[str, str]:
    """Poll `status --json` until every company in ``refs`` is active; returns the last phases seen."""
    deadline = time.monotonic() + deadline_s
    while True:
        code, out, err = cli_json(stack, "status", "--json")
        phases = {row["company_ref"]: row["phase"] for row in json.loads(out)} if code == 0 else {}
        if all(phases.get(ref) == "active" for ref in refs):
            return phases
        assert time.monotonic() < deadline, f"not all active in time: {phases or err}"
        time.sleep(0.5)


def read_until(stack: DevStack, prefix: str, deadline_s: float = 60.0) -> str:
    """The first line of the stack's output that starts with ``prefix``."""
    assert stack.process.stdout is not None
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        line = stack.process.stdout.readline()
        assert line, "the stack stopped printing"
        if line.startswith(prefix):
            return line.strip()
    raise AssertionError(f"no line starting with {prefix!r}")


def test_a_restart_keeps_every_company_connected(tmp_path: Path) -> None:
    """After Ctrl-C and `dev` again, companies stay active, the old token still works and refreshes work;
    `--demo` on existing data keeps the connected companies and adds the new ones."""
    with running_dev(tmp_path, "--demo", "2") as stack:
        wait_active(stack, ["demo-001", "demo-002"])
        code, before, err = cli_json(stack, "token", "demo-001")
        assert code == 0, err

    with running_dev(tmp_path, "--demo", "3") as again:
        assert read_until(again, "demo: ").startswith("demo: onboarding 3 companies")
        assert read_until(again, "demo: ") == "demo: 1 connected now, 2 connected already (kept), 0 failed"
        phases = wait_active(again, ["demo-001", "demo-002", "demo-003"])
        # acme is onboarded at every start (the banner's signed link) and waits for its admin.
        assert phases.pop("acme") == "awaiting_consent"
        assert sorted(phases) == ["demo-001", "demo-002", "demo-003"]

        code, after, err = cli_json(again, "token", "demo-001")
        assert (code, after) == (0, before), err
        sandbox = f"http://127.0.0.1:{json.loads(again.paths.stack_file.read_text())['ports']['sandbox']}"
        answer = httpx.get(
            f"{sandbox}/v1/companies", headers={"Authorization": f"Bearer {after.strip()}"}, trust_env=False
        )
        assert answer.status_code == 200, answer.text
        # The refresh token survived too: a refresh now (3599 s > what is left) is accepted.
        code, refreshed, err = cli_json(again, "token", "demo-001", "--min-ttl", "3599")
        assert code == 0, err
        assert refreshed != before
        assert json.loads(cli_json(again, "status", "demo-001", "--json")[1])["phase"] == "active"
    assert (stack.paths.sandbox_state.stat().st_mode & 0o777) == 0o600


def test_the_env_file_is_all_a_new_shell_needs(tmp_path: Path) -> None:
    """`source .remote-oauth/dev/env` in a shell without the venv on PATH, then `remote-oauth status`."""
    with running_dev(tmp_path) as stack:
        env_file = shlex.quote(str(stack.paths.env_file))
        shell = subprocess.run(
            ["bash", "--noprofile", "--norc", "-c", f"source {env_file} && remote-oauth status"],
            env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "LANG": "C.UTF-8"},
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert shell.returncode == 0, shell.stderr
        assert shell.stdout.splitlines()[0].split() == [
            "COMPANY",
            "STATE",
            "REMOTE",
            "COMPANY",
            "ID",
            "EXPIRES",
            "NEXT",
            "REFRESH",
            "REFRESHES",
            "LAST",
            "ERROR",
        ]
        # Sourcing twice puts the folder on PATH once.
        twice = subprocess.run(
            ["bash", "--noprofile", "--norc", "-c", f"source {env_file} && source {env_file} && echo $PATH"],
            env={"PATH": "/usr/bin:/bin"},
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        )
        assert twice.stdout.strip() == f"{Path(sys.executable).parent}:/usr/bin:/bin"


def test_a_port_in_time_wait_is_still_preferred() -> None:
    """A port held only by TIME-WAIT sockets (a stack stopped a moment ago) is chosen again; a listening
    one is not."""
    with socket.socket() as listener:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn and Go's servers do
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        client = socket.create_connection(("127.0.0.1", port))
        served, _ = listener.accept()
        assert not port_free(port)
        served.close()  # the server side closes first: it is the one left in TIME-WAIT, on `port`
        client.close()
    with socket.socket() as plain, contextlib.suppress(OSError):  # without SO_REUSEADDR the bind fails
        plain.bind(("127.0.0.1", port))
        raise AssertionError("no TIME-WAIT socket held the port; the test proves nothing")
    assert port_free(port)
    assert choose_port("sandbox", None, port, set()) == port
