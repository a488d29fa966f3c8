"""Vocabulary size sweep: train one vocabulary per size, measure on held-out text only.

The held-out split is the tail of the corpus's lines (contiguous, so no training line leaks
into it by neighbourhood); training never sees it.
"""

from __future__ import annotations

import csv
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, fields
from pathlib import Path

from tokenkit import metrics, training
from tokenkit.atomic import atomic_file
from tokenkit.errors import TokenkitError
from tokenkit.results import SweepResult, SweepRow
from tokenkit.textio import read_text_source

Progress = Callable[[int, int, str], None]


#: The vocabulary sizes a sweep trains when none are given.
DEFAULT_SIZES = (500, 1000, 2000, 5000, 8000, 16000)


def parse_sizes(spec: str) -> list[int]:
    """Sorted distinct sizes; ``k`` means thousands; one-line error on anything else.

    >>> parse_sizes("500,1000,2k,1000")
    [500, 1000, 2000]
    """
    sizes = []
    for part in spec.split(","):
        part = part.strip().lower()
        if not part:
            continue
        mult = 1000 if part.endswith("k") else 1
        try:
            n = int(part[:-1] if mult > 1 else part) * mult
        except ValueError:
            raise TokenkitError(f"--vocab: {part!r} is not a vocabulary size") from None
        if n < 1:
            raise TokenkitError(f"--vocab: sizes must be positive, got {n}")
        sizes.append(n)
    if not sizes:
        raise TokenkitError("--vocab: give at least one size")
    return sorted(set(sizes))


def split_heldout(text: str, heldout: float) -> tuple[str, str]:
    """(train, held-out): the last ``heldout`` fraction of lines is held out."""
    if not 0 < heldout < 1:  # also refuses nan
        raise TokenkitError(f"--heldout must be between 0 and 1, got {heldout}")
    lines = text.splitlines(keepends=True)
    if len(lines) < 2:
        raise TokenkitError("corpus has fewer than 2 lines: cannot hold any out")
    n_held = min(len(lines) - 1, max(1, round(len(lines) * heldout)))
    return "".join(lines[:-n_held]), "".join(lines[-n_held:])


def run_sweep(corpus: str, sizes: Sequence[int], *, backend: str = "hf", heldout: float = 0.1,
              on_progress: Progress | None = None, **train_options) -> SweepResult:
    """Train ``backend`` vocabularies of each size on the training split of ``corpus``."""
    doc = read_text_source(corpus)
    if not doc.text.strip():
        raise TokenkitError(f"corpus {corpus} is empty")
    train_text, held_text = split_heldout(doc.text, heldout)
    if not held_text.strip() or not train_text.strip():
        raise TokenkitError(f"corpus {corpus}: the split left an empty side (--heldout {heldout})")
    result = SweepResult(corpus, backend, heldout, len(train_text.encode("utf-8")),
                         len(held_text.encode("utf-8")))
    for i, size in enumerate(sizes):
        if on_progress:
            on_progress(i, len(sizes), f"vocab {size}")
        start = time.perf_counter()
        vocab = training.train_from_texts([train_text], size, backend=backend, **train_options).vocabulary
        train_s = time.perf_counter() - start
        ids = vocab.encode(held_text)
        bits = metrics.bits_report_from_ids(held_text, ids, vocab.vocab_size)
        counts = metrics.unigram_counts(ids)
        entropy = metrics.shannon_entropy(counts)
        result.rows.append(SweepRow(
            vocab_size=size, actual_vocab_size=vocab.vocab_size, heldout_bytes=bits.utf8_bytes,
            tokens=bits.n_tokens,
            tokens_per_byte=bits.n_tokens / bits.utf8_bytes if bits.utf8_bytes else 0.0,
            bytes_per_token=bits.bytes_per_token, bits_per_token=bits.bits_per_token,
            entropy_bits_per_token=entropy, compression_ratio=bits.ratio,
            entropy_compression_ratio=metrics.entropy_compression_ratio(
                bits.utf8_bytes, bits.n_tokens, entropy),
            renyi_efficiency=metrics.renyi_efficiency(counts, 2.5, vocab.vocab_size),
            train_seconds=train_s))
    if on_progress:
        on_progress(len(sizes), len(sizes), "done")
    return result


def write_csv(result: SweepResult, path: Path) -> Path:
    names = ["corpus", "backend", "heldout"] + [f.name for f in fields(SweepRow)]
    with atomic_file(path) as tmp, tmp.open("w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=names)
        w.writeheader()
        for r in result.rows:
            w.writerow({"corpus": result.corpus, "backend": result.backend,
                        "heldout": result.heldout, **asdict(r)})
    return path
