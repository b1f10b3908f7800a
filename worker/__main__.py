"""``python -m worker``: the Temporal worker process (same as ``remote-oauth worker``)."""

from worker.cli.app import main

if __name__ == "__main__":
    main(["worker"])
