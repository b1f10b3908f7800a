"""Clients generated from openapi/ by scripts/regenerate_client; never edit by hand."""
