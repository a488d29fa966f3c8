"""gptcore's plugin test kit on the qwen2 architecture and the hf-qwen2 loader, its errors,
presets matching the published configs, and the command line."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from gptcore.kit import testing
from gptcore.platform.registry import GptcoreError, find_preset, get_architecture, load_model

from qwen2_hf_helpers import TINY


@pytest.mark.parametrize("variant", [{}, dict(tie_weights=True, n_kv_heads=4), dict(n_kv_heads=1, head_dim=16)])
def test_qwen2_passes_the_kit(variant: dict, tmp_path: Path) -> None:
    testing.check_architecture("qwen2", {**TINY, **variant}, tmp_path)


def test_every_config_field_the_model_reads_changes_the_logits() -> None:
    testing.check_config_sensitivity("qwen2", TINY)


def test_loader_and_exporter_pass_the_kit(hf_qwen2_dir: Path, tmp_path: Path) -> None:
    testing.check_loader("hf-qwen2", hf_qwen2_dir)
    testing.check_detect_rejects("hf-qwen2", tmp_path)
    for variant in ({}, dict(tie_weights=True)):
        testing.check_exporter_roundtrip("qwen2", "hf", "hf-qwen2", {**TINY, **variant}, tmp_path, atol=1e-4)
    testing.check_loader_overrides("hf-qwen2", hf_qwen2_dir)
    testing.check_preset_names("qwen2")


def test_loader_error_messages(hf_qwen2_dir: Path, tmp_path: Path) -> None:
    testing.check_loader_missing_path("hf-qwen2", tmp_path)
    testing.check_loader_corrupt_file("hf-qwen2", hf_qwen2_dir, "model.safetensors", tmp_path)
    testing.check_loader_shape_mismatch("hf-qwen2", hf_qwen2_dir, "model.safetensors",
                                        "model.layers.0.self_attn.k_proj.bias", tmp_path)


def _edit_config(src: Path, dst: Path, **changes: object) -> Path:
    shutil.copytree(src, dst)
    cfg = json.loads((dst / "config.json").read_text())
    cfg.update(changes)
    (dst / "config.json").write_text(json.dumps(cfg))
    return dst


@pytest.mark.parametrize("change, needle", [
    (dict(use_sliding_window=True, sliding_window=16), "sliding-window"),
    (dict(layer_types=["sliding_attention", "full_attention"]), "sliding-window"),
    (dict(hidden_act="gelu"), "hidden_act"),
    (dict(rope_parameters={"rope_type": "yarn", "rope_theta": 1e6, "factor": 4.0}), "yarn"),
])
def test_unsupported_config_is_one_line_error(hf_qwen2_dir: Path, tmp_path: Path, change: dict, needle: str) -> None:
    bad = _edit_config(hf_qwen2_dir, tmp_path / "bad", **change)
    with pytest.raises(GptcoreError) as info:
        load_model(bad)
    testing.assert_one_line_error(info.value, needle, str(bad / "config.json"))


def test_an_untied_head_is_never_dropped_by_set(hf_qwen2_dir: Path) -> None:
    with pytest.raises(GptcoreError) as info:
        load_model(hf_qwen2_dir, tie_weights="true")
    testing.assert_one_line_error(info.value, "tie_weights", "config.json")
    assert load_model(hf_qwen2_dir, context_length="16").model.config.context_length == 16


def test_presets_match_the_published_configs() -> None:
    arch = get_architecture("qwen2")
    cfg = arch.make_config("qwen2.5-0.5b")
    # Qwen/Qwen2.5-0.5B config.json: 896 hidden, 24 layers, 14 heads, 2 kv heads, 4864 inner, tied
    assert (cfg.emb_dim, cfg.n_layers, cfg.n_heads, cfg.n_kv_heads, cfg.hidden_dim, cfg.head_dim) == \
        (896, 24, 14, 2, 4864, 64)
    assert (cfg.vocab_size, cfg.rope_theta, cfg.rms_norm_eps, cfg.tie_weights) == (151936, 1e6, 1e-6, True)
    big = arch.make_config("qwen2.5-7b")
    assert (big.emb_dim, big.n_kv_heads, big.vocab_size, big.tie_weights) == (3584, 4, 152064, False)
    assert find_preset("qwen2.5-1.5b").name == "qwen2"


def test_cli_generates_from_a_hf_directory(hf_qwen2_dir: Path, tmp_path: Path) -> None:
    from gptcore.cli import main

    listed = CliRunner().invoke(main, ["list"])
    assert listed.exit_code == 0 and "hf-qwen2" in listed.output and "qwen2.5-0.5b" in listed.output
    out = tmp_path / "exported"
    done = CliRunner().invoke(main, ["export", str(hf_qwen2_dir), str(out), "--format", "hf"])
    assert done.exit_code == 0, done.output
    assert json.loads((out / "config.json").read_text())["model_type"] == "qwen2"
