"""tokenkit: train, load and measure BPE vocabularies.

The seed story: vocabulary 5000 on 吾輩は猫である, measured on the textbook's sentence.
The textbook's alphabet (only the bytes seen in the corpus) reaches 10 tokens; the default
256-byte alphabet spends one more token and loses nothing::

    >>> import tokenkit
    >>> sentence = "吾輩わがはいは猫である。名前はまだ無い。"
    >>> textbook = tokenkit.train(["wagahai"], vocab_size=5000, alphabet="observed").vocabulary
    >>> report = tokenkit.bits_report(textbook, sentence)
    >>> report.utf8_bits, report.bpe_bits, round(report.ratio, 2)
    (480, 130, 3.69)
    >>> lossless = tokenkit.train(["wagahai"], vocab_size=5000).vocabulary
    >>> tokenkit.bits_report(lossless, sentence).bpe_bits
    143
    >>> tokenkit.oov_report(textbook, "El Psy 🥺").lossless, tokenkit.oov_report(lossless, "El Psy 🥺").lossless
    (False, True)

Saved and named vocabularies open with :func:`load` (``gpt2`` is OpenAI's BPE, built from its
original files)::

    >>> tokenkit.load("gpt2").encode("Hello world")
    [15496, 995]

Every public name is imported on first use, so ``import tokenkit`` stays cheap.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

#: Public name -> (module, attribute). The one list of the front door.
_EXPORTS: dict[str, tuple[str, str]] = {
    # vocabularies
    "Vocabulary": ("tokenkit.vocabulary", "Vocabulary"),
    "HFVocabulary": ("tokenkit.backends.hf", "HFVocabulary"),
    "SentencePieceVocabulary": ("tokenkit.backends.sentencepiece", "SentencePieceVocabulary"),
    "TiktokenVocabulary": ("tokenkit.backends.tiktoken", "TiktokenVocabulary"),
    "load": ("tokenkit.specs", "load_vocabulary"),
    # training
    "train": ("tokenkit.training", "train"),
    "train_from_texts": ("tokenkit.training", "train_from_texts"),
    "train_corpus": ("tokenkit.training", "train_corpus"),
    "TrainOptions": ("tokenkit.training", "TrainOptions"),
    "TrainResult": ("tokenkit.training", "TrainResult"),
    # measuring
    "bits_report": ("tokenkit.metrics", "bits_report"),
    "BitsReport": ("tokenkit.metrics", "BitsReport"),
    "oov_report": ("tokenkit.oov", "oov_report"),
    "OOVReport": ("tokenkit.oov", "OOVReport"),
    "run_bench": ("tokenkit.bench", "run_bench"),
    "run_sweep": ("tokenkit.sweep", "run_sweep"),
    # files
    "export": ("tokenkit.exporters", "export"),
    "resolve_corpus": ("tokenkit.corpora", "resolve_corpus"),
    "open_corpus": ("tokenkit.corpusreader", "open_corpus"),
    # errors
    "TokenkitError": ("tokenkit.errors", "TokenkitError"),
}

if TYPE_CHECKING:  # what type checkers and IDEs see; at run time __getattr__ imports these
    from tokenkit.backends.hf import HFVocabulary
    from tokenkit.backends.sentencepiece import SentencePieceVocabulary
    from tokenkit.backends.tiktoken import TiktokenVocabulary
    from tokenkit.bench import run_bench
    from tokenkit.corpora import resolve_corpus
    from tokenkit.corpusreader import open_corpus
    from tokenkit.errors import TokenkitError
    from tokenkit.exporters import export
    from tokenkit.metrics import BitsReport, bits_report
    from tokenkit.oov import OOVReport, oov_report
    from tokenkit.specs import load_vocabulary as load
    from tokenkit.sweep import run_sweep
    from tokenkit.training import TrainOptions, TrainResult, train, train_corpus, train_from_texts
    from tokenkit.vocabulary import Vocabulary

__all__ = sorted([*_EXPORTS, "__version__"])


def __getattr__(name: str) -> Any:
    """Import a public name on first use (PEP 562); ``__version__`` asks importlib.metadata."""
    if name == "__version__":
        version = importlib.import_module("tokenkit.version").package_version()
        globals()[name] = version
        return version
    try:
        module, attribute = _EXPORTS[name]
    except KeyError:
        raise AttributeError(f"module 'tokenkit' has no attribute {name!r}") from None
    value = getattr(importlib.import_module(module), attribute)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
