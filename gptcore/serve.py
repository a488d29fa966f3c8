"""``gptcore serve``: tokenkit's playground page with a model's next-token chart and sampling.

tokenkit serves the page and the vocabulary API (:mod:`tokenkit.serve`) and never imports
gptcore; this module loads a checkpoint or run once and adds ``/api/next`` (the top-k next-token
distribution) and ``/api/sample`` (seeded sampling) through :func:`tokenkit.serve.create_app`'s
``model_routes``. Both share the page's worker limiter, body limits and 504 time-out, and one
forward pass runs at a time. A 504 cancels the work between tokens (tokenkit.serve_work).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import torch
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.routing import Route

import tokenkit
from tokenkit.serve import (
    MAX_NEW_TOKENS,
    MAX_TOP_K,
    ApiError,
    Playground,
    create_app,
    json_endpoint,
    read_body,
    read_number,
    read_text,
    run_blocking,
)

from gptcore.errors import GptcoreError
from gptcore.generation.decoding import GenerationConfig, check_vocabulary, generate_ids
from gptcore.generation.sampling import SamplingConfig, next_token_distribution
from gptcore.platform.registry import load_model


@dataclass
class ModelSession:
    """A gptcore model and its vocabulary, loaded once; one forward pass at a time."""

    path: str
    model: Any
    vocab: tokenkit.Vocabulary
    vocab_spec: str
    lock: threading.Lock

    @classmethod
    def load(cls, path: str) -> ModelSession:
        result = load_model(path)
        if not result.vocabulary:
            raise GptcoreError(f"model {path} records no vocabulary to encode text with")
        vocab = tokenkit.load(result.vocabulary)
        check_vocabulary(result.model, vocab)
        return cls(path, result.model.eval(), vocab, result.vocabulary, threading.Lock())

    def info(self) -> dict[str, str]:
        return {"path": self.path, "vocabulary": self.vocab_spec}

    def _prompt(self, text: str) -> list[int]:
        ids = self.vocab.encode(text)
        if not ids:
            raise ApiError("type some text first: the model needs at least one token")
        return ids[-self.model.config.context_length:]

    def next_tokens(self, text: str, top_k: int, temperature: float) -> list[dict[str, Any]]:
        ids = self._prompt(text)
        with self.lock, torch.inference_mode():
            logits = self.model(torch.tensor([ids]))[0, -1]
        dist = next_token_distribution(logits, temperature, top_k)
        return [{"id": i, "p": p, "text": self.vocab.decode([i]),
                 "hex": (self.vocab.token_bytes(i) or b"").hex(" ")} for i, p in dist]

    def sample(self, text: str, max_new_tokens: int, temperature: float, top_k: int | None,
               top_p: float | None, seed: int | None) -> dict[str, Any]:
        cfg = GenerationConfig(max_new_tokens=max_new_tokens, seed=seed,
                               sampling=SamplingConfig(temperature=temperature, top_k=top_k,
                                                       top_p=top_p))
        with self.lock:
            new = generate_ids(self.model, [self._prompt(text)], cfg)[0]
        return {"completion": self.vocab.decode(new), "ids": new}


def model_routes(session: ModelSession, limiter: anyio.CapacityLimiter) -> list[Route]:
    """``/api/next`` and ``/api/sample`` for ``session`` (documented in docs/playground.md)."""

    async def next_token(request: Request) -> dict[str, Any]:
        data = await read_body(request)
        text = read_text(data)
        top_k = read_number(data, "top_k", 10, 1, MAX_TOP_K, int)
        temperature = read_number(data, "temperature", 1.0, 0.01, 100.0)
        return {"text": text, "tokens": await run_blocking(
            lambda: session.next_tokens(text, top_k, temperature), limiter)}

    async def sample(request: Request) -> dict[str, Any]:
        data = await read_body(request)
        text = read_text(data)
        args = dict(max_new_tokens=read_number(data, "max_new_tokens", 40, 1, MAX_NEW_TOKENS, int),
                    temperature=read_number(data, "temperature", 1.0, 0.0, 100.0),
                    top_k=read_number(data, "top_k", None, 1, 1 << 24, int),
                    top_p=read_number(data, "top_p", None, 0.0, 1.0),
                    seed=read_number(data, "seed", None, 0, 2**63 - 1, int))
        return {"text": text, **await run_blocking(lambda: session.sample(text, **args), limiter)}

    return [Route("/api/next", json_endpoint(next_token), methods=["POST"]),
            Route("/api/sample", json_endpoint(sample), methods=["POST"])]


def build_app(model: str, specs: Sequence[str] = (), root: str | Path = ".",
              hosts: Sequence[str] = ()) -> Starlette:
    """The playground for ``model`` (loaded now, so errors come first) beside ``specs``;
    ``hosts`` as in :func:`tokenkit.serve.create_app`."""
    session = ModelSession.load(model)
    return create_app(Playground(specs, root), model_info=session.info(), hosts=hosts,
                      model_routes=lambda limiter: model_routes(session, limiter))
