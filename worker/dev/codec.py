"""``python -m worker.dev.codec PORT UI_ORIGIN...``: the dev stack's codec server for the Temporal UI.

A child process like the other pieces, so the dev process only supervises. It decrypts for anyone who can
reach it, hence 127.0.0.1 only; the keys come from REMOTE_OAUTH_CODEC_KEYS, never from argv.
"""

from __future__ import annotations

import os
import sys

import uvicorn

from workflows.io.codec import SETTING, Keyring
from workflows.io.codec_server import codec_app


def main(argv: list[str]) -> None:
    port, origins = int(argv[0]), argv[1:]
    app = codec_app(Keyring.parse(os.environ[SETTING]), allowed_origins=origins)
    uvicorn.run(app, host="127.0.0.1", port=port, access_log=False, log_level="warning")


if __name__ == "__main__":
    main(sys.argv[1:])
