"""``python -m worker [OPTIONS]``: the Temporal worker process, the same as ``remote-oauth worker [OPTIONS]``.

With no arguments it runs the worker; ``--help`` prints the worker's options.
"""

import sys

import typer

from worker.cli.app import main
from worker.cli.processes import worker

if __name__ == "__main__":
    worker_only = typer.Typer(add_completion=False)
    worker_only.command()(worker)  # a lone command: the arguments are the worker's own
    main(sys.argv[1:], cli=worker_only, prog_name="python -m worker")
