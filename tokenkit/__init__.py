"""tokenkit: train, load and measure BPE vocabularies.

    >>> import tokenkit
    >>> vocab = tokenkit.train(["wagahai"], vocab_size=5000)          # doctest: +SKIP
    >>> tokenkit.bits_report(vocab, "吾輩わがはいは猫である。").ratio     # doctest: +SKIP
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

import tokenkit.load as _load_module  # noqa: F401  (imported first so `load` below stays a function)
from tokenkit.errors import TokenkitError
from tokenkit.vocabulary import HFVocabulary, SentencePieceVocabulary, Vocabulary

try:
    __version__ = version("tokenkit-gptcore")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0+unknown"


def load(spec: str) -> Vocabulary:
    """Load a vocabulary from a path (tokenkit directory, tokenizer.json, .model)."""
    from tokenkit.load import load_vocabulary

    return load_vocabulary(spec)


__all__ = ["HFVocabulary", "SentencePieceVocabulary", "TokenkitError", "Vocabulary", "load",
           "__version__"]
