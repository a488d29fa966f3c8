"""The textbook GPTModel loader: parity with llms-from-scratch, config inference, errors."""

from __future__ import annotations

import pytest
import torch
from safetensors.torch import save_file

from gptcore.platform import registry
from gptcore.kit import testing

llms = pytest.importorskip("llms_from_scratch.ch04", reason="llms-from-scratch is not installed")


def textbook_model(qkv_bias: bool, seed: int = 0):
    torch.manual_seed(seed)
    cfg = dict(vocab_size=50, context_length=16, emb_dim=32, n_heads=4, n_layers=2, drop_rate=0.0, qkv_bias=qkv_bias)
    return llms.GPTModel(cfg).eval()


@pytest.mark.parametrize("suffix", [".pth", ".safetensors"])
@pytest.mark.parametrize("qkv_bias", [True, False])
def test_textbook_logits_match(tmp_path, suffix, qkv_bias):
    ref = textbook_model(qkv_bias)
    path = tmp_path / f"model{suffix}"
    state = {k: v.contiguous() for k, v in ref.state_dict().items()}
    torch.save(state, path) if suffix == ".pth" else save_file(state, str(path))
    assert registry.detect_loader(path).name == "textbook-gpt"
    ours = registry.load_model(path, n_heads=4).model
    assert ours.config.qkv_bias is qkv_bias and ours.config.tie_weights is False
    ids = torch.randint(0, 50, (2, 16))
    with torch.no_grad():
        assert (ours(ids) - ref(ids)).abs().max() <= 1e-5


def test_textbook_errors(tmp_path):
    ref = textbook_model(False)
    path = tmp_path / "model.safetensors"
    save_file({k: v.contiguous() for k, v in ref.state_dict().items()}, str(path))
    testing.check_loader_missing_path("textbook-gpt", tmp_path)
    testing.check_loader_corrupt_file("textbook-gpt", path, None, tmp_path)
    testing.check_loader_shape_mismatch("textbook-gpt", path, None, "trf_blocks.1.ff.layers.0.weight", tmp_path)
    state = {k: v.contiguous() for k, v in ref.state_dict().items() if k != "trf_blocks.0.norm2.shift"}
    save_file(state, str(tmp_path / "missing.safetensors"))
    with pytest.raises(registry.GptcoreError) as info:
        registry.load_model(tmp_path / "missing.safetensors", loader="textbook-gpt")
    testing.assert_one_line_error(info.value, "trf_blocks.0.norm2.shift", "missing.safetensors")
