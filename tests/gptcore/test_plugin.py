"""gptcore.plugin: the one namespace for plugin authors, and plugin API 1 compatibility.

Plugins written against the guide before gptcore.plugin existed import from
``gptcore.platform.registry`` and ``gptcore.platform.weights``; they must keep working unchanged (with a
DeprecationWarning for the moved names), installed like any distribution and run through the
contract test kit and the CLI.
"""

from __future__ import annotations

import importlib
import sys
import warnings

import pytest
import torch
from click.testing import CliRunner
from safetensors.torch import save_file

import gptcore.plugin as plugin
from gptcore.platform import registry
from gptcore.kit import testing
from gptcore.cli import main
from tests.gptcore.test_registry import install_fake_dist

# The minimal plugin of docs/plugins.md (plugin API 1 guide), verbatim.
BIGRAM_FROM_THE_GUIDE = '''
from dataclasses import dataclass

import torch
from torch import nn

from gptcore.platform.registry import Architecture, KVCache


@dataclass
class BigramConfig:
    vocab_size: int = 256
    context_length: int = 128


class Bigram(nn.Module):
    def __init__(self, config: BigramConfig) -> None:
        super().__init__()
        self.config = config
        self.table = nn.Embedding(config.vocab_size, config.vocab_size)

    def forward(self, input_ids: torch.Tensor, cache: KVCache | None = None) -> torch.Tensor:
        # A bigram only looks at the current token, so it needs no keys/values, but the cache
        # must still advance: gptcore (and the test kit) read positions from cache.seq_len.
        if cache is not None:
            ids = input_ids[:, None, :, None].float()  # [B, 1, T, 1]
            cache.update(0, ids, ids)
        return self.table(input_ids)


ARCHITECTURE = Architecture(
    name="bigram", config_class=BigramConfig, presets={"bigram-bytes": {"vocab_size": 256}},
    build=Bigram, description="bigram table (example plugin)", api_version=1)
'''

# A family with a weight loader, written against every old import path the guide named.
OLD_STYLE_FAMILY = '''
import json
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from gptcore.platform.registry import Architecture, GptcoreError, KVCache, LoadResult, Loader, PLUGIN_API_VERSION
from gptcore.platform.weights import assign, one_line, read_json, read_tensors, skip_init

assert PLUGIN_API_VERSION == 1


@dataclass
class LinearBigramConfig:
    vocab_size: int = 64
    context_length: int = 32
    emb_dim: int = 16


class LinearBigram(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.config = config
        self.emb = nn.Embedding(config.vocab_size, config.emb_dim)
        self.head = nn.Linear(config.emb_dim, config.vocab_size)

    def forward(self, input_ids, cache: KVCache | None = None):
        if cache is not None:
            x = input_ids[:, None, :, None].float()
            cache.update(0, x, x)
        return self.head(self.emb(input_ids))


ARCHITECTURE = Architecture(name="linear-bigram", config_class=LinearBigramConfig,
                            presets={"linear-bigram-tiny": {"emb_dim": 8}}, build=LinearBigram,
                            description="old-style plugin", api_version=1)


def detect(path: Path) -> bool:
    return (path / "linear_bigram.json").is_file()


def load(path: Path, overrides: dict) -> LoadResult:
    if not path.exists():
        raise GptcoreError(f"model path not found: {path}")
    cfg = LinearBigramConfig(**{**read_json(path / "linear_bigram.json"), **overrides})
    weights = path / "model.safetensors"
    tensors = read_tensors(weights)
    with skip_init():
        model = LinearBigram(cfg)
    assign(model, tensors, weights)
    return LoadResult(model.eval(), "linear-bigram")


LOADER = Loader(name="linear-bigram-dir", detect=detect, load=load, architectures=("linear-bigram",),
                description="old-style loader", api_version=1)
'''

ENTRY_POINTS = """
[gptcore.architectures]
bigram = old_bigram_plugin:ARCHITECTURE
linear-bigram = old_family_plugin:ARCHITECTURE
[gptcore.loaders]
linear-bigram-dir = old_family_plugin:LOADER
"""


@pytest.fixture
def old_plugins(tmp_path, monkeypatch):
    site = tmp_path / "site"
    site.mkdir()
    install_fake_dist(site, "old-bigram", "old_bigram_plugin", BIGRAM_FROM_THE_GUIDE, ENTRY_POINTS)
    (site / "old_family_plugin.py").write_text(OLD_STYLE_FAMILY)
    monkeypatch.syspath_prepend(str(site))
    for module in ("old_bigram_plugin", "old_family_plugin"):  # import afresh: each test sees the warnings
        monkeypatch.delitem(sys.modules, module, raising=False)
    registry.refresh()
    with pytest.warns(DeprecationWarning) as seen:
        assert not registry.architectures().problems and not registry.loaders().problems
    moved = {str(w.message).split()[0] for w in seen}
    assert {f"gptcore.platform.registry.{n}" for n in ("Architecture", "KVCache", "Loader", "LoadResult")} <= moved
    yield tmp_path
    registry.refresh()
    for module in ("old_bigram_plugin", "old_family_plugin"):
        sys.modules.pop(module, None)


def test_namespace_holds_what_a_plugin_needs():
    from gptcore import errors
    from gptcore.platform import interfaces, kvcache, protocol, weights

    assert plugin.Architecture is interfaces.Architecture and plugin.KVCache is kvcache.KVCache
    assert plugin.GptcoreError is errors.GptcoreError and plugin.LanguageModel is protocol.LanguageModel
    assert plugin.read_tensors is weights.read_tensors and plugin.PLUGIN_API_VERSION == 1
    assert set(plugin.__all__) <= set(dir(plugin))


def test_old_paths_are_the_same_objects_with_a_deprecation_warning():
    for name, new in (("Architecture", plugin.Architecture), ("Loader", plugin.Loader),
                      ("LoadResult", plugin.LoadResult), ("KVCache", plugin.KVCache)):
        with pytest.warns(DeprecationWarning, match=f"gptcore.platform.registry.{name} is deprecated"):
            assert getattr(registry, name) is new
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # names that did not move never warn
        assert registry.GptcoreError is plugin.GptcoreError and registry.PLUGIN_API_VERSION == 1
    for old, new in (("gptcore.loaders.hf_gpt2", "gptcore.models.gpt2.hf"),
                     ("gptcore.loaders.textbook", "gptcore.models.gpt2.textbook")):
        with pytest.warns(DeprecationWarning, match=old):
            module = importlib.reload(importlib.import_module(old))
        assert module.LOADER is importlib.import_module(new).LOADER


def test_unchanged_guide_plugin_passes_the_kit(old_plugins):
    model = testing.build_tiny("bigram", dict(vocab_size=31, context_length=16))
    testing.check_forward_shape(model)
    testing.check_causal(model)
    testing.check_kv_cache(model)
    testing.check_generate(model)
    testing.check_checkpoint_roundtrip(model, old_plugins / "ckpt")


def test_unchanged_old_style_family_and_loader_pass_the_kit(old_plugins):
    tmp = old_plugins
    testing.check_architecture("linear-bigram", dict(vocab_size=40, context_length=16, emb_dim=8), tmp / "arch")
    model = testing.build_tiny("linear-bigram", dict(vocab_size=40, emb_dim=8))
    good = tmp / "weights"
    good.mkdir()
    (good / "linear_bigram.json").write_text('{"vocab_size": 40, "emb_dim": 8}')
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(good / "model.safetensors"))
    loaded = registry.load_model(good).model
    ids = torch.randint(0, 40, (2, 5))
    with torch.no_grad():
        assert torch.equal(loaded(ids), model(ids))
    testing.check_loader_missing_path("linear-bigram-dir", tmp)
    testing.check_loader_corrupt_file("linear-bigram-dir", good, "model.safetensors", tmp)
    testing.check_loader_shape_mismatch("linear-bigram-dir", good, "model.safetensors", "head.weight", tmp)


def test_unchanged_plugins_work_through_the_cli(old_plugins, vocab_dir):
    listed = CliRunner().invoke(main, ["list"])
    assert listed.exit_code == 0 and "bigram" in listed.output and "[old-bigram]" in listed.output
    out = CliRunner().invoke(main, ["generate", "linear-bigram-tiny", "--tokenizer", str(vocab_dir),
                                    "--prompt", "the", "--greedy", "--max-new-tokens", "4"])
    assert out.exit_code == 0, out.output
    assert out.output.startswith("the")
