"""Where ``remote-oauth dev`` keeps its data: the Temporal database, the dev codec key, logs and a lock.

Everything lives in one folder (``.remote-oauth/dev/`` of the project, or of the current directory), so a
restart finds its workflows and the key that decrypts them, and ``rm -r`` of that folder starts afresh.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shlex
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from workflows.io.codec import Keyring, generate_key
from workflows.io.connect_session import ConnectKeys, generate_connect_key
from workflows.types.errors import ConfigurationError

__all__ = ["DevPaths", "StackRunningError", "default_data_dir", "hold_lock", "load_or_create_keys"]

DATA_DIR_ENV = "REMOTE_OAUTH_DEV_DIR"


class StackRunningError(ConfigurationError):
    """Another ``remote-oauth dev`` holds the lock on this data folder."""


@dataclass(frozen=True)
class DevPaths:
    """The files of one dev stack, all under ``root``."""

    root: Path

    @property
    def database(self) -> Path:
        """The dev server's SQLite file: workflows survive a restart."""
        return self.root / "temporal.db"

    @property
    def sandbox_state(self) -> Path:
        """The sandbox's companies, grants and tokens (SQLite): consents survive a restart too."""
        return self.root / "sandbox.db"

    @property
    def codec_keys(self) -> Path:
        return self.root / "codec-keys"

    @property
    def connect_key(self) -> Path:
        return self.root / "connect-key"

    @property
    def pid_file(self) -> Path:
        """Holds the dev process's pid, locked (``flock``) while it runs."""
        return self.root / "dev.pid"

    @property
    def stack_file(self) -> Path:
        """JSON with the ports, addresses and child pids of the running stack."""
        return self.root / "stack.json"

    @property
    def env_file(self) -> Path:
        """``export`` lines for the CLI: ``source`` it in another shell."""
        return self.root / "env"

    @property
    def temporal_config(self) -> Path:
        """An envconfig TOML naming the dev server, so a user's own Temporal profile never applies."""
        return self.root / "temporal.toml"

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    def prepare(self) -> None:
        self.logs.mkdir(parents=True, exist_ok=True)
        self.root.chmod(0o700)


def default_data_dir(env: Mapping[str, str], cwd: Path) -> Path:
    """``$REMOTE_OAUTH_DEV_DIR``, else ``.remote-oauth/dev`` in the enclosing remote-oauth checkout, else cwd."""
    if env.get(DATA_DIR_ENV):
        return Path(env[DATA_DIR_ENV]).resolve()
    for folder in (cwd, *cwd.parents):
        project = folder / "pyproject.toml"
        if project.is_file() and 'name = "remote-oauth"' in project.read_text(errors="replace"):
            return folder / ".remote-oauth" / "dev"
    return cwd / ".remote-oauth" / "dev"


def load_or_create_connect_key(path: Path) -> str:
    """The dev connect-link key, generated (0600) on first run and reused, so links survive a restart."""
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(generate_connect_key() + "\n")
    text = path.read_text().strip()
    ConnectKeys.parse(text)  # fail here, naming the setting, rather than in every child
    return text


def load_or_create_keys(path: Path) -> str:
    """The dev codec keys, generated (0600) on first run and reused after, so old workflows stay readable."""
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(generate_key("dev-1") + "\n")
    text = path.read_text().strip()
    Keyring.parse(text)  # fail here, naming the file, rather than in every child
    return text


@contextlib.contextmanager
def hold_lock(paths: DevPaths) -> Iterator[IO[str]]:
    """Lock the data folder for this process; the kernel drops the lock when the process dies.

    Raises:
        StackRunningError: another live ``remote-oauth dev`` holds it.
    """
    handle = open(paths.pid_file, "a+")  # noqa: SIM115 - held open for the whole run, closed below
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            pid = handle.read().strip() or "?"
            raise StackRunningError(
                f"remote-oauth dev is already running (pid {pid}) with data in {paths.root}; "
                f"stop it (Ctrl-C) or use another --data-dir"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        yield handle
    finally:
        handle.close()


def write_private(path: Path, text: str) -> None:
    """Write a file only its owner can read (it may hold the dev codec key)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(text)


def write_env_file(path: Path, env: Mapping[str, str], bin_dir: Path) -> None:
    """The settings as ``export`` lines, and ``bin_dir`` (the venv's, holding ``remote-oauth``) on PATH.

    Sourcing it in a new shell is then all it takes to run the CLI; sourcing it twice adds PATH once.
    """
    lines = [f"export {name}={shlex.quote(value)}" for name, value in sorted(env.items())]
    folder = shlex.quote(str(bin_dir))
    lines.append(f'case ":$PATH:" in *:{folder}:*) ;; *) export PATH={folder}:"$PATH" ;; esac')
    write_private(path, "# remote-oauth dev: `source` this file to use the CLI against the dev stack\n")
    with path.open("a") as out:
        out.write("\n".join(lines) + "\n")


def write_temporal_config(path: Path, address: str) -> None:
    write_private(path, f'[profile.default]\naddress = "{address}"\nnamespace = "default"\n')


def write_stack_file(path: Path, stack: Mapping[str, Any]) -> None:
    write_private(path, json.dumps(stack, indent=2) + "\n")
