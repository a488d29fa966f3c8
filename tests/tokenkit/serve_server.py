"""A real playground server for the hostile-client tests: ``python -m tests.tokenkit.serve_server``.

Binds 127.0.0.1 on an ephemeral port, prints the port on one line, and serves with
:func:`tokenkit.serve.server` (the same uvicorn settings and protocol as ``tokenkit serve``).
``TOKENKIT_TEST_SERVER`` (JSON) shortens the limits so tests stay fast; ``"busy": true`` makes
``/api/encode`` a pure-Python loop (at most 60 s) standing in for a text that takes too long.
"""

from __future__ import annotations

import json
import os
import socket
import sys
import time

from tokenkit import serve, serve_guard, serve_protocol, serve_work


class BusyPlayground(serve.Playground):
    def encode(self, text: str, specs: list[str]) -> list[dict[str, object]]:
        deadline, n = time.monotonic() + 60, 0
        while time.monotonic() < deadline:
            n += 1
        return [{"spec": specs[0], "spins": n}]


def main() -> None:
    settings = json.loads(os.environ.get("TOKENKIT_TEST_SERVER", "{}"))
    for module, name in ((serve_protocol, "HEADER_TIMEOUT_S"), (serve_protocol, "MAX_PENDING"),
                         (serve_protocol, "MAX_PENDING_BODIES"),
                         (serve, "REQUEST_TIMEOUT_S"), (serve, "BODY_TIMEOUT_S"),
                         (serve_guard, "MAX_IN_FLIGHT"), (serve_work, "CANCEL_GRACE_S")):
        if name in settings:
            setattr(module, name, settings[name])
    playground = (BusyPlayground if settings.get("busy") else serve.Playground)([], root=".")
    app = serve.create_app(playground)
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    print(sock.getsockname()[1], flush=True)
    serve.server(app, "127.0.0.1", 0).run(sockets=[sock])


if __name__ == "__main__":
    sys.exit(main())
