"""``tokenkit serve``: a local playground page and the small JSON API behind it.

One Starlette app, one static page (``tokenkit/static/playground.html``), nothing imported by
the library. Every vocabulary is loaded once and cached; every request is bounded: bodies
over :data:`MAX_BODY_BYTES` and texts over :data:`MAX_TEXT_CHARS` are refused, work runs in
worker threads (at most :data:`WORKERS` at a time) and answers 504 after
:data:`REQUEST_TIMEOUT_S`. Errors are JSON ``{"error": "..."}`` with one line that names the
value at fault; nothing a client sends can stop the server.

Only vocabularies from :meth:`Playground.available` can be asked for, so the API never opens
arbitrary paths. ``--model`` (a gptcore checkpoint or run) adds next-token and sampling
endpoints; gptcore is imported only then, because tokenkit never depends on gptcore.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path
from typing import Any

import anyio
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

import tokenkit
from tokenkit.errors import TokenkitError
from tokenkit.render import CSS, to_html, view
from tokenkit.vocabulary import METADATA_FILE, Vocabulary

BUILTIN_SPECS = ("gpt2", "tiktoken:cl100k_base")
MAX_VOCABS = 4
MAX_TEXT_CHARS = 200_000
MAX_BODY_BYTES = 4 * MAX_TEXT_CHARS + 64_000  # every character may take 4 UTF-8 bytes
MAX_NEW_TOKENS = 200
MAX_TOP_K = 100
REQUEST_TIMEOUT_S = 20.0
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


@dataclass
class ModelSession:
    """A gptcore model and its vocabulary, loaded once; one forward pass at a time."""

    path: str
    model: Any
    vocab: Vocabulary
    vocab_spec: str
    lock: threading.Lock

    @classmethod
    def load(cls, path: str) -> ModelSession:
        # lazy: gptcore is optional here, imported only for --model (tokenkit never needs it)
        from gptcore.generation import check_vocabulary
        from gptcore.registry import load_model  # lazy (--model only)

        result = load_model(path)
        if not result.vocabulary:
            raise TokenkitError(f"model {path} records no vocabulary to encode text with")
        vocab = tokenkit.load(result.vocabulary)
        check_vocabulary(result.model, vocab)
        return cls(path, result.model.eval(), vocab, result.vocabulary, threading.Lock())

    def _prompt(self, text: str) -> list[int]:
        ids = self.vocab.encode(text)
        if not ids:
            raise ApiError("type some text first: the model needs at least one token")
        return ids[-self.model.config.context_length:]

    def next_tokens(self, text: str, top_k: int, temperature: float) -> list[dict[str, Any]]:
        import torch  # lazy: only a --model session needs torch and gptcore
        from gptcore.sampling import next_token_distribution  # lazy (--model only)

        ids = self._prompt(text)
        with self.lock, torch.inference_mode():
            logits = self.model(torch.tensor([ids]))[0, -1]
        dist = next_token_distribution(logits, temperature, top_k)
        return [{"id": i, "p": p, "text": self.vocab.decode([i]),
                 "hex": (self.vocab.token_bytes(i) or b"").hex(" ")} for i, p in dist]

    def sample(self, text: str, max_new_tokens: int, temperature: float, top_k: int | None,
               top_p: float | None, seed: int | None) -> dict[str, Any]:
        # lazy: only a --model session needs gptcore
        from gptcore.generation import GenerationConfig, generate_ids
        from gptcore.sampling import SamplingConfig  # lazy (--model only)

        cfg = GenerationConfig(max_new_tokens=max_new_tokens, seed=seed,
                               sampling=SamplingConfig(temperature=temperature, top_k=top_k,
                                                       top_p=top_p))
        with self.lock:
            new = generate_ids(self.model, [self._prompt(text)], cfg)[0]
        return {"completion": self.vocab.decode(new), "ids": new}


class Playground:
    """What the app serves: the available specs, the vocabulary cache and the optional model."""

    def __init__(self, specs: Sequence[str] = (), root: str | Path = ".",
                 model: ModelSession | None = None) -> None:
        self.specs = list(specs)
        self.root = Path(root)
        self.model = model
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


# -- request parsing -----------------------------------------------------------------------------
async def _body(request: Request) -> dict[str, Any]:
    """The JSON object of a request, refusing bodies over MAX_BODY_BYTES before reading them."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise ApiError(f"request body of {int(declared):,} bytes is over the limit of "
                       f"{MAX_BODY_BYTES:,} bytes (texts up to {MAX_TEXT_CHARS:,} characters)", 413)
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise ApiError(f"request body is over the limit of {MAX_BODY_BYTES:,} bytes", 413)
        chunks.append(chunk)
    try:
        data = json.loads(b"".join(chunks) or b"{}")
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise ApiError(f"request body is not valid JSON: {e}") from e
    if not isinstance(data, dict):
        raise ApiError("request body must be a JSON object")
    return data


def _text(data: dict[str, Any]) -> str:
    text = data.get("text", "")
    if not isinstance(text, str):
        raise ApiError(f"'text' must be a string, got {type(text).__name__}")
    if len(text) > MAX_TEXT_CHARS:
        raise ApiError(f"text of {len(text):,} characters is over the limit of "
                       f"{MAX_TEXT_CHARS:,}", 413)
    return text


def _number(data: dict[str, Any], key: str, default: float | None, lo: float, hi: float,
            kind: type = float) -> Any:
    value = data.get(key, default)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or \
            (kind is int and value != int(value)) or not lo <= value <= hi:
        raise ApiError(f"'{key}' must be {'an integer' if kind is int else 'a number'} "
                       f"from {lo:g} to {hi:g}, got {value!r}")
    return kind(value)


async def _run(fn: Callable[[], Any], limiter: anyio.CapacityLimiter) -> Any:
    """Run blocking work in a worker thread, giving up (504) after REQUEST_TIMEOUT_S."""
    with anyio.move_on_after(REQUEST_TIMEOUT_S) as scope:
        return await anyio.to_thread.run_sync(fn, abandon_on_cancel=True, limiter=limiter)
    if scope.cancelled_caught:
        raise ApiError(f"request took longer than {REQUEST_TIMEOUT_S:g} s and was abandoned; "
                       "try a shorter text", 504)
    raise AssertionError("unreachable")


# -- the app -------------------------------------------------------------------------------------
def create_app(playground: Playground) -> Starlette:
    """The Starlette app: the page, its CSS and the JSON API (documented in docs/playground.md)."""
    limiter = anyio.CapacityLimiter(WORKERS)
    page = files("tokenkit").joinpath("static/playground.html").read_text(encoding="utf-8")

    def endpoint(handler: Callable[[Request], Any]) -> Callable[[Request], Any]:
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

    async def index(request: Request) -> Response:
        return HTMLResponse(page)

    async def css(request: Request) -> Response:
        return Response(CSS, media_type="text/css")

    async def vocabularies(request: Request) -> dict[str, Any]:
        model = playground.model
        return {"vocabularies": playground.available(), "samples": SAMPLES,
                "model": {"path": model.path, "vocabulary": model.vocab_spec} if model else None,
                "limits": {"max_text_chars": MAX_TEXT_CHARS, "max_vocabularies": MAX_VOCABS,
                           "max_new_tokens": MAX_NEW_TOKENS, "timeout_s": REQUEST_TIMEOUT_S}}

    async def encode(request: Request) -> dict[str, Any]:
        data = await _body(request)
        text = _text(data)
        specs = data.get("specs")
        if not isinstance(specs, list) or not specs or not all(isinstance(s, str) for s in specs):
            raise ApiError("'specs' must be a non-empty list of vocabulary names")
        if len(specs) > MAX_VOCABS:
            raise ApiError(f"at most {MAX_VOCABS} vocabularies side by side, got {len(specs)}")
        names = {a["spec"] for a in playground.available()}
        unknown = [s for s in specs if s not in names]
        if unknown:
            raise ApiError(f"unknown vocabulary {unknown[0]!r} (available: {', '.join(sorted(names))})")
        return {"text": text, "results": await _run(lambda: playground.encode(text, specs), limiter)}

    async def decode(request: Request) -> dict[str, Any]:
        data = await _body(request)
        spec, ids = data.get("spec"), data.get("ids")
        if not isinstance(spec, str):
            raise ApiError("'spec' must be a vocabulary name")
        if not isinstance(ids, list) or not all(isinstance(i, int) and not isinstance(i, bool)
                                                for i in ids):
            raise ApiError(f"'ids' must be a list of integers, got {json.dumps(ids)[:80]}")
        if len(ids) > MAX_TEXT_CHARS:
            raise ApiError(f"{len(ids):,} ids is over the limit of {MAX_TEXT_CHARS:,}", 413)
        return await _run(lambda: playground.decode(spec, ids), limiter)

    def _model() -> ModelSession:
        if playground.model is None:
            raise ApiError("no model loaded: start the server with "
                           "`tokenkit serve --model RUN_OR_CHECKPOINT`", 404)
        return playground.model

    async def next_token(request: Request) -> dict[str, Any]:
        model = _model()
        data = await _body(request)
        text = _text(data)
        top_k = _number(data, "top_k", 10, 1, MAX_TOP_K, int)
        temperature = _number(data, "temperature", 1.0, 0.01, 100.0)
        return {"text": text, "tokens": await _run(
            lambda: model.next_tokens(text, top_k, temperature), limiter)}

    async def sample(request: Request) -> dict[str, Any]:
        model = _model()
        data = await _body(request)
        text = _text(data)
        args = dict(max_new_tokens=_number(data, "max_new_tokens", 40, 1, MAX_NEW_TOKENS, int),
                    temperature=_number(data, "temperature", 1.0, 0.0, 100.0),
                    top_k=_number(data, "top_k", None, 1, 1 << 24, int),
                    top_p=_number(data, "top_p", None, 0.0, 1.0),
                    seed=_number(data, "seed", None, 0, 2**63 - 1, int))
        return {"text": text, **await _run(lambda: model.sample(text, **args), limiter)}

    routes = [
        Route("/", index),
        Route("/render.css", css),
        Route("/api/vocabularies", endpoint(vocabularies)),
        Route("/api/encode", endpoint(encode), methods=["POST"]),
        Route("/api/decode", endpoint(decode), methods=["POST"]),
        Route("/api/next", endpoint(next_token), methods=["POST"]),
        Route("/api/sample", endpoint(sample), methods=["POST"]),
    ]
    return Starlette(routes=routes)


def build_app(specs: Sequence[str] = (), model: str | None = None, root: str | Path = ".") -> Starlette:
    """The app for ``tokenkit serve``; the model (if any) is loaded now, so errors come first."""
    session = ModelSession.load(model) if model else None
    return create_app(Playground(specs, root, session))


def run(app: Starlette, host: str, port: int) -> None:
    """Serve ``app`` with uvicorn until interrupted."""
    import uvicorn

    uvicorn.run(app, host=host, port=port, log_level="warning",
                limit_concurrency=64, timeout_keep_alive=5)
