"""Self-BLEU: how similar samples are to each other (lower = more diverse)."""

from __future__ import annotations

from collections.abc import Sequence

from gptcore.errors import GptcoreError


def self_bleu(texts: Sequence[str]) -> float:
    """Mean sacrebleu BLEU of each text against all the others as references (0-100)."""
    try:
        import sacrebleu  # lazy: an optional dependency, needed by this command only
    except ImportError:
        raise GptcoreError("Self-BLEU needs sacrebleu: pip install sacrebleu") from None
    if len(texts) < 2:
        raise ValueError("Self-BLEU needs at least two samples")
    scores = []
    for i, hyp in enumerate(texts):
        refs = [t for j, t in enumerate(texts) if j != i]
        scores.append(sacrebleu.sentence_bleu(hyp, refs).score)
    return sum(scores) / len(scores)
