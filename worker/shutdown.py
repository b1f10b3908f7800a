"""Ending a short-lived process that used a Temporal client, without the SDK's crash at interpreter exit."""

from __future__ import annotations

import logging
import os
import sys
from typing import NoReturn


def exit_process(code: int) -> NoReturn:
    """Flush logs and output, then ``os._exit``.

    The Temporal client's Rust runtime threads can outlive interpreter finalization and crash the process
    at exit (temporalio/sdk-python#300: "PyGILState_Release ... must be current", or -11), turning a correct
    run into a failed one. Everything worth keeping is flushed first; nothing else is left to finalize.
    """
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
