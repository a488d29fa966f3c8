"""Entry-point discovery: built-ins come from pyproject, broken/duplicate plugins are isolated."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from gptcore.platform import registry
from gptcore.models.gpt2 import ARCHITECTURE as GPT2_ARCH


@pytest.fixture
def fresh_registry():
    registry.refresh()
    yield
    registry.refresh()


def install_fake_dist(site: Path, dist: str, module: str, source: str, entry_points: str) -> None:
    """A minimal installed distribution (dist-info + module) in a temporary site directory."""
    (site / f"{module}.py").write_text(textwrap.dedent(source))
    info = site / f"{dist.replace('-', '_')}-0.1.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(textwrap.dedent(entry_points))


def test_builtins_are_declared_entry_points(fresh_registry):
    archs = registry.architectures()
    assert archs.plugins["gpt2"].distribution == "tokenkit-gptcore"
    assert archs.plugins["gpt2"].value == "gptcore.models.gpt2:ARCHITECTURE"
    assert {"hf-gpt2", "textbook-gpt", "gptcore-checkpoint"} <= set(registry.loaders().plugins)
    ours = [p for p in archs.problems + registry.loaders().problems if p.distribution == "tokenkit-gptcore"]
    assert not ours


def test_presets_and_overrides():
    arch = registry.find_preset("gpt2-medium")
    cfg = arch.make_config("gpt2-medium", vocab_size=300)
    assert (cfg.emb_dim, cfg.n_layers, cfg.n_heads, cfg.context_length, cfg.vocab_size) == (1024, 24, 16, 1024, 300)
    sizes = {p: (arch.make_config(p).emb_dim, arch.make_config(p).n_layers, arch.make_config(p).n_heads)
             for p in ("gpt2-small", "gpt2-large", "gpt2-xl")}
    assert sizes == {"gpt2-small": (768, 12, 12), "gpt2-large": (1280, 36, 20), "gpt2-xl": (1600, 48, 25)}
    textbook = arch.make_config("gpt2-124m-ctx256")
    assert (textbook.context_length, textbook.dropout, textbook.qkv_bias) == (256, 0.1, False)
    with pytest.raises(registry.GptcoreError, match="unknown config field.*n_embd"):
        arch.make_config("gpt2-small", n_embd=3)
    with pytest.raises(registry.GptcoreError, match="unknown preset 'gpt5'"):
        registry.find_preset("gpt5")


def test_broken_plugins_are_listed_and_isolated(tmp_path, monkeypatch, fresh_registry):
    install_fake_dist(tmp_path, "broken-plugin", "broken_plugin", "raise ImportError('needs libfoo')\n", """
        [gptcore.architectures]
        broken = broken_plugin:ARCH
        [gptcore.loaders]
        broken-loader = broken_plugin:LOADER
    """)
    install_fake_dist(tmp_path, "odd-plugin", "odd_plugin", """
        import dataclasses
        from gptcore.platform.registry import Architecture
        @dataclasses.dataclass
        class Cfg:
            vocab_size: int = 3
            context_length: int = 4
        WRONG_TYPE = object()
        OLD = Architecture("old", Cfg, {}, lambda c: None, api_version=0)
        """, """
        [gptcore.architectures]
        wrongtype = odd_plugin:WRONG_TYPE
        old = odd_plugin:OLD
    """)
    monkeypatch.syspath_prepend(str(tmp_path))
    archs = registry.architectures()
    problems = {p.name: p for p in archs.problems}
    assert problems["broken"].distribution == "broken-plugin"
    assert "ImportError: needs libfoo" in problems["broken"].error
    assert "expected gptcore.platform.registry.Architecture" in problems["wrongtype"].error
    assert "API version 0" in problems["old"].error
    assert "broken-loader" in {p.name for p in registry.loaders().problems}
    # the rest keeps working
    assert "gpt2" in archs.plugins
    assert registry.build_model("gpt2", vocab_size=11, emb_dim=8, n_heads=2, n_layers=1, context_length=4)
    with pytest.raises(registry.PluginError, match="'broken'.*needs libfoo"):
        registry.get_architecture("broken")


def test_duplicate_names_name_both_distributions(tmp_path, monkeypatch, fresh_registry):
    install_fake_dist(tmp_path, "copycat", "copycat", "from gptcore.models.gpt2 import ARCHITECTURE\n", """
        [gptcore.architectures]
        gpt2 = copycat:ARCHITECTURE
    """)
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(registry.PluginError) as info:
        registry.get_architecture("gpt2")
    message = str(info.value)
    assert "copycat" in message and "tokenkit-gptcore" in message and "\n" not in message


class FakeEP:
    def __init__(self, name, value, obj, dist="fake"):
        self.name, self.value, self._obj = name, value, obj
        self.dist = type("D", (), {"name": dist})()

    def load(self):
        if isinstance(self._obj, Exception):
            raise self._obj
        return self._obj


def test_discover_with_simulated_entry_points():
    eps = [FakeEP("gpt2", "a:B", GPT2_ARCH, "good"), FakeEP("bad", "x:Y", RuntimeError("boom\nmore")),
           FakeEP("renamed", "a:B", GPT2_ARCH), FakeEP("gpt2", "a:B", GPT2_ARCH, "good")]  # listed twice
    found = registry.discover(registry.ARCH_GROUP, eps)
    assert list(found.plugins) == ["gpt2"]
    errors = {p.name: p.error for p in found.problems}
    assert errors["bad"] == "RuntimeError: boom"
    assert "differs from entry point name" in errors["renamed"]


def test_unknown_names(fresh_registry):
    with pytest.raises(registry.PluginError, match="unknown architecture 'nope'.*gpt2"):
        registry.get_architecture("nope")
    with pytest.raises(registry.PluginError, match="unknown loader"):
        registry.get_loader("nope")
