"""gptcore.models.gpt2: GPT-2 satisfies the plugin contract (gptcore.kit.testing)."""

from __future__ import annotations

import pytest

from gptcore.kit import testing

TINY = dict(vocab_size=97, context_length=32, emb_dim=48, n_layers=2, n_heads=4)


@pytest.mark.parametrize("overrides", [{}, {"tie_weights": False, "qkv_bias": False},
                                       {"bias": False, "gelu_approximate": "none"}])
def test_gpt2_satisfies_plugin_contract(tmp_path, overrides):
    testing.check_architecture("gpt2", {**TINY, **overrides}, tmp_path)


def test_weight_tying_shares_one_tensor():
    model = testing.build_tiny("gpt2", TINY)
    assert model.lm_head.weight is model.tok_emb.weight
