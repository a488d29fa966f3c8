"""Stage 5 — a checkpoint out to a foreign format (Hugging Face, ...) through its family's exporters.

* :mod:`.writer` — Export a model to a foreign format through its architecture's exporters (atomically).

Every public name of these modules is importable from the package itself (loaded on first use).
"""

from __future__ import annotations

from gptcore._lazy import lazy_exports

_EXPORTS: dict[str, str] = {
    "HF_SPECIAL_IDS": "gptcore.export.writer",
    "export": "gptcore.export.writer",
    "EXPORT_KIND": "gptcore.export.writer",
    "MARKER": "gptcore.export.writer",
    "MARKER_FORMAT": "gptcore.export.writer",
}

__getattr__, __dir__ = lazy_exports(globals(), _EXPORTS)
__all__ = sorted(_EXPORTS)
