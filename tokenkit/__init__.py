"""tokenkit: train, load and measure BPE vocabularies.

    >>> import tokenkit
    >>> vocab = tokenkit.train(["wagahai"], vocab_size=5000)          # doctest: +SKIP
    >>> tokenkit.bits_report(vocab, "吾輩わがはいは猫である。").ratio     # doctest: +SKIP
"""

from __future__ import annotations

import tokenkit.load as _load_module  # noqa: F401  (imported first so `load` below stays a function)
from tokenkit.errors import TokenkitError
from tokenkit.vocabulary import HFVocabulary, SentencePieceVocabulary, Vocabulary



def __getattr__(name: str) -> str:
    """``__version__`` is looked up lazily: importlib.metadata costs ~40 ms at start-up."""
    if name == "__version__":
        from importlib.metadata import PackageNotFoundError, version

        try:
            return version("tokenkit-gptcore")
        except PackageNotFoundError:  # a source tree that is not installed
            return "0.0.0+unknown"
    raise AttributeError(f"module 'tokenkit' has no attribute {name!r}")


def load(spec: str) -> Vocabulary:
    """Load a vocabulary from a path (tokenkit directory, tokenizer.json, .model)."""
    from tokenkit.load import load_vocabulary

    return load_vocabulary(spec)


__all__ = ["HFVocabulary", "SentencePieceVocabulary", "TokenkitError", "Vocabulary", "load",
           "__version__"]
