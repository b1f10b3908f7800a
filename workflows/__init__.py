"""Remote's OAuth 2.0 token lifecycle as Temporal workflows: workflow code here and its boundary values in
``workflows.types`` (all deterministic, passed through the sandbox), everything that does I/O in ``workflows.io``."""
