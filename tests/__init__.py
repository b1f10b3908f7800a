"""The test suite; its folders mirror the packages they test."""

from pathlib import Path

ROOT = Path(__file__).parent.parent
"""The checkout's root, for tests that read the spec, the scripts or the README (no resolve(): test modules
that define workflows import this package inside the workflow sandbox, which forbids it)."""
