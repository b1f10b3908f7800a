"""What this package was generated from; written by scripts/regenerate_client."""

SPEC_FILE = "remote-oauth-api.yml"
SPEC_VERSION = "2026-05-22"
SPEC_SHA256 = "99a32086e24e9be3625cfe2d96e253d1f625b4d9ac37e2128d33e14d31acf143"
SPEC_UNBUMPED = False
"""True when regenerated with --allow-unbumped: the spec changed without an info.version bump."""
