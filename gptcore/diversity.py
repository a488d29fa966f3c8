"""Self-BLEU: how similar samples are to each other (lower = more diverse)."""

from __future__ import annotations

from collections.abc import Sequence


def self_bleu(texts: Sequence[str]) -> float:
    """Mean sacrebleu BLEU of each text against all the others as references (0-100)."""
    import sacrebleu

    if len(texts) < 2:
        raise ValueError("Self-BLEU needs at least two samples")
    scores = []
    for i, hyp in enumerate(texts):
        refs = [t for j, t in enumerate(texts) if j != i]
        scores.append(sacrebleu.sentence_bleu(hyp, refs).score)
    return sum(scores) / len(scores)
