"""Regenerate generated_client/ from every spec in openapi/, or check that it has not drifted.

Each ``openapi/<name>.yml`` becomes the package ``generated_client/<name with _>/``, built by
openapi-python-client with ``openapi/config.yml`` and stamped with the spec's ``info.version`` and the
SHA-256 of the spec file (``spec.py``, see regenerate_client_specs), so a reader and ``--check`` both know
what the code came from. Beside it, ``openapi.json`` is the spec as parsed: what the sandbox serves (no YAML
parser at run time) and what the next regeneration compares against to say what changed. A spec whose
content changed under the same ``info.version`` is refused unless ``--allow-unbumped`` (recorded in the
stamp). ``--dialect`` first writes ``openapi/remote-oauth-api.yml`` from the seed in ``openapi/seed/`` (see
regenerate_client_dialect). The whole package is removed before generating: ``--overwrite`` would keep
stale modules.
"""

from __future__ import annotations

import argparse
import filecmp
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from regenerate_client_dialect import DIALECTS, DialectError, write_dialect
from regenerate_client_diff import describe_changes
from regenerate_client_specs import (
    PARSED_FILE,
    STAMP_FILE,
    DriftError,
    Spec,
    find_specs,
    parsed_text,
    previous_document,
    read_stamp,
    stamp_text,
    still_unbumped,
    unbumped_edits,
)

ROOT = Path(__file__).resolve().parent.parent
PACKAGE_DOC = '"""Clients generated from openapi/ by scripts/regenerate_client; never edit by hand."""\n'


def generate(spec: Spec, out_dir: Path, config: Path, *, unbumped: bool = False) -> Path:
    """Generate one spec's package into ``out_dir``, stamp it and keep the parsed spec beside it."""
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
    (target / STAMP_FILE).write_text(stamp_text(spec, unbumped=unbumped), encoding="utf-8")
    (target / PARSED_FILE).write_text(parsed_text(spec), encoding="utf-8")
    return target


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
            current = out_dir / spec.package
            stamp = read_stamp(current)
            if not current.is_dir():
                problems.append(f"{spec.path.name} has no generated package: run scripts/regenerate_client")
                continue
            fresh = generate(spec, Path(tmp), config, unbumped=still_unbumped(stamp, spec))
            diff = _differences(current, fresh)
            if not diff:
                continue
            built = stamp.version if stamp else None
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


def summary(spec: Spec, out_dir: Path) -> list[str]:
    """``name: old -> new`` and what changed, from the package about to be replaced."""
    package_dir = out_dir / spec.package
    stamp = read_stamp(package_dir)
    if stamp is None:
        return [f"{spec.path.name}: new, {spec.version}"]
    if stamp.sha256 == spec.sha256:
        return [f"{spec.path.name}: {spec.version}, unchanged"]
    lines = [f"{spec.path.name}: {stamp.version} -> {spec.version}"]
    previous = previous_document(package_dir)
    if previous is None:
        return [*lines, f"  (no {PARSED_FILE} in the old package: changes unknown)"]
    changes = describe_changes(previous, spec.document)
    return [*lines, *(f"  {line}" for line in changes or ["descriptions or formatting only"])]


def regenerate(specs: list[Spec], out_dir: Path, config: Path, *, allow_unbumped: bool) -> int:
    unbumped = unbumped_edits(specs, out_dir)
    if unbumped and not allow_unbumped:
        for spec in unbumped:
            print(
                f"{spec.path.name} changed but its info.version is still {spec.version}: bump it, or pass "
                "--allow-unbumped to regenerate anyway (the stamp records that)",
                file=sys.stderr,
            )
        return 1
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "__init__.py").write_text(PACKAGE_DOC, encoding="utf-8")
    for spec in specs:
        lines = summary(spec, out_dir)
        stamp = read_stamp(out_dir / spec.package)
        generate(spec, out_dir, config, unbumped=spec in unbumped or still_unbumped(stamp, spec))
        print("\n".join(lines))
        print(f"  generated generated_client/{spec.package}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="scripts/regenerate_client",
        description="Regenerate generated_client/ from openapi/*.yml (or --check that it has not drifted).",
    )
    parser.add_argument(
        "--check", action="store_true", help="regenerate into a temp folder; exit 1 on any drift"
    )
    parser.add_argument(
        "--dialect",
        choices=DIALECTS,
        help="first write openapi/remote-oauth-api.yml from openapi/seed/: the seed as is, or Remote's live gateway",
    )
    parser.add_argument(
        "--version", help="info.version of the live dialect (default: the seed's with '-live' appended)"
    )
    parser.add_argument(
        "--allow-unbumped",
        action="store_true",
        help="regenerate a spec that changed without an info.version bump (recorded in its stamp)",
    )
    parser.add_argument(
        "--specs", type=Path, default=ROOT / "openapi", help="folder of specs (default: openapi/)"
    )
    parser.add_argument("--out", type=Path, default=ROOT / "generated_client", help="output folder")
    args = parser.parse_args(argv)
    if args.check and (args.dialect or args.allow_unbumped):
        parser.error("--check writes nothing: it takes no --dialect or --allow-unbumped")
    if args.version and args.dialect != "live":
        parser.error("--version goes with --dialect live")
    config = args.specs / "config.yml"
    try:
        if args.dialect:
            written = write_dialect(args.specs, args.dialect, args.version)
            print(f"wrote {written.name} in the {args.dialect} dialect")
        specs = find_specs(args.specs)
        if not specs:
            raise DriftError(f"no *.yml spec in {args.specs}")
        if not args.check:
            return regenerate(specs, args.out, config, allow_unbumped=args.allow_unbumped)
        problems = check(specs, args.out, config)
        for line in problems:
            print(line, file=sys.stderr)
        if not problems:
            print(
                f"generated_client matches {len(specs)} spec(s): "
                + ", ".join(f"{s.path.name} {s.version}" for s in specs)
            )
        return 1 if problems else 0
    except (DriftError, DialectError) as err:
        print(err, file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
