"""The processes a partner runs: the Temporal worker, the web endpoints and the CLI."""
