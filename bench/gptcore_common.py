"""Shared bench helpers: GPT-2 token ids of The Verdict (or seeded random ids if absent)."""

from __future__ import annotations

import torch

import tokenkit


def verdict_ids(n: int) -> tuple[torch.Tensor, str]:
    """At least ``n`` GPT-2 token ids (The Verdict repeated) and a description of the source."""
    try:
        text = tokenkit.resolve_corpus("the-verdict", download=False).read_text(encoding="utf-8")
        ids = tokenkit.load("gpt2").encode(text)
        source = "the-verdict.txt (GPT-2 BPE)"
    except tokenkit.TokenkitError:  # corpus or GPT-2 files absent: still benchmark speed
        ids = torch.randint(0, 50257, (n,), generator=torch.Generator().manual_seed(0)).tolist()
        source = "random ids (corpus absent)"
    while len(ids) < n:
        ids = ids + ids
    return torch.tensor(ids[:n]), source


def device_name() -> str:
    if torch.cuda.is_available():
        return torch.cuda.get_device_name()
    import platform
    return f"CPU ({platform.processor() or platform.machine()}, {torch.get_num_threads()} threads)"
