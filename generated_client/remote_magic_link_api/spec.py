"""What this package was generated from; written by scripts/regenerate_client."""

SPEC_FILE = "remote-magic-link-api.yml"
SPEC_VERSION = "2026-05-22"
SPEC_SHA256 = "60fa9d4e8b6a4cb82771fbacbd8d6a84dc44816342db0cb77bdb036c67f4d762"
SPEC_UNBUMPED = False
"""True when regenerated with --allow-unbumped: the spec changed without an info.version bump."""
