"""Parity with transformers' Qwen2ForCausalLM: logits within 1e-4 and identical greedy ids, for
every config branch the loader has (GQA/MHA/MQA, head_dim, tied/untied head, rope theta) and
every file layout (single safetensors, sharded index, pytorch_model.bin); and the exporter the
other way round."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

transformers = pytest.importorskip("transformers")

from gptcore.kit import testing
from gptcore.platform.registry import detect_loader, get_architecture, load_model

from qwen2_hf_helpers import TINY, TINY_HF, make_hf_qwen2

ATOL = 1e-4

CASES = {
    "gqa-untied": {},
    "mha-tied": dict(num_key_value_heads=4, tie_word_embeddings=True, rope_theta=10000.0),
    "mqa-headdim": dict(num_key_value_heads=1, head_dim=16, rope_theta=1000000.0),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_logits_and_greedy_ids_match_transformers(case: str, tmp_path: Path) -> None:
    result = testing.check_transformers_parity("Qwen2ForCausalLM", {**TINY_HF, **CASES[case]}, tmp_path,
                                               atol=ATOL, seed=len(case), expect_architecture="qwen2")
    assert result.model.config.tie_weights == bool(CASES[case].get("tie_word_embeddings", False))


@pytest.mark.parametrize("layout", ["sharded", "bin"])
def test_sharded_and_pickled_layouts(layout: str, tmp_path: Path) -> None:
    result = testing.check_transformers_parity("Qwen2ForCausalLM", TINY_HF, tmp_path, atol=ATOL, layout=layout)
    files = result.extra["source"]
    if layout == "sharded":
        assert isinstance(files, list) and len(files) > 1
    else:
        assert files.endswith("pytorch_model.bin")


def test_a_directory_is_detected_as_qwen2_only(hf_qwen2_dir: Path) -> None:
    assert detect_loader(hf_qwen2_dir).name == "hf-qwen2"


@pytest.mark.parametrize("variant", [{}, dict(tie_weights=True, n_kv_heads=1)])
def test_export_loads_in_transformers_with_the_same_logits(variant: dict, tmp_path: Path) -> None:
    model = testing.randomize_parameters(testing.build_tiny("qwen2", {**TINY, **variant}))
    out = tmp_path / "export"
    out.mkdir()
    get_architecture("qwen2").exporters["hf"](model, out)
    hf = transformers.Qwen2ForCausalLM.from_pretrained(out).eval()
    ids = torch.randint(0, 97, (2, 20), generator=torch.Generator().manual_seed(5))
    with torch.no_grad():
        want = model(ids)
        assert (hf(ids).logits - want).abs().max().item() <= ATOL
        back = load_model(out).model
        assert torch.equal(back(ids), want)
    assert back.config == model.config
