"""Llama-family plugin for gptcore: the ``llama`` architecture and the ``hf-llama`` loader.

:mod:`.model` holds the model, :mod:`.hf` reads and writes Hugging Face directories, and this
file registers them (entry points ``llama = "gptcore_llama:ARCHITECTURE"`` and
``hf-llama = "gptcore_llama.hf:LOADER"``).
"""

from __future__ import annotations

from gptcore.plugin import Architecture

from gptcore_llama.hf import export_hf
from gptcore_llama.model import API_VERSION, PRESETS, LlamaConfig, build

__version__ = "0.1.0"

ARCHITECTURE = Architecture(
    name="llama",
    config_class=LlamaConfig,
    presets=PRESETS,
    build=build,
    exporters={"hf": export_hf},
    description="Llama (Meta 2023-24): RMSNorm, RoPE, SwiGLU, grouped-query attention (plugin gptcore-llama)",
    api_version=API_VERSION,
)
