"""Small vocabularies trained once per test session (cheap: a few hundred KB at most)."""

from __future__ import annotations

from functools import lru_cache

from tokenkit.training import train_from_texts
from tokenkit.vocabulary import Vocabulary

# A small mixed text that needs no corpus: English, Japanese, digits, punctuation, whitespace.
MIXED_TEXT = "\n".join([
    "The quick brown fox jumps over the lazy dog. 1234567890!",
    "吾輩は猫である。名前はまだ無い。どこで生れたかとんと見当がつかぬ。",
    "  indented\tline with\ttabs and   runs of spaces  ",
    "Ünïcödé façade naïve café — “quotes” and ‘apostrophes’",
    "카페에서 커피를 마셨다. Кириллица тоже здесь.",
] * 40)


@lru_cache(maxsize=None)
def mixed_vocab(backend: str = "hf", **options) -> Vocabulary:
    size = 400 if backend == "hf" else 600
    return train_from_texts([MIXED_TEXT], size, backend=backend, **options).vocabulary
