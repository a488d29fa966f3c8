"""gptcore.models.gpt2.hf: parity with transformers' GPT2LMHeadModel and the hf-gpt2 loader's errors."""

from __future__ import annotations

import pytest
import torch
import transformers

from gptcore.platform import registry
from gptcore.kit import testing
from gptcore.generation.decoding import GenerationConfig, generate_ids
from gptcore.generation.sampling import SamplingConfig
from tests.conftest import needs_gpt2
from tests.gptcore.helpers import save_hf_gpt2


PARITY_CONFIGS = [
    dict(n_embd=48, n_layer=2, n_head=4, n_positions=32, vocab_size=97),
    dict(n_embd=64, n_layer=3, n_head=8, n_positions=40, vocab_size=131, tie_word_embeddings=False),
    dict(n_embd=32, n_layer=1, n_head=2, n_positions=24, vocab_size=50, activation_function="gelu",
         layer_norm_epsilon=1e-6),
]


@pytest.mark.parametrize("hf_config", PARITY_CONFIGS)
@pytest.mark.parametrize("safe", [True, False])
def test_logits_and_greedy_parity_with_transformers(tmp_path, hf_config, safe):
    path = save_hf_gpt2(tmp_path / "m", seed=len(hf_config), safe=safe, **hf_config)
    ref = transformers.GPT2LMHeadModel.from_pretrained(str(path)).eval()
    ours = registry.load_model(path).model
    assert registry.detect_loader(path).name == "hf-gpt2"
    ids = torch.randint(0, hf_config["vocab_size"], (3, hf_config["n_positions"]),
                        generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        diff = (ours(ids) - ref(ids).logits).abs().max().item()
    assert diff <= 1e-5
    prompt = ids[:1, :5]
    n_new = hf_config["n_positions"] - 5
    with torch.no_grad():
        hf_ids = ref.generate(prompt, max_new_tokens=n_new, min_new_tokens=n_new, do_sample=False,
                              pad_token_id=0, eos_token_id=None)
    ours_ids = generate_ids(ours, prompt.tolist(), GenerationConfig(n_new, SamplingConfig(temperature=0)))
    assert ours_ids[0] == hf_ids[0, 5:].tolist()


def test_hf_loader_reads_gpt2model_layout_without_prefix(tmp_path):
    """OpenAI's hub upload is a GPT2Model: no ``transformer.`` prefix and attn.bias buffers."""
    from safetensors.torch import load_file, save_file

    path = save_hf_gpt2(tmp_path / "m")
    tensors = load_file(str(path / "model.safetensors"))
    bare = {k.removeprefix("transformer."): v for k, v in tensors.items() if k != "lm_head.weight"}
    bare["h.0.attn.bias"] = torch.tril(torch.ones(1, 1, 32, 32))
    save_file(bare, str(path / "model.safetensors"))
    ref = transformers.GPT2LMHeadModel.from_pretrained(str(tmp_path / "m")).eval()
    ours = registry.load_model(path).model
    ids = torch.arange(20)[None] % 97
    with torch.no_grad():
        assert (ours(ids) - ref(ids).logits).abs().max() <= 1e-5


def test_hf_loader_errors(tmp_path, hf_dir):
    testing.check_loader_missing_path("hf-gpt2", tmp_path)
    testing.check_loader_corrupt_file("hf-gpt2", hf_dir, "model.safetensors", tmp_path)
    testing.check_loader_shape_mismatch("hf-gpt2", hf_dir, "model.safetensors",
                                        "transformer.h.1.ln_2.weight", tmp_path)
    testing.check_loader_shape_mismatch("hf-gpt2", hf_dir, "model.safetensors",
                                        "transformer.h.0.mlp.c_fc.weight", tmp_path / "t2")


def test_hf_loader_missing_weights_and_keys(tmp_path, hf_dir):
    import shutil

    from safetensors.torch import load_file, save_file

    empty = tmp_path / "noweights"
    empty.mkdir()
    shutil.copy(hf_dir / "config.json", empty / "config.json")
    with pytest.raises(registry.GptcoreError) as info:
        registry.load_model(empty)
    testing.assert_one_line_error(info.value, str(empty / "model.safetensors"))
    missing = tmp_path / "missing"
    shutil.copytree(hf_dir, missing)
    tensors = load_file(str(missing / "model.safetensors"))
    del tensors["transformer.h.1.attn.c_proj.bias"]
    save_file(tensors, str(missing / "model.safetensors"))
    with pytest.raises(registry.GptcoreError) as info:
        registry.load_model(missing)
    testing.assert_one_line_error(info.value, "h.1.attn.c_proj.bias", "missing tensor")


def test_pytorch_bin_is_loaded_without_unpickling_code(tmp_path, hf_dir):
    import pickle
    import shutil

    evil = tmp_path / "evil"
    shutil.copytree(hf_dir, evil, ignore=shutil.ignore_patterns("model.safetensors"))
    marker = tmp_path / "pwned"

    class Payload:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    (evil / "pytorch_model.bin").write_bytes(pickle.dumps({"wte.weight": Payload()}))
    with pytest.raises(registry.GptcoreError) as info:
        registry.load_model(evil)
    testing.assert_one_line_error(info.value, "weights_only=True", str(evil / "pytorch_model.bin"))
    assert not marker.exists()


@needs_gpt2
def test_padded_hf_directory_generates_with_the_gpt2_tokenizer(tmp_path):
    """nanoGPT / Pythia-style padding: 50304 embedding rows for GPT-2's 50257-token tokenizer."""
    from click.testing import CliRunner

    from gptcore.cli import main

    path = tmp_path / "padded"
    save_hf_gpt2(path, vocab_size=50304, n_embd=16, n_layer=1, n_head=2, n_positions=32)
    ref = transformers.GPT2LMHeadModel.from_pretrained(str(path)).eval()
    with torch.no_grad():  # make the padding rows win every unmasked argmax
        ref.transformer.ln_f.weight.zero_()
        ref.transformer.ln_f.bias.fill_(1.0)
        ref.transformer.wte.weight[50257:] = 1.0
    ref.save_pretrained(str(path))
    prompt = "Every effort moves you"
    with torch.no_grad():
        unmasked = ref.generate(torch.tensor([[8]]), max_new_tokens=4, do_sample=False, pad_token_id=0)
    assert (unmasked[0, 1:] >= 50257).all()  # what a model without the mask would emit
    result = CliRunner().invoke(main, ["generate", str(path), "--tokenizer", "gpt2", "--prompt", prompt,
                                       "--greedy", "--max-new-tokens", "6"])
    assert result.exit_code == 0, result.output
    assert "50304 embedding rows for a 50257-token tokenizer" in result.stderr
    assert result.stdout.startswith(prompt) and "\ufffd" not in result.stdout
    sampled = CliRunner().invoke(main, ["generate", str(path), "--tokenizer", "gpt2", "--prompt", prompt,
                                        "--temperature", "1.5", "--seed", "0", "--max-new-tokens", "20"])
    assert sampled.exit_code == 0, sampled.output


def test_hf_loader_and_exporter_pass_the_kit(hf_dir, tmp_path):
    testing.check_loader("hf-gpt2", hf_dir)
    testing.check_detect_rejects("hf-gpt2", tmp_path)
    testing.check_exporter_roundtrip("gpt2", "hf", "hf-gpt2", dict(vocab_size=50, context_length=16, emb_dim=16,
                                                                   n_layers=2, n_heads=2, tie_weights=False), tmp_path)


def test_sharded_hf_directory_names_each_tensors_shard(tmp_path, hf_dir):
    """read_hf_weights (gptcore.platform.hf) reads a sharded index; a bad shape names its shard."""
    import json

    from safetensors.torch import load_file, save_file

    sharded = tmp_path / "sharded"
    sharded.mkdir()
    (sharded / "config.json").write_text((hf_dir / "config.json").read_text())
    tensors = load_file(str(hf_dir / "model.safetensors"))
    names = sorted(tensors)
    halves = {"model-00001-of-00002.safetensors": names[::2], "model-00002-of-00002.safetensors": names[1::2]}
    for shard, keys in halves.items():
        save_file({k: tensors[k] for k in keys}, str(sharded / shard))
    weight_map = {k: shard for shard, keys in halves.items() for k in keys}
    (sharded / "model.safetensors.index.json").write_text(json.dumps({"weight_map": weight_map}))
    ref = registry.load_model(hf_dir).model
    ours = registry.load_model(sharded).model
    ids = torch.arange(10)[None]
    with torch.no_grad():
        assert torch.equal(ref(ids), ours(ids))
    victim = "transformer.h.1.ln_2.weight"
    shard = weight_map[victim]
    part = load_file(str(sharded / shard))
    part[victim] = torch.zeros(7)
    save_file(part, str(sharded / shard))
    with pytest.raises(registry.GptcoreError) as info:
        registry.load_model(sharded)
    testing.assert_one_line_error(info.value, victim, str(sharded / shard), "(7,)")
