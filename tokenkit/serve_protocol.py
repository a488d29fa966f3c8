"""uvicorn's h11 protocol with a deadline on request headers, so slow clients cannot starve it.

uvicorn times out idle keep-alive connections but never a request whose headers are still
arriving: a socket that sends ``GET / HTTP/1.1\\r\\nX-a: `` and then nothing holds its
connection forever, and with ``limit_concurrency`` a few dozen of them make every later request
a 503 (slowloris). :class:`GuardedH11Protocol` closes a connection whose request line and
headers are not complete :data:`HEADER_TIMEOUT_S` after its first byte (or after the
connection opened), and when more than :data:`MAX_PENDING` connections are waiting for their
headers it closes the oldest, so a new client always gets through. Bodies get the same
treatment (:data:`BODY_TIMEOUT_S`, :data:`MAX_PENDING_BODIES`). Its own 400 answer is JSON
like every other error.
"""

from __future__ import annotations

import asyncio
import json
from collections import OrderedDict
from typing import Any

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

#: Seconds a connection may take to send a complete request line and headers.
HEADER_TIMEOUT_S = 10.0
#: Connections still sending their headers at once; past it the oldest is closed.
MAX_PENDING = 256
#: Seconds a request may take to send its body once its headers are in. The app answers 408
#: after its own 10 s (``tokenkit.serve.BODY_TIMEOUT_S``); this closes bodies nobody reads.
BODY_TIMEOUT_S = 15.0
#: Requests still sending their body at once; past it the oldest is closed. Kept below the
#: app's requests-at-once limit (``tokenkit.serve_guard.MAX_IN_FLIGHT``) so slow bodies
#: alone can never make it answer 503.
MAX_PENDING_BODIES = 32
#: Largest request line + headers (h11's default is 16 KiB as well; stated here, not implied).
MAX_HEADER_BYTES = 16 * 1024


class GuardedH11Protocol(H11Protocol):
    """``H11Protocol`` plus deadlines and caps on connections that keep the server waiting.

    ``waiting`` is ``"headers"`` from a connection's opening (or the first byte of a later
    request) until its headers are complete, ``"body"`` until its body is, else None.
    """

    waiting: str | None = None
    timer: asyncio.TimerHandle | None = None

    def registry(self, phase: str) -> OrderedDict[GuardedH11Protocol, None]:
        """This server's connections waiting in ``phase``, oldest first."""
        state = self.server_state
        if not hasattr(state, "tokenkit_waiting"):
            state.tokenkit_waiting = {"headers": OrderedDict(), "body": OrderedDict()}  # type: ignore[attr-defined]
        return state.tokenkit_waiting[phase]  # type: ignore[attr-defined]

    def connection_made(self, transport: Any) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._wait("headers")

    def connection_lost(self, exc: Exception | None) -> None:
        self._wait(None)
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        self._track(partial=True)  # still IDLE after bytes: a request line/headers in progress

    def on_response_complete(self) -> None:
        super().on_response_complete()
        # silence until the next request is uvicorn's keep-alive timer's; buffered bytes of a
        # partial next request are ours (uvicorn cancels its timer on any byte)
        self._track(partial=bool(self.conn.trailing_data[0]))

    def _track(self, partial: bool) -> None:
        state = self.conn.their_state
        if self.transport.is_closing():
            self._wait(None)
        elif state is h11.IDLE:
            self._wait("headers" if partial else None)
        elif state is h11.SEND_BODY:
            self._wait("body")
        else:
            self._wait(None)

    def _wait(self, phase: str | None) -> None:
        if phase == self.waiting:
            return  # the deadline runs from when the waiting began
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        if self.waiting is not None:
            self.registry(self.waiting).pop(self, None)
        self.waiting = phase
        if phase is None:
            return
        timeout, cap = ((HEADER_TIMEOUT_S, MAX_PENDING) if phase == "headers"
                        else (BODY_TIMEOUT_S, MAX_PENDING_BODIES))
        self.timer = self.loop.call_later(timeout, self._close_waiting)
        waiting = self.registry(phase)
        waiting[self] = None
        while len(waiting) > cap:
            next(iter(waiting))._close_waiting()

    def _close_waiting(self) -> None:
        self._wait(None)
        if not self.transport.is_closing():
            self.transport.close()

    def send_400_response(self, msg: str) -> None:
        """uvicorn's answer to a malformed request, as JSON ``{"error": ...}``."""
        self._wait(None)
        body = json.dumps({"error": f"bad HTTP request: {msg}"}).encode()
        headers = [(b"content-type", b"application/json"), (b"connection", b"close"),
                   (b"content-length", str(len(body)).encode())]
        try:
            self.transport.write(self.conn.send(h11.Response(status_code=400, headers=headers,
                                                             reason=b"Bad Request")) or b"")
            self.transport.write(self.conn.send(h11.Data(data=body)) or b"")
            self.transport.write(self.conn.send(h11.EndOfMessage()) or b"")
        except h11.LocalProtocolError:
            pass
        self.transport.close()
