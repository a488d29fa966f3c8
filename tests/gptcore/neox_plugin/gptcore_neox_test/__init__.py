"""A test-only GPT-NeoX / Pythia family for gptcore, registered through entry points only."""

from __future__ import annotations

from gptcore.plugin import Architecture
from gptcore_neox_test.model import API_VERSION, NeoX, NeoXConfig

ARCHITECTURE = Architecture(
    name="neox-test", config_class=NeoXConfig,
    presets={"neox-test-tiny": {"vocab_size": 97, "context_length": 64, "emb_dim": 32, "n_heads": 4,
                                "hidden_dim": 128}},
    build=NeoX, description="GPT-NeoX / Pythia (test-only plugin)", api_version=API_VERSION)
