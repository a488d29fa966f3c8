"""Checkpoints: bit-for-bit round trip, tied weights, torch.compile names, atomicity, bad files."""

from __future__ import annotations

import json
import os
import random
import shutil

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from safetensors import safe_open

from gptcore.runs import checkpoint as ck
from gptcore.platform import registry
from gptcore.kit import testing
from gptcore.errors import GptcoreError

TINY = dict(vocab_size=61, context_length=16, emb_dim=16, n_layers=2, n_heads=2)


def trained(tmp_path):
    model = testing.build_tiny("gpt2", TINY)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-2)
    model(torch.randint(0, 61, (2, 8))).mean().backward()
    opt.step()
    return model, opt


def test_round_trip_bit_for_bit_with_optimizer_and_rng(tmp_path):
    model, opt = trained(tmp_path)
    torch.manual_seed(42)
    random.seed(42)
    np.random.seed(42)
    path = ck.save_checkpoint(tmp_path / "c", model, opt, step=7, vocabulary="/v/tokenizer.json")
    expected = (torch.rand(3), random.random(), np.random.rand())
    torch.manual_seed(0)
    random.seed(0)
    np.random.seed(0)
    loaded = ck.load_checkpoint(path)
    ck.restore_rng(loaded.rng)
    assert (torch.rand(3).tolist(), random.random(), np.random.rand()) == (expected[0].tolist(), *expected[1:])
    assert loaded.step == 7 and loaded.vocabulary == "/v/tokenizer.json"
    for name, value in model.state_dict().items():
        assert torch.equal(value, loaded.model.state_dict()[name])
    assert loaded.model.lm_head.weight is loaded.model.tok_emb.weight
    opt2 = torch.optim.AdamW(loaded.model.parameters(), lr=1e-2)
    opt2.load_state_dict(loaded.optimizer_state)
    for idx, slots in opt.state_dict()["state"].items():
        for key, value in slots.items():
            assert torch.equal(value, opt2.state_dict()["state"][idx][key])
    assert sorted(os.listdir(path)) == ["checkpoint.json", "model.safetensors", "optimizer.safetensors"]
    assert registry.detect_loader(path).name == "gptcore-checkpoint"


def test_tied_weight_stored_once_and_no_compile_prefix(tmp_path):
    model, _ = trained(tmp_path)
    compiled = torch.compile(model)  # not run: only its state_dict names matter
    assert any(k.startswith("_orig_mod.") for k in compiled.state_dict())
    path = ck.save_checkpoint(tmp_path / "c", compiled)
    with safe_open(str(path / "model.safetensors"), "pt") as f:
        names = set(f.keys())
    assert "tok_emb.weight" in names and "lm_head.weight" not in names
    assert not any("_orig_mod" in n for n in names)
    meta = json.loads((path / "checkpoint.json").read_text())
    assert meta["tied"] == {"lm_head.weight": "tok_emb.weight"} and meta["architecture"] == "gpt2"
    assert meta["config"] == {**meta["config"], **TINY}


def test_crash_during_save_keeps_last_good_checkpoint(tmp_path, monkeypatch):
    model, opt = trained(tmp_path)
    good = ck.save_checkpoint(tmp_path / "c", model, opt, step=1)
    before = {f: (good / f).read_bytes() for f in os.listdir(good)}

    def crash(*args, **kwargs):
        raise KeyboardInterrupt("power cut")

    monkeypatch.setattr(ck, "save_file", crash)
    with pytest.raises(KeyboardInterrupt):
        ck.save_checkpoint(tmp_path / "c", model, opt, step=2)
    assert {f: (good / f).read_bytes() for f in os.listdir(good)} == before
    assert os.listdir(tmp_path) == ["c"]  # no temporary leftovers
    monkeypatch.undo()
    ck.save_checkpoint(tmp_path / "c", model, opt, step=3)  # overwriting works
    assert ck.load_checkpoint(tmp_path / "c").step == 3 and os.listdir(tmp_path) == ["c"]


@pytest.mark.parametrize("damage", ["truncate", "garbage", "shape", "missing", "json"])
def test_damaged_checkpoints_give_one_line_errors(tmp_path, damage):
    from safetensors.torch import load_file, save_file

    model, opt = trained(tmp_path)
    path = ck.save_checkpoint(tmp_path / "c", model, opt)
    weights = path / "model.safetensors"
    needles = [str(weights)]
    if damage == "truncate":
        weights.write_bytes(weights.read_bytes()[:-100])
    elif damage == "garbage":
        weights.write_bytes(b"\xff" * 20)
    elif damage == "shape":
        t = load_file(str(weights))
        t["blocks.1.mlp.fc.weight"] = torch.zeros(63, 16)
        save_file(t, str(weights))
        needles += ["blocks.1.mlp.fc.weight", "(63, 16)", "(64, 16)"]
        meta = json.loads((path / "checkpoint.json").read_text())
        del meta["files"]  # as written before files were recorded: the tensors themselves are checked
        (path / "checkpoint.json").write_text(json.dumps(meta))
    elif damage == "missing":
        weights.unlink()
    else:
        (path / "checkpoint.json").write_text("{not json")
        needles = [str(path / "checkpoint.json")]
    with pytest.raises(registry.GptcoreError) as info:
        registry.load_model(path, loader="gptcore-checkpoint")
    testing.assert_one_line_error(info.value, *needles)


def test_a_file_copied_in_from_another_step_is_refused_naming_it(tmp_path):
    model, opt = trained(tmp_path)
    old = ck.save_checkpoint(tmp_path / "step-1", model, opt, step=1)
    with torch.no_grad():
        next(model.parameters()).add_(1.0)
    new = ck.save_checkpoint(tmp_path / "step-2", model, opt, step=2)
    meta = json.loads((new / "checkpoint.json").read_text())
    assert meta["files"]["model.safetensors"]["bytes"] == (new / "model.safetensors").stat().st_size
    assert len(meta["files"]["model.safetensors"]["sha256"]) == 64 and "optimizer.safetensors" in meta["files"]
    shutil.copy(old / "model.safetensors", new / "model.safetensors")  # same size, other content
    with pytest.raises(registry.GptcoreError) as info:
        ck.load_checkpoint(new)
    testing.assert_one_line_error(info.value, str(new / "model.safetensors"), "sha256 differs")
    with pytest.raises(registry.GptcoreError, match="model.safetensors"):
        registry.load_model(new, loader="gptcore-checkpoint")  # the loaders check it too
    shutil.copy(old / "optimizer.safetensors", new / "optimizer.safetensors")
    shutil.copy(tmp_path / "step-1" / "model.safetensors", tmp_path / "kept")
    ck.save_checkpoint(new, model, opt, step=2)  # a rewrite records the files again
    assert ck.load_checkpoint(new).step == 2


JSON_VALUES = st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
                           lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner,
                                                                                       max_size=4),
                           max_leaves=12)


@settings(max_examples=200, deadline=None)
@given(part=st.sampled_from(["torch", "python", "numpy", "cuda"]), value=JSON_VALUES)
def test_any_json_in_an_rng_state_part_is_accepted_or_one_line(part, value):
    """Whatever a damaged checkpoint.json holds in an RNG part: a GptcoreError naming the part, or
    a state that restores; never another exception, and the live generators untouched on error."""
    state = ck.rng_state()
    state[part] = value
    before = torch.get_rng_state()
    try:
        ck.check_rng(state)
    except GptcoreError as exc:
        assert f'RNG state "{part}"' in str(exc) and "\n" not in str(exc)
        assert torch.equal(torch.get_rng_state(), before)
    else:
        ck.restore_rng(state)
