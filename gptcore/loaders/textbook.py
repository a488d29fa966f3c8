"""Deprecated location of the textbook ``GPTModel`` loader: use :mod:`gptcore.models.gpt2.textbook`.

Kept so code written against plugin API 1 keeps importing; nothing in gptcore imports it.
"""

from __future__ import annotations

import warnings

from gptcore.models.gpt2.textbook import LOADER, SUFFIXES, detect, load  # noqa: F401

warnings.warn("gptcore.loaders.textbook is deprecated: import gptcore.models.gpt2.textbook",
              DeprecationWarning, stacklevel=2)
