"""The generated client stays in step with openapi/, and a spec bump flows through regeneration."""

from __future__ import annotations

import hashlib
import importlib
import re
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests import ROOT

sys.path.insert(0, str(ROOT / "scripts"))
import regenerate_client
import regenerate_client_specs


def _tree_digest(folder: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(folder.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts:
            digest.update(str(path.relative_to(folder)).encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


@pytest.fixture
def spec_copy(tmp_path: Path) -> Path:
    """A copy of the repo's specs and generator config."""
    specs = tmp_path / "openapi"
    shutil.copytree(ROOT / "openapi", specs)
    return specs


@pytest.fixture
def isolated_import(tmp_path: Path) -> Iterator[Path]:
    """A folder on sys.path for importing a freshly generated package, removed afterwards."""
    folder = tmp_path / "pkgs"
    folder.mkdir()
    sys.path.insert(0, str(folder))
    yield folder
    sys.path.remove(str(folder))
    for name in [m for m in sys.modules if m == "remote_oauth_api" or m.startswith("remote_oauth_api.")]:
        del sys.modules[name]


SPECS = ROOT / "openapi"
OAUTH = regenerate_client_specs.read_spec(SPECS / "remote-oauth-api.yml")
"""The OAuth spec as committed (seed or live dialect): versions and paths come from here, never from the test."""


def _bump(spec: Path, version: str) -> None:
    text = spec.read_text(encoding="utf-8")
    current = regenerate_client_specs.read_spec(spec).version
    text = re.sub(
        rf"^  version: '?{re.escape(current)}'?$", f"  version: '{version}'", text, count=1, flags=re.M
    )
    # An optional response property, as Remote adds them.
    anchor = "                  company_id: { type: string, format: uuid"
    assert anchor in text
    text = text.replace(anchor, "                  granted_at: { type: string }\n" + anchor, 1)
    spec.write_text(text, encoding="utf-8")


def test_committed_client_matches_specs() -> None:
    """The drift check passes on the committed tree: generated_client/ is what openapi/ generates."""
    assert regenerate_client.main(["--check"]) == 0


def test_stamp_records_version_and_hash() -> None:
    """Each generated package says which spec version and which exact file it was built from."""
    from generated_client.remote_magic_link_api import spec as magic_stamp
    from generated_client.remote_oauth_api import spec as oauth_stamp

    magic = regenerate_client_specs.read_spec(SPECS / "remote-magic-link-api.yml")
    stamps = {
        s.SPEC_FILE: (s.SPEC_VERSION, s.SPEC_SHA256, s.SPEC_UNBUMPED) for s in (oauth_stamp, magic_stamp)
    }
    assert stamps == {
        "remote-oauth-api.yml": (OAUTH.version, OAUTH.sha256, False),
        "remote-magic-link-api.yml": (magic.version, magic.sha256, False),
    }


def test_seed_spec_is_byte_identical() -> None:
    """openapi/seed/remote-oauth-api.yml is the seed's spec part, byte for byte."""
    seeds = sorted((ROOT.parent / "shared" / "seeds").glob("*.txt"))
    if not seeds:
        pytest.skip("../shared/seeds is not beside this checkout")
    seed = seeds[0].read_bytes()
    assert (SPECS / "seed" / "remote-oauth-api.yml").read_bytes() == seed[seed.index(b"openapi: 3.1.0") :]


def test_check_names_the_bumped_spec(spec_copy: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A version bump without regeneration fails the check with the spec, both versions and the fix."""
    _bump(spec_copy / "remote-oauth-api.yml", "2099-01-01")
    assert regenerate_client.main(["--check", "--specs", str(spec_copy)]) == 1
    assert capsys.readouterr().err.splitlines() == [
        f"remote-oauth-api.yml is 2099-01-01 but generated_client was built from {OAUTH.version}: "
        "run scripts/regenerate_client"
    ]


def test_check_catches_an_edit_without_a_bump(spec_copy: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Changing a spec but not its info.version is drift too, and the message says to bump it."""
    spec = spec_copy / "remote-magic-link-api.yml"
    spec.write_text(spec.read_text(encoding="utf-8").replace("Generate A Magic Link", "Make A Link"))
    assert regenerate_client.main(["--check", "--specs", str(spec_copy)]) == 1
    err = capsys.readouterr().err
    assert "remote-magic-link-api.yml changed since generated_client/remote_magic_link_api was built" in err
    assert "bump it" in err


def test_check_catches_hand_edits(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A hand edit inside generated_client/ fails the check and names the file."""
    out = tmp_path / "generated_client"
    shutil.copytree(ROOT / "generated_client", out, ignore=shutil.ignore_patterns("__pycache__"))
    errors_py = out / "remote_oauth_api" / "errors.py"
    errors_py.write_text(errors_py.read_text() + "\n# local tweak\n")
    assert regenerate_client.main(["--check", "--out", str(out)]) == 1
    assert (
        "remote_oauth_api differs from what remote-oauth-api.yml generates (errors.py)"
        in capsys.readouterr().err
    )


def test_spec_bump_end_to_end(spec_copy: Path, isolated_import: Path) -> None:
    """Bump a copy of the spec with a new optional field: regeneration parses it and restamps; main is untouched."""
    committed = _tree_digest(ROOT / "generated_client")
    _bump(spec_copy / "remote-oauth-api.yml", "2099-01-01")

    assert regenerate_client.main(["--specs", str(spec_copy), "--out", str(isolated_import)]) == 0
    assert regenerate_client.main(["--check", "--specs", str(spec_copy), "--out", str(isolated_import)]) == 0

    stamp = importlib.import_module("remote_oauth_api.spec")
    assert stamp.SPEC_VERSION == "2099-01-01"
    models = importlib.import_module("remote_oauth_api.models")
    parsed = models.ExchangeOAuthTokenResponse200.from_dict(
        {"access_token": "a", "token_type": "bearer", "expires_in": 60, "granted_at": "2026-06-01T00:00:00Z"}
    )
    assert parsed.granted_at == "2026-06-01T00:00:00Z"
    assert parsed.additional_properties == {}
    assert _tree_digest(ROOT / "generated_client") == committed


def test_regeneration_is_deterministic(tmp_path: Path) -> None:
    """Two generations of the same specs are byte-identical."""
    first, second = tmp_path / "a", tmp_path / "b"
    assert regenerate_client.main(["--out", str(first)]) == 0
    assert regenerate_client.main(["--out", str(second)]) == 0
    assert _tree_digest(first) == _tree_digest(second)
    assert _tree_digest(first) == _tree_digest(ROOT / "generated_client")
