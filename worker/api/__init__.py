"""The app-facing Python API."""
