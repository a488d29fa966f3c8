"""The shared building blocks (gptcore.models.blocks) against transformers' own arithmetic:
rotary frequencies for every scaling, partial rotary, RMSNorm, gated MLPs, and grouped-query
attention through the KV cache."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from gptcore.platform.kvcache import KVCache
from gptcore.plugin import (GatedMLP, GeGLU, GroupedQueryAttention, RMSNorm, Rotary, SwiGLU, apply_rotary,
                            rope_inv_freq)

transformers = pytest.importorskip("transformers")
rope_utils = pytest.importorskip("transformers.modeling_rope_utils")


def _hf_inv_freq(rope: dict, seq_len: int | None = None, head_dim: int = 16) -> torch.Tensor:
    cfg = transformers.LlamaConfig(hidden_size=4 * head_dim, num_attention_heads=4, max_position_embeddings=64)
    cfg.rope_parameters = rope
    kind = rope["rope_type"]
    if kind == "default":
        return 1.0 / (rope["rope_theta"] ** (torch.arange(0, head_dim, 2, dtype=torch.int64).float() / head_dim))
    fn = rope_utils.ROPE_INIT_FUNCTIONS[kind]
    return (fn(cfg, "cpu", seq_len) if kind == "dynamic" else fn(cfg, "cpu"))[0]


@pytest.mark.parametrize("rope, ours", [
    (dict(rope_type="default", rope_theta=5000.0), dict()),
    (dict(rope_type="linear", rope_theta=10000.0, factor=4.0), dict(scaling="linear", factor=4.0)),
    (dict(rope_type="llama3", rope_theta=500000.0, factor=8.0, low_freq_factor=1.0, high_freq_factor=4.0,
          original_max_position_embeddings=16),
     dict(scaling="llama3", factor=8.0, low_freq_factor=1.0, high_freq_factor=4.0, original_context=16)),
])
def test_rope_frequencies_match_transformers(rope: dict, ours: dict) -> None:
    torch.testing.assert_close(rope_inv_freq(16, rope["rope_theta"], **ours), _hf_inv_freq(rope), rtol=1e-6, atol=0)


@pytest.mark.parametrize("seq_len", [40, 64, 200])
def test_dynamic_ntk_grows_theta_past_the_original_context(seq_len: int) -> None:
    rope = dict(rope_type="dynamic", rope_theta=10000.0, factor=2.0)
    want = _hf_inv_freq(rope, seq_len)
    got = rope_inv_freq(16, 10000.0, scaling="dynamic", factor=2.0, original_context=64, seq_len=seq_len)
    torch.testing.assert_close(got, want, rtol=1e-6, atol=0)
    rot = Rotary(16, 10000.0, scaling="dynamic", factor=2.0, original_context=64)
    cos, _ = rot(seq_len - 1, 1, torch.float32)  # the last position of a seq_len-token forward
    # (up to the original context transformers' dynamic frequencies are the default ones)
    torch.testing.assert_close(cos[0, :8], torch.cos((seq_len - 1) * want), rtol=1e-5, atol=1e-6)
    assert torch.equal(want, rope_inv_freq(16, 10000.0)) == (seq_len <= 64)


def test_partial_rotary_rotates_the_first_dims_only() -> None:
    rot = Rotary(16, 10000.0, rotary_dim=4)
    cos, sin = rot(3, 5, torch.float32)
    assert cos.shape == (5, 4)
    x = torch.randn(1, 2, 5, 16)
    y = apply_rotary(x, cos, sin)
    assert torch.equal(y[..., 4:], x[..., 4:]) and not torch.allclose(y[..., :4], x[..., :4])
    # norms of each rotated pair are kept
    torch.testing.assert_close(y[..., :4].norm(dim=-1), x[..., :4].norm(dim=-1))
    with pytest.raises(ValueError, match="rotary_dim"):
        Rotary(16, rotary_dim=5)


def test_rotary_frequencies_stay_float32_when_the_model_is_cast() -> None:
    rot = Rotary(8, 1e6).half()
    assert rot.inv_freq.dtype == torch.float32


def test_rmsnorm_matches_transformers() -> None:
    from transformers.models.llama.modeling_llama import LlamaRMSNorm

    ours, ref = RMSNorm(32, 1e-6), LlamaRMSNorm(32, eps=1e-6)
    with torch.no_grad():
        ours.weight.normal_()
        ref.weight.copy_(ours.weight)
    x = torch.randn(2, 5, 32)
    torch.testing.assert_close(ours(x), ref(x))
    torch.testing.assert_close(ours.to(torch.bfloat16)(x.bfloat16()).float(), ref.to(torch.bfloat16)(x.bfloat16()).float())


def test_gated_mlps() -> None:
    torch.manual_seed(0)
    x = torch.randn(2, 3, 8)
    swiglu, geglu = SwiGLU(8, 16), GeGLU(8, 16)
    torch.testing.assert_close(swiglu(x), swiglu.down_proj(F.silu(swiglu.gate_proj(x)) * swiglu.up_proj(x)))
    torch.testing.assert_close(geglu(x), geglu.down_proj(F.gelu(geglu.gate_proj(x), approximate="tanh")
                                                         * geglu.up_proj(x)))
    assert GatedMLP(8, 16, bias=True).up_proj.bias is not None
    with pytest.raises(ValueError, match="activation"):
        GatedMLP(8, 16, "relu6")


@settings(max_examples=15, deadline=None)
@given(n_kv=st.sampled_from([1, 2, 4]), split=st.integers(1, 8), qkv_bias=st.booleans())
def test_gqa_through_the_cache_equals_one_forward(n_kv: int, split: int, qkv_bias: bool) -> None:
    torch.manual_seed(0)
    attn = GroupedQueryAttention(16, 4, n_kv, 8, 0, qkv_bias=qkv_bias).eval()
    rot = Rotary(8, 10000.0)
    x = torch.randn(2, 9, 16)
    with torch.no_grad():
        full = attn(x, *rot(0, 9, x.dtype))
        cache = KVCache()
        parts = [attn(x[:, a:b], *rot(a, b - a, x.dtype), cache) for a, b in ((0, split), (split, 9)) if b > a]
    torch.testing.assert_close(torch.cat(parts, dim=1), full, rtol=0, atol=1e-5)
    assert cache._k[0].shape[1] == n_kv  # the cache stores the H_kv heads, not repeated ones


def test_gqa_refuses_heads_that_do_not_group() -> None:
    with pytest.raises(ValueError, match="multiple of n_kv_heads"):
        GroupedQueryAttention(16, 4, 3, 4, 0)
