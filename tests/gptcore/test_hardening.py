"""Faults and garbage for gptcore's writers and readers: a kill at every step of a checkpoint
swap, a full disk during a checkpoint save, and hypothesis-generated checkpoint.json /
config.json contents. Only GptcoreError (or TokenkitError) ever comes out."""

from __future__ import annotations

import json
import math
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from safetensors import SafetensorError
from tokenkit import TokenkitError

import gptcore.runs.checkpoint as checkpoint_mod
from gptcore.kit import testing
from gptcore.runs.checkpoint import load_checkpoint, save_checkpoint
from gptcore.errors import GptcoreError
from gptcore.models.gpt2.model import GPT2Config
from gptcore.platform.registry import load_model
from gptcore.generation.sampling import SamplingConfig

from tests.disk import snapshot
from tests.gptcore.helpers import save_hf_gpt2

TINY = dict(vocab_size=64, context_length=16, emb_dim=16, n_layers=1, n_heads=2)
JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12),
                    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                                                 max_size=4),
                    max_leaves=12)
NUMBERS = st.one_of(st.integers(-5, 10 ** 13), st.floats(allow_nan=True), st.text(max_size=3),
                    st.booleans(), st.none())


def tiny(seed: int = 0):
    return testing.build_tiny("gpt2", TINY, seed=seed)


def listing(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir())


CHILD = textwrap.dedent("""
    import os, sys
    from gptcore.kit import testing
    from gptcore.runs.checkpoint import save_checkpoint
    target, k = sys.argv[1], int(sys.argv[2])
    model = testing.build_tiny("gpt2", dict(vocab_size=64, context_length=16, emb_dim=16, n_layers=1,
                                            n_heads=2), seed=1)
    from tests.killswitch import die_at_kth_replace
    die_at_kth_replace(k)
    if k == 0:
        import gptcore.runs.checkpoint as c
        c.save_file = lambda *a, **kw: os._exit(9)
    save_checkpoint(target, model, step=2)
    """)


@pytest.mark.parametrize("kill_at", [0, 1, 2, 3, 4])
def test_kill_at_each_step_of_a_checkpoint_save_is_read_by_the_next_load_and_cleared_by_the_next_save(
        tmp_path: Path, kill_at: int) -> None:
    target = save_checkpoint(tmp_path / "ckpt", tiny(0), step=1)
    proc = subprocess.run([sys.executable, "-c", CHILD, str(target), str(kill_at)])
    died = proc.returncode == 9
    before = snapshot(tmp_path)
    loaded = load_checkpoint(target)
    assert snapshot(tmp_path) == before  # a reader never renames or deletes (the writer may be alive)
    assert loaded.step == (1 if died and kill_at in (0, 1) else 2)
    expected = tiny(0 if loaded.step == 1 else 1)
    for (name, a), b in zip(loaded.model.state_dict().items(), expected.state_dict().values()):
        assert torch.equal(a, b), name
    save_checkpoint(target, tiny(2), step=3)  # the next writer finishes or clears the dead one's work
    assert listing(tmp_path) == ["ckpt"] and load_checkpoint(target).step == 3


def test_full_disk_during_a_checkpoint_save_is_one_line_and_keeps_the_old(tmp_path: Path,
                                                                          monkeypatch) -> None:
    target = save_checkpoint(tmp_path / "ckpt", tiny(0), step=1)

    def full(tensors, path, metadata=None):
        Path(path).write_bytes(b"partial")
        raise SafetensorError('Error while serializing: IoError(Os { code: 28, kind: StorageFull, '
                              'message: "No space left on device" })')

    monkeypatch.setattr(checkpoint_mod, "save_file", full)
    with pytest.raises(TokenkitError) as info:
        save_checkpoint(target, tiny(1), step=2)
    assert str(info.value) == f"cannot write output {target}: No space left on device"
    monkeypatch.undo()
    assert load_checkpoint(target).step == 1 and listing(tmp_path) == ["ckpt"]


@pytest.fixture(scope="module")
def good_ckpt(tmp_path_factory) -> Path:
    return save_checkpoint(tmp_path_factory.mktemp("c") / "ckpt", tiny(0), step=1)


@pytest.fixture(scope="module")
def good_hf(tmp_path_factory) -> Path:
    return save_hf_gpt2(tmp_path_factory.mktemp("h") / "hf", vocab_size=64, n_positions=16, n_embd=16,
                        n_layer=1, n_head=2)


def _meta_variants(meta: dict) -> st.SearchStrategy[object]:
    config_keys = list(meta["config"])
    return st.one_of(
        JSON,
        st.builds(lambda k, v: {**meta, k: v}, st.sampled_from(sorted(meta)), JSON),
        st.builds(lambda k, v: {**meta, "config": {**meta["config"], k: v}},
                  st.sampled_from(config_keys + ["extra_field"]), NUMBERS),
    )


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_garbage_checkpoint_meta_only_raises_gptcore_errors(good_ckpt, tmp_path_factory, data) -> None:
    meta = json.loads((good_ckpt / "checkpoint.json").read_text())
    bad = data.draw(_meta_variants(meta))
    directory = tmp_path_factory.mktemp("g") / "ckpt"
    shutil.copytree(good_ckpt, directory)
    (directory / "checkpoint.json").write_text(json.dumps(bad))
    try:
        load_model(directory)
    except (GptcoreError, TokenkitError):
        pass


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_garbage_hf_config_only_raises_gptcore_errors(good_hf, tmp_path_factory, data) -> None:
    config = json.loads((good_hf / "config.json").read_text())
    keys = ["n_embd", "n_positions", "n_layer", "n_head", "vocab_size", "resid_pdrop",
            "layer_norm_epsilon", "tie_word_embeddings", "activation_function", "n_inner", "model_type"]
    bad = data.draw(st.one_of(JSON, st.builds(lambda k, v: {**config, k: v}, st.sampled_from(keys), NUMBERS)))
    directory = tmp_path_factory.mktemp("h") / "hf"
    shutil.copytree(good_hf, directory)
    (directory / "config.json").write_text(json.dumps(bad))
    try:
        load_model(directory, "hf-gpt2")
    except (GptcoreError, TokenkitError):
        pass


@settings(max_examples=300, deadline=None)
@given(values=st.dictionaries(st.sampled_from(sorted(TINY) + ["dropout", "layer_norm_eps", "tie_weights"]),
                              NUMBERS, max_size=3))
def test_gpt2_config_refuses_bad_values_before_building(values) -> None:
    try:
        cfg = GPT2Config(**{**TINY, **values})
    except ValueError as exc:
        assert isinstance(exc, GptcoreError) or "divisible" in str(exc)
        return
    assert all(type(getattr(cfg, k)) is int for k in TINY) and math.isfinite(cfg.dropout)


@settings(max_examples=200, deadline=None)
@given(temperature=st.floats(allow_nan=True), top_p=st.none() | st.floats(allow_nan=True))
def test_sampling_config_accepts_only_finite_values(temperature, top_p) -> None:
    try:
        cfg = SamplingConfig(temperature=temperature, top_p=top_p)
    except ValueError:
        return
    assert math.isfinite(cfg.temperature) and cfg.temperature >= 0
    assert cfg.top_p is None or 0 <= cfg.top_p <= 1
