"""gptcore's plugin test kit against the llama architecture (and built-in gpt2), the hf-llama
loader's errors, pretraining, checkpoints and export to the Hugging Face format."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from gptcore.kit import testing
from gptcore.runs.checkpoint import save_checkpoint
from gptcore.platform.registry import (
    GptcoreError, architecture_for, build_model, detect_loader, find_preset, get_architecture,
    load_model)

from llama_hf_helpers import TINY_GPTCORE, make_hf_llama


@pytest.mark.parametrize("variant", [
    {},
    dict(tie_weights=True, n_kv_heads=4),
    dict(n_kv_heads=1, head_dim=16, rope_scaling="llama3", rope_original_context=16),
])
def test_llama_passes_plugin_test_kit(variant: dict, tmp_path: Path) -> None:
    testing.check_architecture("llama", {**TINY_GPTCORE, **variant}, tmp_path)


def test_gpt2_passes_plugin_test_kit(tmp_path: Path) -> None:
    testing.check_architecture("gpt2", dict(vocab_size=97, context_length=32, emb_dim=32,
                                            n_layers=2, n_heads=4), tmp_path)


def test_presets_are_global_and_buildable() -> None:
    assert find_preset("llama-3.2-1b").name == "llama"
    cfg = get_architecture("llama").make_config("llama-3.2-1b")
    assert (cfg.emb_dim, cfg.n_layers, cfg.n_heads, cfg.n_kv_heads, cfg.head_dim) == (2048, 16, 32, 8, 64)
    tiny = build_model(preset="llama-tiny")
    assert architecture_for(tiny).name == "llama"
    testing.check_forward_shape(tiny)


def test_no_biases_and_gqa_shapes() -> None:
    model = testing.build_tiny("llama", TINY_GPTCORE)
    assert not any(n.endswith(".bias") for n, _ in model.named_parameters())
    attn = model.blocks[0].attn
    assert attn.k_proj.weight.shape == (2 * 8, 32) and attn.q_proj.weight.shape == (4 * 8, 32)


def test_bad_config_values() -> None:
    arch = get_architecture("llama")
    with pytest.raises(ValueError, match="multiple of n_kv_heads"):
        arch.make_config(None, **{**TINY_GPTCORE, "n_kv_heads": 3})
    with pytest.raises(ValueError, match="rope_scaling"):
        arch.make_config(None, **{**TINY_GPTCORE, "rope_scaling": "yarn"})


def test_pretrain_steps_lower_the_loss() -> None:
    model = testing.build_tiny("llama", TINY_GPTCORE).train()
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3)
    ids = torch.randint(0, 97, (4, 33), generator=torch.Generator().manual_seed(0))
    losses = []
    for _ in range(15):
        logits = model(ids[:, :-1])
        loss = F.cross_entropy(logits.reshape(-1, 97), ids[:, 1:].reshape(-1))
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < losses[0] - 0.5


# --------------------------------------------------------------------------------------------
# hf-llama loader
# --------------------------------------------------------------------------------------------


def test_loader_error_messages(hf_llama_dir: Path, tmp_path: Path) -> None:
    testing.check_loader_missing_path("hf-llama", tmp_path)
    testing.check_loader_corrupt_file("hf-llama", hf_llama_dir, "model.safetensors", tmp_path)
    testing.check_loader_shape_mismatch("hf-llama", hf_llama_dir, "model.safetensors",
                                        "model.norm.weight", tmp_path)


def _edit_config(src: Path, dst: Path, **changes: object) -> Path:
    shutil.copytree(src, dst)
    cfg = json.loads((dst / "config.json").read_text())
    cfg.update(changes)
    (dst / "config.json").write_text(json.dumps(cfg))
    return dst


@pytest.mark.parametrize("field, value", [
    ("n_layers", 1.5), ("n_layers", 0), ("emb_dim", "x"), ("hidden_dim", -1), ("vocab_size", True),
    ("n_kv_heads", 0), ("rope_theta", float("nan")), ("rms_norm_eps", 0.0), ("dropout", 1.0),
    ("tie_weights", "yes"), ("context_length", 10 ** 12),
])
def test_config_types_and_ranges_are_checked(field: str, value: object) -> None:
    """In the config itself, so every way of building one (a loader's config.json too) is covered."""
    config_class = get_architecture("llama").config_class
    with pytest.raises(ValueError, match=field):
        config_class(**{**TINY_GPTCORE, field: value})


def test_a_config_too_large_to_build_is_refused_before_allocating(hf_llama_dir: Path, tmp_path: Path) -> None:
    huge = _edit_config(hf_llama_dir, tmp_path / "huge", hidden_size=65536, intermediate_size=262144,
                        num_attention_heads=512, num_key_value_heads=512, num_hidden_layers=1024)
    with pytest.raises(GptcoreError) as info:
        load_model(huge, loader="hf-llama")
    testing.assert_one_line_error(info.value, "parameters")
    for preset in ("llama-tiny", "tinyllama-1.1b", "llama-3.2-1b"):  # the real ones stay buildable
        get_architecture("llama").make_config(preset)


@pytest.mark.parametrize("change, needle", [
    (dict(attention_bias=True), "attention_bias"),
    (dict(hidden_act="gelu"), "hidden_act"),
    (dict(rope_parameters={"rope_type": "yarn", "rope_theta": 1e4}), "yarn"),
])
def test_unsupported_config_is_one_line_error(hf_llama_dir: Path, tmp_path: Path, change: dict,
                                              needle: str) -> None:
    bad = _edit_config(hf_llama_dir, tmp_path / "bad", **change)
    with pytest.raises(GptcoreError) as info:
        load_model(bad, loader="hf-llama")
    testing.assert_one_line_error(info.value, needle, str(bad / "config.json"))


def test_missing_tensor_and_missing_weights(hf_llama_dir: Path, tmp_path: Path) -> None:
    from safetensors.torch import load_file, save_file

    copy = tmp_path / "missing"
    shutil.copytree(hf_llama_dir, copy)
    tensors = load_file(str(copy / "model.safetensors"))
    del tensors["model.layers.1.mlp.up_proj.weight"]
    save_file(tensors, str(copy / "model.safetensors"))
    with pytest.raises(GptcoreError) as info:
        load_model(copy)
    testing.assert_one_line_error(info.value, "model.layers.1.mlp.up_proj.weight")
    (copy / "model.safetensors").unlink()
    with pytest.raises(GptcoreError) as info:
        load_model(copy, loader="hf-llama")
    testing.assert_one_line_error(info.value, "model.safetensors")


def test_detect_ignores_other_formats(tmp_path: Path) -> None:
    from gptcore_llama.hf import detect

    assert not detect(tmp_path)
    (tmp_path / "config.json").write_text('{"model_type": "gpt2"}')
    assert not detect(tmp_path)
    (tmp_path / "config.json").write_text("not json")
    assert not detect(tmp_path)


def test_context_override(hf_llama_dir: Path) -> None:
    model = load_model(hf_llama_dir, context_length=16).model
    assert model.config.context_length == 16


# --------------------------------------------------------------------------------------------
# Checkpoints and export
# --------------------------------------------------------------------------------------------


def test_hf_model_through_gptcore_checkpoint(hf_llama_dir: Path, tmp_path: Path) -> None:
    model = load_model(hf_llama_dir).model
    path = save_checkpoint(tmp_path / "ckpt", model, step=5)
    assert detect_loader(path).name == "gptcore-checkpoint"
    loaded = load_model(path)
    assert loaded.architecture == "llama" and loaded.extra["step"] == 5
    ids = torch.tensor([[3, 1, 4, 1, 5, 9, 2, 6]])
    with torch.no_grad():
        assert torch.equal(loaded.model(ids), model(ids))


@pytest.mark.parametrize("variant", [{}, dict(tie_weights=True, rope_scaling="llama3",
                                              rope_original_context=16, rope_theta=500000.0)])
def test_export_hf_roundtrip(variant: dict, tmp_path: Path) -> None:
    transformers = pytest.importorskip("transformers")
    model = testing.build_tiny("llama", {**TINY_GPTCORE, **variant})
    out = tmp_path / "export"
    out.mkdir()
    get_architecture("llama").exporters["hf"](model, out)
    ids = torch.randint(0, 97, (2, 20), generator=torch.Generator().manual_seed(5))
    hf = transformers.LlamaForCausalLM.from_pretrained(out).eval()
    back = load_model(out).model
    with torch.no_grad():
        want = model(ids)
        assert (hf(ids).logits - want).abs().max().item() <= 1e-4
        assert torch.equal(back(ids), want)
    assert back.config == model.config


# --------------------------------------------------------------------------------------------
# Through the gptcore command line
# --------------------------------------------------------------------------------------------


def test_cli_list_and_export(hf_llama_dir: Path, tmp_path: Path) -> None:
    click_testing = pytest.importorskip("click.testing")
    from gptcore.cli import main

    if "export" not in getattr(main, "commands", {}):
        pytest.skip("gptcore export is not implemented yet")
    runner = click_testing.CliRunner()
    listed = runner.invoke(main, ["list"])
    assert listed.exit_code == 0, listed.output
    assert "llama" in listed.output and "hf-llama" in listed.output and "llama-3.2-1b" in listed.output
    out = tmp_path / "exported"
    result = runner.invoke(main, ["export", str(hf_llama_dir), str(out), "--format", "hf"])
    assert result.exit_code == 0, result.output
    ids = torch.tensor([[2, 7, 1, 8, 2, 8]])
    with torch.no_grad():
        assert torch.equal(load_model(out).model(ids), load_model(hf_llama_dir).model(ids))


def test_loader_and_exporter_pass_the_kit(hf_llama_dir: Path, tmp_path: Path) -> None:
    testing.check_loader("hf-llama", hf_llama_dir)
    testing.check_detect_rejects("hf-llama", tmp_path)
    testing.check_exporter_roundtrip("llama", "hf", "hf-llama", TINY_GPTCORE, tmp_path, atol=1e-4)
    testing.check_preset_names("llama")


@pytest.mark.parametrize("variant, ignore", [
    ({}, ("context_length", "dropout", "rope_factor", "rope_low_freq_factor", "rope_high_freq_factor",
          "rope_original_context")),
    (dict(rope_scaling="llama3", rope_original_context=16), ("context_length", "dropout")),
])
def test_every_config_field_the_model_reads_changes_the_logits(variant: dict, ignore: tuple) -> None:
    testing.check_config_sensitivity("llama", {**TINY_GPTCORE, **variant}, ignore=ignore)


def test_set_cannot_change_what_the_file_fixes(hf_llama_dir: Path) -> None:
    testing.check_loader_overrides("hf-llama", hf_llama_dir)
