"""Stage 4 — from weights back to text: sampling filters, autoregressive decoding on the KV cache.

* :mod:`.sampling` — Logit processors and token sampling (pure functions on ``[batch, vocab]`` logits).
* :mod:`.decoding` — Autoregressive generation for any architecture that follows :mod:`gptcore.platform.protocol`.
* :mod:`.inference` — Weight memory layout for fast one-token decoding on the CPU.

Every public name of these modules is importable from the package itself (loaded on first use).
"""

from __future__ import annotations

from gptcore._lazy import lazy_exports

_EXPORTS: dict[str, str] = {
    "NEG_INF": "gptcore.generation.sampling",
    "SamplingConfig": "gptcore.generation.sampling",
    "epsilon_filter": "gptcore.generation.sampling",
    "min_p_filter": "gptcore.generation.sampling",
    "next_token_distribution": "gptcore.generation.sampling",
    "process_logits": "gptcore.generation.sampling",
    "repetition_penalty": "gptcore.generation.sampling",
    "sample": "gptcore.generation.sampling",
    "top_k_filter": "gptcore.generation.sampling",
    "top_p_filter": "gptcore.generation.sampling",
    "CHAT_TOKENS": "gptcore.generation.decoding",
    "ChatPrompt": "gptcore.generation.decoding",
    "GenerationConfig": "gptcore.generation.decoding",
    "TokenCallback": "gptcore.generation.decoding",
    "chat": "gptcore.generation.decoding",
    "chat_prompt": "gptcore.generation.decoding",
    "continuation": "gptcore.generation.decoding",
    "check_vocabulary": "gptcore.generation.decoding",
    "generate": "gptcore.generation.decoding",
    "generate_ids": "gptcore.generation.decoding",
    "mask_padding": "gptcore.generation.decoding",
    "trim_at_stop": "gptcore.generation.decoding",
    "decode_layout": "gptcore.generation.inference",
    "is_decode_layout": "gptcore.generation.inference",
}

__getattr__, __dir__ = lazy_exports(globals(), _EXPORTS)
__all__ = sorted(_EXPORTS)
