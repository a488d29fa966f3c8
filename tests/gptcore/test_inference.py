"""decode_layout changes memory strides only."""

from __future__ import annotations

import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from gptcore.runs import checkpoint as ck
from gptcore.kit import testing
from gptcore.generation.decoding import GenerationConfig, generate_ids
from gptcore.generation.inference import decode_layout, is_decode_layout
from gptcore.generation.sampling import SamplingConfig

TINY = dict(vocab_size=61, context_length=32, emb_dim=16, n_layers=2, n_heads=2)


def twins(**overrides):
    """Two identical tiny GPT-2s; the second re-laid out for decoding."""
    cfg = dict(TINY, **overrides)
    torch.manual_seed(0)
    ref = testing.build_tiny("gpt2", cfg)
    fast = testing.build_tiny("gpt2", cfg)
    fast.load_state_dict(ref.state_dict())
    return ref, fast, decode_layout(fast)


def test_every_linear_is_input_major_and_ties_survive():
    _, fast, changed = twins()
    linears = [m for m in fast.modules() if isinstance(m, nn.Linear)]
    assert changed == len(linears) == 2 * 4 + 1  # qkv, proj, fc, proj per block + the head
    assert all(is_decode_layout(m.weight) for m in linears)
    assert fast.lm_head.weight is fast.tok_emb.weight  # tying kept: the same Parameter
    assert decode_layout(fast) == 0  # idempotent


def test_untied_head_is_converted_once_and_embedding_left_alone():
    _, fast, changed = twins(tie_weights=False)
    assert changed == 9 and is_decode_layout(fast.lm_head.weight)
    assert fast.tok_emb.weight.is_contiguous()


@settings(max_examples=15, deadline=None)
@given(ids=st.lists(st.integers(0, 60), min_size=1, max_size=12), new=st.integers(1, 10))
def test_same_logits_and_same_greedy_ids(ids, new):
    ref, fast, _ = twins()
    x = torch.tensor([ids])
    with torch.no_grad():
        torch.testing.assert_close(fast(x), ref(x), rtol=0, atol=1e-5)
    greedy = GenerationConfig(new, SamplingConfig(temperature=0.0))
    assert generate_ids(fast, [ids], greedy) == generate_ids(ref, [ids], greedy)


def test_state_dict_and_checkpoint_are_unchanged(tmp_path):
    ref, fast, _ = twins()
    for name, tensor in ref.state_dict().items():
        assert torch.equal(fast.state_dict()[name], tensor), name
    loaded = ck.load_checkpoint(ck.save_checkpoint(tmp_path / "c", fast)).model
    for name, tensor in ref.state_dict().items():
        assert torch.equal(loaded.state_dict()[name], tensor), name
    assert loaded.lm_head.weight is loaded.tok_emb.weight


def test_training_still_works_after_decode_layout():
    _, fast, _ = twins()
    opt = torch.optim.AdamW(fast.parameters(), lr=1e-2)
    before = fast.blocks[0].mlp.fc.weight.detach().clone()
    fast.train()
    fast(torch.randint(0, 61, (2, 8))).mean().backward()
    opt.step()
    assert not torch.equal(before, fast.blocks[0].mlp.fc.weight)


def test_other_dtypes_are_left_alone():
    half = testing.build_tiny("gpt2", TINY).to(torch.bfloat16)
    assert decode_layout(half) == 0
    assert all(p.is_contiguous() for p in half.parameters())
