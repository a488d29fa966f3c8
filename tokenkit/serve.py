"""``tokenkit serve``: a local playground page and the small JSON API behind it.

One Starlette app, one static page (``tokenkit/static/playground.html``), nothing imported by
the library. Every vocabulary is loaded once and cached; every request is bounded: bodies
over :data:`MAX_BODY_BYTES` and texts over :data:`MAX_TEXT_CHARS` are refused, bodies must
arrive within :data:`BODY_TIMEOUT_S`, work runs in worker threads (at most :data:`WORKERS` at a
time) and answers 504 after :data:`REQUEST_TIMEOUT_S`, cancelling the work
(:mod:`tokenkit.serve_work`). Every error, 404 and 405 included, is JSON ``{"error": "..."}``
with one line that names the value at fault; nothing a client sends can stop the server.

Hostile clients: :class:`tokenkit.serve_guard.Guard` refuses foreign ``Host`` headers (DNS
rebinding), cross-origin and non-JSON posts (CSRF) and overload, and :func:`run` serves with
:class:`tokenkit.serve_protocol.GuardedH11Protocol`, which closes connections that do not
finish their headers in time (slowloris).

Only vocabularies from :meth:`Playground.available` can be asked for, so the API never opens
arbitrary paths. The page also draws a model's next-token chart and samples when the app is
built with ``model_routes``: ``gptcore serve RUN`` does that (:mod:`gptcore.serve`), because
tokenkit never depends on gptcore. Without them ``/api/next`` and ``/api/sample`` answer 404
with the command to run.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Sequence
from importlib.resources import files
from pathlib import Path
from typing import Any

import anyio
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import ClientDisconnect, Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

import tokenkit
from tokenkit.errors import TokenkitError
from tokenkit.render import CSS, to_html, view
from tokenkit.serve_guard import Guard, error_response
from tokenkit.serve_work import run_cancellable
from tokenkit.vocabulary import METADATA_FILE, Vocabulary

BUILTIN_SPECS = ("gpt2", "tiktoken:cl100k_base")
MAX_VOCABS = 4
MAX_TEXT_CHARS = 200_000
MAX_BODY_BYTES = 4 * MAX_TEXT_CHARS + 64_000  # every character may take 4 UTF-8 bytes
MAX_NEW_TOKENS = 200
MAX_TOP_K = 100
REQUEST_TIMEOUT_S = 20.0
BODY_TIMEOUT_S = 10.0  # a body trickled slower than this is refused (408), freeing its slot
WORKERS = 2

SAMPLES = {
    "seed": "吾輩わがはいは猫である。名前はまだ無い。",
    "oov": "論文を書くのは辛い El Psy Congroo 🥺",
    "multilingual": "The cat sat. 猫が座った。 고양이가 앉았다. 猫坐下了。 Кот сел. 🐈‍⬛",
}


class ApiError(Exception):
    """A request the API refuses: ``status`` and a one-line message for the page."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


def trained_directories(root: Path) -> list[str]:
    """Vocabulary directories (holding ``tokenkit.json``) directly inside ``root``."""
    try:
        return sorted(p.name for p in root.iterdir() if (p / METADATA_FILE).is_file())
    except OSError:
        return []


class Playground:
    """What the app serves: the available specs, the vocabulary cache and the optional model."""

    def __init__(self, specs: Sequence[str] = (), root: str | Path = ".") -> None:
        self.specs = list(specs)
        self.root = Path(root)
        self._vocabs: dict[str, Vocabulary] = {}
        self._lock = threading.Lock()

    def available(self) -> list[dict[str, str]]:
        """The command line's specs, the built-ins, then trained directories under ``root``."""
        seen: dict[str, str] = {}
        for spec in self.specs:
            seen.setdefault(spec, "command line")
        for spec in BUILTIN_SPECS:
            seen.setdefault(spec, "built-in")
        for spec in trained_directories(self.root):
            seen.setdefault(spec, "directory")
        return [{"spec": s, "source": src} for s, src in seen.items()]

    def vocabulary(self, spec: str) -> Vocabulary:
        """The vocabulary for ``spec``, loaded on first use and kept."""
        with self._lock:
            if spec in self._vocabs:
                return self._vocabs[spec]
        names = [a["spec"] for a in self.available()]
        if spec not in names:
            raise ApiError(f"unknown vocabulary {spec!r} (available: {', '.join(names)})")
        path = self.root / spec if spec not in self.specs and spec not in BUILTIN_SPECS else spec
        vocab = tokenkit.load(str(path))
        with self._lock:
            return self._vocabs.setdefault(spec, vocab)

    def encode(self, text: str, specs: list[str]) -> list[dict[str, Any]]:
        results = []
        for spec in specs:
            try:
                vocab = self.vocabulary(spec)
                tv = view(vocab, text, name=spec)
            except TokenkitError as e:
                results.append({"spec": spec, "error": str(e).splitlines()[0]})
                continue
            results.append({"spec": spec, "vocab_size": vocab.vocab_size, **tv.to_dict(),
                             "html": to_html(tv, standalone_css=False, summary=False)})
        return results

    def decode(self, spec: str, ids: list[int]) -> dict[str, Any]:
        vocab = self.vocabulary(spec)
        bad = [i for i in ids if not 0 <= i < vocab.vocab_size]
        if bad:
            raise ApiError(f"token id {bad[0]} is outside vocabulary {spec} "
                           f"(ids run from 0 to {vocab.vocab_size - 1})")
        return {"spec": spec, "text": vocab.decode(ids),
                "tokens": [{"id": i, "backend": vocab.id_to_token(i),
                            "hex": (vocab.token_bytes(i) or b"").hex(" ")} for i in ids]}


# -- request parsing (public: gptcore's model endpoints use them too) -------------------------------------------------------------------------
async def read_body(request: Request) -> dict[str, Any]:
    """The JSON object of a request, refusing bodies over MAX_BODY_BYTES before reading them."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise ApiError(f"request body of {int(declared):,} bytes is over the limit of "
                       f"{MAX_BODY_BYTES:,} bytes (texts up to {MAX_TEXT_CHARS:,} characters)", 413)
    chunks, size = [], 0
    with anyio.move_on_after(BODY_TIMEOUT_S) as scope:
        try:
            async for chunk in request.stream():
                size += len(chunk)
                if size > MAX_BODY_BYTES:
                    raise ApiError(f"request body is over the limit of {MAX_BODY_BYTES:,} bytes", 413)
                chunks.append(chunk)
        except ClientDisconnect:
            raise ApiError("the client closed the connection before its body was complete") from None
    if scope.cancelled_caught:
        raise ApiError(f"request body did not arrive within {BODY_TIMEOUT_S:g} s", 408)
    try:
        data = json.loads(b"".join(chunks) or b"{}")
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise ApiError(f"request body is not valid JSON: {e}") from e
    if not isinstance(data, dict):
        raise ApiError("request body must be a JSON object")
    return data


def read_text(data: dict[str, Any]) -> str:
    text = data.get("text", "")
    if not isinstance(text, str):
        raise ApiError(f"'text' must be a string, got {type(text).__name__}")
    if len(text) > MAX_TEXT_CHARS:
        raise ApiError(f"text of {len(text):,} characters is over the limit of "
                       f"{MAX_TEXT_CHARS:,}", 413)
    return text


def read_number(data: dict[str, Any], key: str, default: float | None, lo: float, hi: float,
            kind: type = float) -> Any:
    value = data.get(key, default)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or \
            (kind is int and value != int(value)) or not lo <= value <= hi:
        raise ApiError(f"'{key}' must be {'an integer' if kind is int else 'a number'} "
                       f"from {lo:g} to {hi:g}, got {value!r}")
    return kind(value)


async def run_blocking(fn: Callable[[], Any], limiter: anyio.CapacityLimiter) -> Any:
    """Run blocking work in a worker thread; after REQUEST_TIMEOUT_S cancel it and answer 504."""
    done, result = await run_cancellable(fn, limiter, REQUEST_TIMEOUT_S)
    if not done:
        raise ApiError(f"request took longer than {REQUEST_TIMEOUT_S:g} s and was cancelled; "
                       "try a shorter text", 504)
    return result


# -- the app -------------------------------------------------------------------------------------
#: Builds extra API routes (a model's ``/api/next`` and ``/api/sample``) that share the app's
#: worker limiter; see :func:`create_app`.
RouteFactory = Callable[[anyio.CapacityLimiter], Sequence[Route]]
NO_MODEL = ("no model loaded: start the playground with a model as "
            "`gptcore serve RUN_OR_CHECKPOINT [VOCABS]...`")


def json_endpoint(handler: Callable[[Request], Any]) -> Callable[[Request], Any]:
    """Wrap ``handler`` (returning a JSON-able value) so every failure is ``{"error": one line}``."""
    async def wrapped(request: Request) -> Response:
        try:
            return JSONResponse(await handler(request))
        except ApiError as e:
            return JSONResponse({"error": str(e)}, status_code=e.status)
        except (TokenkitError, ValueError) as e:
            return JSONResponse({"error": str(e).splitlines()[0]}, status_code=400)
        except Exception as e:  # noqa: BLE001 - a bug must answer, not take the server down
            return JSONResponse({"error": f"internal error: {type(e).__name__}: {e}"},
                                status_code=500)
    return wrapped


async def http_error(request: Request, exc: Exception) -> Response:
    """Starlette's own refusals (404 unknown path, 405 wrong method) as ``{"error": ...}``."""
    assert isinstance(exc, HTTPException)
    detail = {404: f"no such page or endpoint: {request.url.path}",
              405: f"{request.method} is not allowed on {request.url.path} "
                   f"(allowed: {(exc.headers or {}).get('Allow', 'none')})"}
    return error_response(exc.status_code, detail.get(exc.status_code, str(exc.detail)), exc.headers)


async def internal_error(request: Request, exc: Exception) -> Response:
    first = (str(exc).splitlines() or [""])[0]
    return error_response(500, f"internal error: {type(exc).__name__}: {first}")


def create_app(playground: Playground, *, model_routes: RouteFactory | None = None,
               model_info: dict[str, Any] | None = None, hosts: Sequence[str] = ()) -> Starlette:
    """The Starlette app: the page, its CSS and the JSON API (documented in docs/playground.md).

    ``model_routes`` adds the model endpoints (``/api/next``, ``/api/sample``) and
    ``model_info`` is what ``/api/vocabularies`` reports as ``"model"``; gptcore supplies both.
    ``hosts`` are names besides loopback that the page may be opened as (the ``--host`` given).
    """
    limiter = anyio.CapacityLimiter(WORKERS)
    page = files("tokenkit").joinpath("static/playground.html").read_text(encoding="utf-8")

    async def index(request: Request) -> Response:
        return HTMLResponse(page)

    async def css(request: Request) -> Response:
        return Response(CSS, media_type="text/css")

    async def vocabularies(request: Request) -> dict[str, Any]:
        return {"vocabularies": playground.available(), "samples": SAMPLES, "model": model_info,
                "limits": {"max_text_chars": MAX_TEXT_CHARS, "max_vocabularies": MAX_VOCABS,
                           "max_new_tokens": MAX_NEW_TOKENS, "timeout_s": REQUEST_TIMEOUT_S}}

    async def encode(request: Request) -> dict[str, Any]:
        data = await read_body(request)
        text = read_text(data)
        specs = data.get("specs")
        if not isinstance(specs, list) or not specs or not all(isinstance(s, str) for s in specs):
            raise ApiError("'specs' must be a non-empty list of vocabulary names")
        if len(specs) > MAX_VOCABS:
            raise ApiError(f"at most {MAX_VOCABS} vocabularies side by side, got {len(specs)}")
        names = {a["spec"] for a in playground.available()}
        unknown = [s for s in specs if s not in names]
        if unknown:
            raise ApiError(f"unknown vocabulary {unknown[0]!r} (available: {', '.join(sorted(names))})")
        return {"text": text, "results": await run_blocking(lambda: playground.encode(text, specs), limiter)}

    async def decode(request: Request) -> dict[str, Any]:
        data = await read_body(request)
        spec, ids = data.get("spec"), data.get("ids")
        if not isinstance(spec, str):
            raise ApiError("'spec' must be a vocabulary name")
        if not isinstance(ids, list) or not all(isinstance(i, int) and not isinstance(i, bool)
                                                for i in ids):
            raise ApiError(f"'ids' must be a list of integers, got {json.dumps(ids)[:80]}")
        if len(ids) > MAX_TEXT_CHARS:
            raise ApiError(f"{len(ids):,} ids is over the limit of {MAX_TEXT_CHARS:,}", 413)
        return await run_blocking(lambda: playground.decode(spec, ids), limiter)

    async def no_model(request: Request) -> dict[str, Any]:
        raise ApiError(NO_MODEL, 404)

    routes = [
        Route("/", index),
        Route("/render.css", css),
        Route("/api/vocabularies", json_endpoint(vocabularies)),
        Route("/api/encode", json_endpoint(encode), methods=["POST"]),
        Route("/api/decode", json_endpoint(decode), methods=["POST"]),
    ]
    if model_routes is not None:
        routes += list(model_routes(limiter))
    else:
        routes += [Route(path, json_endpoint(no_model), methods=["POST"])
                   for path in ("/api/next", "/api/sample")]
    return Starlette(routes=routes, middleware=[Middleware(Guard, hosts=hosts)],
                     exception_handlers={HTTPException: http_error, Exception: internal_error})


def build_app(specs: Sequence[str] = (), root: str | Path = ".",
              hosts: Sequence[str] = ()) -> Starlette:
    """The app for ``tokenkit serve``: vocabularies only (``gptcore serve`` adds a model)."""
    return create_app(Playground(specs, root), hosts=hosts)


def server(app: Starlette, host: str, port: int) -> Any:
    """The ``uvicorn.Server`` for ``app``: h11 with a header deadline (slow clients are closed,
    not counted against a connection limit; the app's :class:`Guard` bounds requests)."""
    import uvicorn

    from tokenkit.serve_protocol import MAX_HEADER_BYTES, GuardedH11Protocol  # lazy: uvicorn

    return uvicorn.Server(uvicorn.Config(
        app, host=host, port=port, log_level="warning", http=GuardedH11Protocol,
        h11_max_incomplete_event_size=MAX_HEADER_BYTES, timeout_keep_alive=5))


def run(app: Starlette, host: str, port: int) -> None:
    """Serve ``app`` until interrupted."""
    server(app, host, port).run()
