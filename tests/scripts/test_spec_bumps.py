"""Spec bumps are explicit: an unbumped edit is refused, a bump says what changed, the live dialect is derived."""

from __future__ import annotations

import copy
import hashlib
import re
import shutil
import sys
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from tests import ROOT

sys.path.insert(0, str(ROOT / "scripts"))
import regenerate_client
import regenerate_client_dialect as dialect
import regenerate_client_specs
from regenerate_client_diff import describe_changes

SPECS = ROOT / "openapi"
SEED = (SPECS / "seed" / "remote-oauth-api.yml").read_text(encoding="utf-8")
OAUTH = regenerate_client_specs.read_spec(SPECS / "remote-oauth-api.yml")
MAGIC = regenerate_client_specs.read_spec(SPECS / "remote-magic-link-api.yml")


def _load(text: str) -> dict[str, Any]:
    loaded: dict[str, Any] = YAML(typ="safe", pure=True).load(text)
    return loaded


@pytest.fixture
def repo(tmp_path: Path) -> tuple[Path, Path]:
    """Copies of openapi/ and generated_client/ (stamps and parsed specs included)."""
    specs, out = tmp_path / "openapi", tmp_path / "generated_client"
    shutil.copytree(SPECS, specs)
    shutil.copytree(ROOT / "generated_client", out, ignore=shutil.ignore_patterns("__pycache__"))
    return specs, out


@pytest.fixture
def magic_repo(repo: tuple[Path, Path]) -> tuple[Path, Path]:
    """``repo`` with the magic-link spec alone, so each regeneration generates one package."""
    specs, out = repo
    (specs / "remote-oauth-api.yml").unlink()
    shutil.rmtree(out / "remote_oauth_api")
    return specs, out


def _digest(folder: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(folder.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts:
            digest.update(str(path.relative_to(folder)).encode() + path.read_bytes())
    return digest.hexdigest()


def _edit_summary(spec: Path) -> None:
    text = spec.read_text(encoding="utf-8")
    assert text.count("summary: Generate A Magic Link") == 1
    spec.write_text(text.replace("summary: Generate A Magic Link", "summary: Make A Link"), encoding="utf-8")


def test_an_edit_without_a_bump_is_refused(
    magic_repo: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    """A plain regeneration refuses a changed spec at the same info.version and writes nothing."""
    specs, out = magic_repo
    _edit_summary(specs / "remote-magic-link-api.yml")
    before = _digest(out)
    assert regenerate_client.main(["--specs", str(specs), "--out", str(out)]) == 1
    assert capsys.readouterr().err.splitlines() == [
        f"remote-magic-link-api.yml changed but its info.version is still {MAGIC.version}: bump it, or pass "
        "--allow-unbumped to regenerate anyway (the stamp records that)"
    ]
    assert _digest(out) == before


def test_allow_unbumped_is_recorded_and_checked(
    magic_repo: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    """--allow-unbumped regenerates, the stamp says so, --check accepts it, and the next edit is refused again."""
    specs, out = magic_repo
    spec = specs / "remote-magic-link-api.yml"
    _edit_summary(spec)
    assert regenerate_client.main(["--specs", str(specs), "--out", str(out), "--allow-unbumped"]) == 0
    stamp = regenerate_client_specs.read_stamp(out / "remote_magic_link_api")
    assert stamp == regenerate_client_specs.Stamp(
        version=MAGIC.version, sha256=hashlib.sha256(spec.read_bytes()).hexdigest(), unbumped=True
    )
    assert "SPEC_UNBUMPED = True\n" in (out / "remote_magic_link_api" / "spec.py").read_text()
    assert regenerate_client.main(["--check", "--specs", str(specs), "--out", str(out)]) == 0
    assert regenerate_client.main(["--specs", str(specs), "--out", str(out)]) == 0  # the record stays
    assert regenerate_client_specs.read_stamp(out / "remote_magic_link_api") == stamp

    spec.write_text(
        spec.read_text(encoding="utf-8").replace("Make A Link", "Make One Link"), encoding="utf-8"
    )
    capsys.readouterr()
    assert regenerate_client.main(["--specs", str(specs), "--out", str(out)]) == 1
    assert "still " + MAGIC.version in capsys.readouterr().err


def test_a_bump_prints_old_new_and_what_changed(
    repo: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    """Regeneration names each spec's old and new version and the fields, paths or operations that changed."""
    specs, out = repo
    spec = specs / "remote-oauth-api.yml"
    text = spec.read_text(encoding="utf-8")
    text = re.sub(r"^  version: .*$", "  version: '2099-01-01'", text, count=1, flags=re.MULTILINE)
    anchor = "                  company_id: { type: string, format: uuid"
    text = text.replace(
        anchor, "                  granted_at: { type: string, format: date-time }\n" + anchor, 1
    )
    spec.write_text(text, encoding="utf-8")
    assert regenerate_client.main(["--specs", str(specs), "--out", str(out)]) == 0
    assert capsys.readouterr().out.splitlines() == [
        f"remote-magic-link-api.yml: {MAGIC.version}, unchanged",
        "  generated generated_client/remote_magic_link_api",
        f"remote-oauth-api.yml: {OAUTH.version} -> 2099-01-01",
        "  + operation exchangeOAuthToken response 200 field granted_at: string, format date-time",
        "  generated generated_client/remote_oauth_api",
    ]


def test_seed_dialect_is_the_seed_byte_for_byte(tmp_path: Path) -> None:
    """--dialect seed writes the seed unchanged, whatever the active spec was."""
    shutil.copytree(SPECS, tmp_path / "openapi")
    (tmp_path / "openapi" / "remote-oauth-api.yml").write_text("openapi: 3.1.0\n")
    written = dialect.write_dialect(tmp_path / "openapi", "seed")
    assert written.read_bytes() == (SPECS / "seed" / "remote-oauth-api.yml").read_bytes()


def test_live_dialect_is_the_seed_with_the_live_gateway_facts() -> None:
    """Live: the /auth/oauth2/ paths, Bearer allowed, Basic documented (client_id optional), a new version."""
    live = dialect.live_spec(SEED, "2026-07-01")
    seed_version = dialect.seed_version(SEED)
    assert describe_changes(_load(SEED), _load(live)) == [
        "~ operation authorize: GET /oauth/authorize -> GET /auth/oauth2/authorize",
        "~ operation exchangeOAuthToken: POST /oauth2/token -> POST /auth/oauth2/token",
        "~ operation exchangeOAuthToken request field client_id: string, required -> string",
        "~ operation exchangeOAuthToken response 200 field token_type: "
        "string, enum [bearer], required -> string, enum [bearer, Bearer], required",
        "+ operation exchangeOAuthToken security: clientBasic | (none)",
        "+ security scheme clientBasic: http basic",
    ]
    assert str(_load(live)["info"]["version"]) == "2026-07-01"
    assert dialect.live_spec(SEED) == dialect.live_spec(SEED, f"{seed_version}-live")


def test_live_dialect_refuses_what_it_cannot_derive() -> None:
    """The seed's own version is no bump, and a seed without an anchor the edits need fails loudly."""
    with pytest.raises(dialect.DialectError, match="needs a version other than"):
        dialect.live_spec(SEED, dialect.seed_version(SEED))
    with pytest.raises(dialect.DialectError, match="0 occurrences of '/oauth2/token:'"):
        dialect.live_spec(SEED.replace("  /oauth2/token:", "  /token:"))


def test_live_dialect_regenerates_and_checks_clean(
    repo: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    """--dialect live writes the spec, regenerates with the summary, and --check then passes."""
    specs, out = repo
    args = ["--specs", str(specs), "--out", str(out), "--dialect", "live", "--version", "2099-12-31"]
    assert regenerate_client.main(args) == 0
    printed = capsys.readouterr().out.splitlines()
    assert printed[0] == "wrote remote-oauth-api.yml in the live dialect"
    assert f"remote-oauth-api.yml: {OAUTH.version} -> 2099-12-31" in printed
    assert regenerate_client.main(["--check", "--specs", str(specs), "--out", str(out)]) == 0
    endpoint = (out / "remote_oauth_api" / "api" / "o_auth" / "exchange_o_auth_token.py").read_text()
    assert '"url": "/auth/oauth2/token"' in endpoint


def test_the_summary_names_operations_schemas_and_fields() -> None:
    """A new operation or schema is one line; a field removed, added or nested is named with its schema."""
    old = _load((SPECS / "remote-magic-link-api.yml").read_text(encoding="utf-8"))
    new = copy.deepcopy(old)
    schemas = new["components"]["schemas"]
    del schemas["MagicLinkParams"]["properties"]["path"]
    data = schemas["MagicLinkResponse"]["properties"]["data"]
    data["properties"]["expires_at"] = {"type": "string", "format": "date-time"}
    data["required"].append("expires_at")
    schemas["Audit"] = {"type": "object", "properties": {"at": {"type": "string"}}}
    new["paths"]["/v1/magic-links"] = {"get": {"operationId": "listMagicLinks", "responses": {"200": {}}}}
    assert describe_changes(old, new) == [
        "+ operation listMagicLinks: GET /v1/magic-links",
        "+ schema Audit: object",
        "- schema MagicLinkParams field path: string, pattern ^(/[A-Za-z0-9_-]+)+$, default /dashboard",
        "+ schema MagicLinkResponse field data.expires_at: string, format date-time, required",
    ]
    assert describe_changes(old, old) == []
