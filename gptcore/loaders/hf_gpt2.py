"""Deprecated location of the Hugging Face GPT-2 loader: use :mod:`gptcore.models.gpt2.hf`.

Kept so code written against plugin API 1 keeps importing; nothing in gptcore imports it.
"""

from __future__ import annotations

import warnings

from gptcore.models.gpt2.hf import LOADER, WEIGHT_FILES, config_from_hf, detect, export_hf, load, name_map  # noqa: F401

warnings.warn("gptcore.loaders.hf_gpt2 is deprecated: import gptcore.models.gpt2.hf",
              DeprecationWarning, stacklevel=2)
