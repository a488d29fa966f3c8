"""Stage 4 — measuring a model: loss, perplexity, bits per byte, and the diversity of its samples.

* :mod:`.bpb` — Validation loss, perplexity and bits per byte: the number that compares vocabularies.
* :mod:`.diversity` — Self-BLEU: how similar samples are to each other (lower = more diverse).

Every public name of these modules is importable from the package itself (loaded on first use).
"""

from __future__ import annotations

from gptcore._lazy import lazy_exports

_EXPORTS: dict[str, str] = {
    "EvalResult": "gptcore.eval.bpb",
    "evaluate": "gptcore.eval.bpb",
    "token_bytes": "gptcore.eval.bpb",
    "token_losses": "gptcore.eval.bpb",
    "self_bleu": "gptcore.eval.diversity",
}

__getattr__, __dir__ = lazy_exports(globals(), _EXPORTS)
__all__ = sorted(_EXPORTS)
