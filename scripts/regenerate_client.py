"""Regenerate generated_client/ from every spec in openapi/, or check that it has not drifted.

Each ``openapi/<name>.yml`` becomes the package ``generated_client/<name with _>/``, built by
openapi-python-client with ``openapi/config.yml`` and stamped with the spec's ``info.version`` and the
SHA-256 of the spec file (``spec.py``), so a reader and ``--check`` both know what the code came from.
The whole package is removed before generating: ``--overwrite`` would keep stale modules.
"""

from __future__ import annotations

import argparse
import filecmp
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
STAMP_FILE = "spec.py"
PACKAGE_DOC = '"""Clients generated from openapi/ by scripts/regenerate_client; never edit by hand."""\n'
_VERSION_LINE = re.compile(r"^  version:\s*['\"]?(?P<version>[^'\"\n]+?)['\"]?\s*$", re.MULTILINE)


@dataclass(frozen=True)
class Spec:
    """One spec file and the package generated from it."""

    path: Path
    version: str
    sha256: str

    @property
    def package(self) -> str:
        return self.path.stem.replace("-", "_")


class DriftError(Exception):
    """generated_client/ does not match openapi/."""


def read_spec(path: Path) -> Spec:
    data = path.read_bytes()
    match = _VERSION_LINE.search(data.decode("utf-8"))
    if match is None:
        raise DriftError(f"{path.name} has no info.version")
    return Spec(path=path, version=match["version"], sha256=hashlib.sha256(data).hexdigest())


def find_specs(spec_dir: Path) -> list[Spec]:
    return [read_spec(p) for p in sorted(spec_dir.glob("*.yml")) if p.name != "config.yml"]


def stamp_text(spec: Spec) -> str:
    return (
        f'"""What this package was generated from; written by scripts/regenerate_client."""\n\n'
        f'SPEC_FILE = "{spec.path.name}"\n'
        f'SPEC_VERSION = "{spec.version}"\n'
        f'SPEC_SHA256 = "{spec.sha256}"\n'
    )


def generate(spec: Spec, out_dir: Path, config: Path) -> Path:
    """Generate one spec's package into ``out_dir`` and stamp it."""
    target = out_dir / spec.package
    shutil.rmtree(target, ignore_errors=True)
    generator = Path(sys.executable).with_name("openapi-python-client")
    result = subprocess.run(
        [
            str(generator),
            "generate",
            "--path",
            str(spec.path),
            "--meta",
            "none",
            "--config",
            str(config),
            "--output-path",
            str(target),
            "--fail-on-warning",
        ],
        capture_output=True,
        text=True,
        check=False,
        # The generator's post-hooks call the pinned ruff that sits beside this interpreter.
        env={**os.environ, "PATH": f"{generator.parent}{os.pathsep}{os.environ.get('PATH', '')}"},
    )
    if result.returncode != 0:
        raise DriftError(f"openapi-python-client failed on {spec.path.name}:\n{result.stdout}{result.stderr}")
    (target / STAMP_FILE).write_text(stamp_text(spec), encoding="utf-8")
    return target


def _stamped_version(package_dir: Path) -> str | None:
    match = re.search(r'^SPEC_VERSION = "(.*)"$', _read(package_dir / STAMP_FILE), re.MULTILINE)
    return match[1] if match else None


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return ""


def _differences(left: Path, right: Path) -> list[str]:
    """Relative paths that differ between two trees, ignoring caches."""
    cmp = filecmp.dircmp(left, right, ignore=["__pycache__", ".mypy_cache", ".ruff_cache"])
    found: list[str] = []

    def walk(c: filecmp.dircmp[str], prefix: str) -> None:
        found.extend(prefix + n for n in c.left_only + c.right_only + c.funny_files)
        _, mismatch, errors = filecmp.cmpfiles(c.left, c.right, c.common_files, shallow=False)
        found.extend(prefix + n for n in mismatch + errors)
        for name, sub in c.subdirs.items():
            walk(sub, f"{prefix}{name}/")

    walk(cmp, "")
    return sorted(found)


def check(specs: list[Spec], out_dir: Path, config: Path) -> list[str]:
    """Regenerate into a temporary folder and describe every drift from ``out_dir``."""
    problems: list[str] = []
    expected = {s.package for s in specs}
    if out_dir.is_dir():
        for stray in sorted(p.name for p in out_dir.iterdir() if p.is_dir() and p.name != "__pycache__"):
            if stray not in expected:
                problems.append(
                    f"generated_client/{stray} has no spec in openapi/: run scripts/regenerate_client"
                )
    with tempfile.TemporaryDirectory(prefix="regen-") as tmp:
        for spec in specs:
            fresh = generate(spec, Path(tmp), config)
            current = out_dir / spec.package
            if not current.is_dir():
                problems.append(f"{spec.path.name} has no generated package: run scripts/regenerate_client")
                continue
            diff = _differences(current, fresh)
            if not diff:
                continue
            built = _stamped_version(current)
            if built != spec.version:
                problems.append(
                    f"{spec.path.name} is {spec.version} but generated_client was built from {built}: "
                    "run scripts/regenerate_client"
                )
            elif STAMP_FILE in diff:
                problems.append(
                    f"{spec.path.name} changed since generated_client/{spec.package} was built "
                    f"(same info.version {spec.version}; bump it): run scripts/regenerate_client"
                )
            else:
                problems.append(
                    f"generated_client/{spec.package} differs from what {spec.path.name} generates "
                    f"({', '.join(diff[:5])}): never edit it by hand; run scripts/regenerate_client"
                )
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="scripts/regenerate_client",
        description="Regenerate generated_client/ from openapi/*.yml (or --check that it has not drifted).",
    )
    parser.add_argument(
        "--check", action="store_true", help="regenerate into a temp folder; exit 1 on any drift"
    )
    parser.add_argument(
        "--specs", type=Path, default=ROOT / "openapi", help="folder of specs (default: openapi/)"
    )
    parser.add_argument("--out", type=Path, default=ROOT / "generated_client", help="output folder")
    args = parser.parse_args(argv)
    config = args.specs / "config.yml"
    try:
        specs = find_specs(args.specs)
        if not specs:
            raise DriftError(f"no *.yml spec in {args.specs}")
        if args.check:
            problems = check(specs, args.out, config)
            for line in problems:
                print(line, file=sys.stderr)
            if not problems:
                print(
                    f"generated_client matches {len(specs)} spec(s): "
                    + ", ".join(f"{s.path.name} {s.version}" for s in specs)
                )
            return 1 if problems else 0
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "__init__.py").write_text(PACKAGE_DOC, encoding="utf-8")
        for spec in specs:
            generate(spec, args.out, config)
            print(f"generated generated_client/{spec.package} from {spec.path.name} {spec.version}")
        return 0
    except DriftError as err:
        print(err, file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
