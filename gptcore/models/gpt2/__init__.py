"""GPT-2, registered as the ``gpt2`` architecture exactly as a third-party family would be.

The family is a package with one job per module, imported one way only:

* :mod:`.model`: the config, presets and ``nn.Module`` (knows nothing of file formats);
* :mod:`.hf`: Hugging Face GPT-2 directories, read (``hf-gpt2`` loader) and written (exporter);
* :mod:`.textbook`: the *LLMs from scratch* ``GPTModel`` state dict (``textbook-gpt`` loader);
* this file: the :class:`~gptcore.platform.interfaces.Architecture` the entry point names
  (``gpt2 = "gptcore.models.gpt2:ARCHITECTURE"``).

>>> ARCHITECTURE.make_config("gpt2-124m-ctx256").context_length
256
"""

from __future__ import annotations

from gptcore.models.gpt2.hf import export_hf
from gptcore.models.gpt2.model import GPT2, MLP, PRESETS, Block, CausalSelfAttention, GPT2Config, build
from gptcore.platform.interfaces import Architecture

ARCHITECTURE = Architecture(
    name="gpt2",
    config_class=GPT2Config,
    presets=PRESETS,
    build=build,
    exporters={"hf": export_hf},
    description="GPT-2 (OpenAI 2019); learned positions, tied head, SDPA attention",
)

__all__ = ["ARCHITECTURE", "GPT2", "MLP", "PRESETS", "Block", "CausalSelfAttention", "GPT2Config", "build"]
