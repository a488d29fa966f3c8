"""uvicorn's h11 protocol with a deadline on request headers, so slow clients cannot starve it.

uvicorn times out idle keep-alive connections but never a request whose headers are still
arriving: a socket that sends ``GET / HTTP/1.1\\r\\nX-a: `` and then nothing holds its
connection forever, and with ``limit_concurrency`` a few dozen of them make every later request
a 503 (slowloris). :class:`GuardedH11Protocol` closes a connection whose request line and
headers are not complete :data:`HEADER_TIMEOUT_S` after its first byte (or after the
connection opened), and when more than :data:`MAX_PENDING` connections are waiting for their
headers it closes the oldest, so a new client always gets through. Its own 400 answer is JSON
like every other error. Bodies have their own deadline in the app (``read_body``).
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
#: Connections waiting for their headers at once; past it the oldest is closed.
MAX_PENDING = 256
#: Largest request line + headers (h11's default is 16 KiB as well; stated here, not implied).
MAX_HEADER_BYTES = 16 * 1024


class GuardedH11Protocol(H11Protocol):
    """``H11Protocol`` plus a header deadline and a cap on connections still sending headers."""

    header_timer: asyncio.TimerHandle | None = None

    @property
    def pending(self) -> OrderedDict[GuardedH11Protocol, None]:
        """This server's connections still waiting for complete headers, oldest first."""
        state = self.server_state
        if not hasattr(state, "tokenkit_pending"):
            state.tokenkit_pending = OrderedDict()  # type: ignore[attr-defined]
        return state.tokenkit_pending  # type: ignore[attr-defined]

    def connection_made(self, transport: Any) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._await_headers()
        while len(self.pending) > MAX_PENDING:
            next(iter(self.pending))._close_waiting()

    def connection_lost(self, exc: Exception | None) -> None:
        self._headers_done()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        self._track(arm=True)  # bytes of a request whose headers are not complete yet

    def on_response_complete(self) -> None:
        super().on_response_complete()
        # silence until the next request is uvicorn's keep-alive timer's; buffered bytes of a
        # partial next request are ours (uvicorn cancels its timer on any byte)
        self._track(arm=bool(self.conn.trailing_data[0]))

    def _track(self, arm: bool) -> None:
        if self.transport.is_closing() or self.conn.their_state is not h11.IDLE:
            self._headers_done()
        elif arm and self.header_timer is None:
            self._await_headers()

    def _await_headers(self) -> None:
        self.header_timer = self.loop.call_later(HEADER_TIMEOUT_S, self._close_waiting)
        self.pending[self] = None

    def _headers_done(self) -> None:
        if self.header_timer is not None:
            self.header_timer.cancel()
            self.header_timer = None
        self.pending.pop(self, None)

    def _close_waiting(self) -> None:
        self._headers_done()
        if not self.transport.is_closing():
            self.transport.close()

    def send_400_response(self, msg: str) -> None:
        """uvicorn's answer to a malformed request, as JSON ``{"error": ...}``."""
        self._headers_done()
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
