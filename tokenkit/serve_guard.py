"""The playground's front door: which requests reach the API at all (an ASGI middleware).

A local page is reachable from every other page the browser has open, so before any handler
runs :class:`Guard` refuses, with a JSON ``{"error": ...}``:

* a ``Host`` that does not name this server (DNS rebinding: ``evil.example`` resolved to
  127.0.0.1 still sends ``Host: evil.example``) -> 421;
* a state-changing request from another origin (``Origin`` or ``Sec-Fetch-Site`` say so) -> 403;
* a ``POST`` that is not ``application/json`` (a form or ``text/plain`` post needs no CORS
  preflight, so any page could send one) -> 415;
* a request over :data:`MAX_IN_FLIGHT` at once -> 503, so the limit answers in JSON instead of
  uvicorn's plain-text ``limit_concurrency``.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

#: Names that always mean this machine.
LOOPBACK_NAMES = ("127.0.0.1", "localhost", "::1")
#: Requests handled at once (reading bodies, waiting for a worker); more answer 503.
MAX_IN_FLIGHT = 64
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
SAME_ORIGIN_FETCH = frozenset({"same-origin", "none"})


def split_host(value: str) -> tuple[str, int | None] | None:
    """``(name, port)`` of a Host header value (``[::1]:8000`` -> ``("::1", 8000)``), or None."""
    value = value.strip().lower()
    if not value or any(c in value for c in "/?#@ \t"):
        return None
    try:
        parts = urlsplit(f"http://{value}")
        name, port = parts.hostname, parts.port
    except ValueError:
        return None
    if not name:
        return None
    return name.rstrip("."), port


def normalise_name(name: str) -> str:
    name = name.strip().lower().strip("[]").rstrip(".")
    try:
        return str(ipaddress.ip_address(name))
    except ValueError:
        return name


def is_ip(name: str) -> bool:
    try:
        ipaddress.ip_address(name.strip("[]"))
    except ValueError:
        return False
    return True


class Guard:
    """Refuse foreign hosts, cross-origin writes, non-JSON posts and overload, in JSON.

    ``hosts`` are extra names (the ``--host`` given); the loopback names and the IP address the
    connection arrived on (so ``--host 0.0.0.0`` serves http://LAN-IP:PORT/) are always allowed,
    each only with the port the server listens on. Names that merely resolve here are not.
    """

    def __init__(self, app: ASGIApp, hosts: Iterable[str] = (), max_in_flight: int | None = None) -> None:
        self.app = app
        self.names = {normalise_name(n) for n in (*LOOPBACK_NAMES, *hosts)
                      if normalise_name(n) not in ("0.0.0.0", "::", "")}
        self.max_in_flight = max_in_flight
        self.in_flight = 0

    def allowed(self, name: str, port: int | None, scope: Scope) -> bool:
        server = scope.get("server") or (None, None)
        names = set(self.names)
        if server[0] and is_ip(str(server[0])):  # the local address a socket connected to
            names.add(normalise_name(str(server[0])))
        expected_port = server[1] if server[1] is not None else 80
        return normalise_name(name) in names and (port if port is not None else 80) == expected_port

    def refusal(self, scope: Scope) -> tuple[int, str] | None:
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        host = split_host(headers.get("host", ""))
        if host is None or not self.allowed(*host, scope):
            return 421, (f"Host {headers.get('host', '')!r} is not this playground: open it as "
                         "http://127.0.0.1:PORT/ or with the --host it was started with")
        if scope["method"] in SAFE_METHODS:
            return None
        fetch_site = headers.get("sec-fetch-site")
        if fetch_site is not None and fetch_site.lower() not in SAME_ORIGIN_FETCH:
            return 403, f"cross-site request refused (Sec-Fetch-Site: {fetch_site})"
        origin = headers.get("origin")
        if origin is not None:
            parts = urlsplit(origin.strip())
            try:
                port = parts.port
            except ValueError:
                port = -1
            if parts.scheme != "http" or not parts.hostname or \
                    not self.allowed(parts.hostname, port, scope):
                return 403, f"request from another origin refused (Origin: {origin})"
        media = headers.get("content-type", "").split(";")[0].strip().lower()
        if media != "application/json":
            return 415, (f"Content-Type must be application/json, got {media or 'none'!r}")
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        refused = self.refusal(scope)
        limit = MAX_IN_FLIGHT if self.max_in_flight is None else self.max_in_flight
        if refused is None and self.in_flight >= limit:
            refused = 503, f"the playground is busy ({limit} requests at once); try again"
        if refused is not None:
            await error_response(*refused)(scope, receive, send)
            return
        self.in_flight += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.in_flight -= 1


def error_response(status: int, message: str, headers: dict[str, Any] | None = None) -> JSONResponse:
    """The one shape of every error answer: ``{"error": "one line"}``."""
    extra = dict(headers or {})
    if status == 503:
        extra.setdefault("Retry-After", "1")
    return JSONResponse({"error": message}, status_code=status, headers=extra or None)
