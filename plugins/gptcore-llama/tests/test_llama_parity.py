"""Parity with transformers: same logits (max abs diff <= 1e-4) and same greedy tokens."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

transformers = pytest.importorskip("transformers")

from gptcore.generation.decoding import GenerationConfig, generate_ids
from gptcore.platform.registry import detect_loader, load_model
from gptcore.generation.sampling import SamplingConfig

from llama_hf_helpers import make_hf_llama

ATOL = 1e-4

CASES = {
    "gqa": {},
    "mha-tied": dict(num_key_value_heads=4, tie_word_embeddings=True, rope_theta=10000.0),
    "mqa-headdim": dict(num_key_value_heads=1, head_dim=16, rope_theta=500000.0),
    "llama3-rope": dict(rope_theta=500000.0, max_position_embeddings=64,
                        rope_extra=dict(rope_type="llama3", factor=8.0, low_freq_factor=1.0,
                                        high_freq_factor=4.0, original_max_position_embeddings=16)),
}


def _hf_greedy(model, ids: torch.Tensor, n: int) -> list[int]:
    out = model.generate(ids, max_new_tokens=n, do_sample=False, min_new_tokens=n,
                         pad_token_id=0, eos_token_id=None)
    return out[0, ids.shape[1]:].tolist()


@pytest.mark.parametrize("case", sorted(CASES))
def test_logits_and_greedy_match_transformers(case: str, tmp_path: Path) -> None:
    hf = make_hf_llama(tmp_path, seed=len(case), **CASES[case])
    assert detect_loader(tmp_path).name == "hf-llama"
    result = load_model(tmp_path)
    ours = result.model
    assert result.architecture == "llama"
    ids = torch.randint(0, 97, (2, 40), generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        want = hf(ids).logits
        got = ours(ids)
    assert (got - want).abs().max().item() <= ATOL
    prompt = [5, 17, 42, 3]
    want_tokens = _hf_greedy(hf, torch.tensor([prompt]), 12)
    got_tokens = generate_ids(ours, [prompt], GenerationConfig(12, SamplingConfig(temperature=0.0)))[0]
    assert got_tokens == want_tokens


def test_tied_config_is_read(tmp_path: Path) -> None:
    make_hf_llama(tmp_path, tie_word_embeddings=True)
    model = load_model(tmp_path).model
    assert model.config.tie_weights and model.lm_head.weight is model.tok_emb.weight


def test_sharded_checkpoint(tmp_path: Path) -> None:
    hf = make_hf_llama(tmp_path / "src")
    hf.save_pretrained(tmp_path / "sharded", max_shard_size="20KB", safe_serialization=True)
    assert (tmp_path / "sharded" / "model.safetensors.index.json").is_file()
    ids = torch.tensor([[1, 2, 3, 4, 5]])
    with torch.no_grad():
        assert (load_model(tmp_path / "sharded").model(ids) - hf(ids).logits).abs().max() <= ATOL


def test_meta_qk_permutation_matches_rotate_half() -> None:
    """Interleaved (Meta/complex) RoPE on raw weights == rotate-half RoPE on permuted weights."""
    from gptcore_llama.model import LlamaConfig, permute_meta_qk, rope_inv_freq

    cfg = LlamaConfig(emb_dim=16, n_heads=2, hidden_dim=8, n_layers=1)
    torch.manual_seed(0)
    w = torch.randn(16, 16)
    x = torch.randn(5, 16)
    freqs = torch.outer(torch.arange(5.0), rope_inv_freq(cfg))  # [T, D/2]
    # Meta: pairs (2i, 2i+1) rotated as complex numbers.
    q = (x @ w.T).view(5, 2, 4, 2)
    qc = torch.view_as_complex(q.contiguous()) * torch.polar(torch.ones_like(freqs), freqs)[:, None]
    meta = torch.view_as_real(qc).reshape(5, 2, 8)
    # Ours: rotate-half on the permuted projection.
    from gptcore_llama.model import apply_rope

    qh = (x @ permute_meta_qk(w, 2).T).view(5, 2, 8).transpose(0, 1)
    emb = torch.cat((freqs, freqs), -1)
    ours = apply_rope(qh, emb.cos(), emb.sin()).transpose(0, 1)
    # Same values up to the within-head ordering that the permutation defines.
    perm = permute_meta_qk(torch.arange(16.0)[:, None], 2).view(2, 8).long() % 8
    torch.testing.assert_close(ours, meta[:, :, perm[0]], atol=1e-5, rtol=0)
