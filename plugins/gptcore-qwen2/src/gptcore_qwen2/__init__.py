"""Qwen2 / Qwen2.5 plugin for gptcore: the ``qwen2`` architecture and the ``hf-qwen2`` loader.

:mod:`.model` declares the family from gptcore's building blocks, :mod:`.hf` reads and writes
Hugging Face directories, and this file registers them (entry points
``qwen2 = "gptcore_qwen2:ARCHITECTURE"`` and ``hf-qwen2 = "gptcore_qwen2.hf:LOADER"``).
"""

from __future__ import annotations

from gptcore.plugin import Architecture

from gptcore_qwen2.hf import export_hf
from gptcore_qwen2.model import API_VERSION, PRESETS, Qwen2Config, build

__version__ = "0.1.0"

ARCHITECTURE = Architecture(
    name="qwen2",
    config_class=Qwen2Config,
    presets=PRESETS,
    build=build,
    exporters={"hf": export_hf},
    description="Qwen2/Qwen2.5 (Alibaba 2024): RMSNorm, RoPE, SwiGLU, GQA with q/k/v bias (plugin gptcore-qwen2)",
    api_version=API_VERSION,
)
