"""Shared bench helpers: GPT-2 token ids of The Verdict (or seeded random ids if absent)."""

from __future__ import annotations

from pathlib import Path

import torch

CORPORA = Path(__file__).resolve().parents[1].parent / "shared" / "corpora"


def verdict_ids(n: int) -> tuple[torch.Tensor, str]:
    """At least ``n`` GPT-2 token ids (The Verdict repeated) and a description of the source."""
    try:
        import tiktoken
        from tiktoken.load import data_gym_to_mergeable_bpe_ranks

        ranks = data_gym_to_mergeable_bpe_ranks(str(CORPORA / "gpt2" / "vocab.bpe"),
                                                str(CORPORA / "gpt2" / "encoder.json"))
        enc = tiktoken.Encoding("gpt2-local", pat_str=r"""'(?:[sdmt]|ll|ve|re)| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+""",
                                mergeable_ranks=ranks, special_tokens={"<|endoftext|>": 50256})
        ids = enc.encode((CORPORA / "the-verdict.txt").read_text(encoding="utf-8"))
        source = "the-verdict.txt (GPT-2 BPE)"
    except Exception:  # noqa: BLE001 - corpus absent: still benchmark speed
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
