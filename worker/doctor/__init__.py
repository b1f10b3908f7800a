"""``remote-oauth doctor``: checks a deployment's settings end to end, one line per check with its fix."""

from worker.doctor.report import Check, Status, render_json, render_text
from worker.doctor.run import diagnose

__all__ = ["Check", "Status", "diagnose", "render_json", "render_text"]
