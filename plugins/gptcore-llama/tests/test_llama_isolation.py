"""A broken plugin (import error, missing attribute, wrong API version, duplicate name) is
listed with its error and breaks nothing else: neither gptcore's own plugins nor llama."""

from __future__ import annotations

import importlib.metadata as md
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from types import SimpleNamespace

import pytest

from gptcore.platform import registry
from gptcore.platform.registry import ARCH_GROUP, LOADER_GROUP, PluginError

BROKEN_MODULE = textwrap.dedent("""
    from gptcore.plugin import Architecture, Loader
    from gptcore_llama import ARCHITECTURE as _LLAMA
    import dataclasses

    FUTURE = dataclasses.replace(_LLAMA, name="future-llama", api_version=99)
    WRONG_TYPE = 42
    RENAMED = dataclasses.replace(_LLAMA, name="not-my-entry-point-name")
    SECOND_LLAMA = _LLAMA
    BAD_LOADER = Loader(name="bad-loader", detect=lambda p: 1 / 0, load=None, api_version=0)
""")

# (entry point name, value, expected text in the problem)
BROKEN_ARCHS = [
    ("import-error", "gptcore_no_such_module_xyz:ARCHITECTURE", "ModuleNotFoundError"),
    ("missing-attr", "broken_llama_plugin_xyz:DOES_NOT_EXIST", "AttributeError"),
    ("future-llama", "broken_llama_plugin_xyz:FUTURE", "plugin API version 99 is not supported"),
    ("wrong-type", "broken_llama_plugin_xyz:WRONG_TYPE", "expected gptcore.platform.registry.Architecture"),
    ("renamed", "broken_llama_plugin_xyz:RENAMED", "differs from entry point name"),
]


def _ep(name: str, value: str, group: str, dist: str) -> SimpleNamespace:
    real = md.EntryPoint(name, value, group)
    return SimpleNamespace(name=name, value=value, group=group, load=real.load,
                           dist=SimpleNamespace(name=dist))


@pytest.fixture
def injected(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Real entry points plus broken ones, as ``importlib.metadata`` reports them to gptcore."""
    (tmp_path / "broken_llama_plugin_xyz.py").write_text(BROKEN_MODULE)
    monkeypatch.syspath_prepend(str(tmp_path))
    extra = {ARCH_GROUP: [_ep(n, v, ARCH_GROUP, "broken-plugin") for n, v, _ in BROKEN_ARCHS],
             LOADER_GROUP: [_ep("bad-loader", "broken_llama_plugin_xyz:BAD_LOADER", LOADER_GROUP,
                                "broken-plugin")]}
    real_entry_points = md.entry_points

    def fake(**params):
        found = list(real_entry_points(**params))
        return found + extra.get(params.get("group"), [])

    monkeypatch.setattr(registry.md, "entry_points", fake)
    registry.refresh()
    yield extra
    registry.refresh()


def test_broken_plugins_are_problems_not_exceptions(injected) -> None:
    found = registry.architectures()
    assert {"gpt2", "llama"} <= set(found.plugins)
    problems = {p.name: p for p in found.problems}
    for name, value, needle in BROKEN_ARCHS:
        assert name in problems, name
        assert needle in problems[name].error, problems[name].error
        assert "\n" not in problems[name].error
        assert problems[name].distribution == "broken-plugin" and problems[name].value == value
    loader_problems = {p.name: p.error for p in registry.loaders().problems}
    assert "plugin API version 0 is not supported" in loader_problems["bad-loader"]
    assert "hf-llama" in registry.loaders().plugins


def test_other_commands_still_work(injected, tmp_path: Path) -> None:
    from gptcore.kit import testing

    for arch in ("gpt2", "llama"):
        model = registry.build_model(arch, vocab_size=50, context_length=16, emb_dim=16,
                                     n_layers=1, n_heads=2)
        testing.check_forward_shape(model)
    with pytest.raises(PluginError, match="plugin 'future-llama' .* is unusable: plugin API version 99"):
        registry.get_architecture("future-llama")
    with pytest.raises(PluginError, match="unusable: ModuleNotFoundError"):
        registry.build_model("import-error")
    # The bad loader's detect raises: detection of other formats is unaffected.
    from gptcore_llama.hf import export_hf

    out = tmp_path / "hf"
    out.mkdir()
    export_hf(registry.build_model(preset="llama-tiny"), out)
    assert registry.detect_loader(out).name == "hf-llama"


def test_duplicate_name_is_unusable_with_both_distributions_named(monkeypatch: pytest.MonkeyPatch,
                                                                  tmp_path: Path) -> None:
    (tmp_path / "broken_llama_plugin_xyz.py").write_text(BROKEN_MODULE)
    monkeypatch.syspath_prepend(str(tmp_path))
    eps = [_ep("llama", "gptcore_llama:ARCHITECTURE", ARCH_GROUP, "gptcore-llama"),
           _ep("llama", "broken_llama_plugin_xyz:SECOND_LLAMA", ARCH_GROUP, "llama-fork"),
           _ep("gpt2", "gptcore.models.gpt2:ARCHITECTURE", ARCH_GROUP, "tokenkit-gptcore")]
    found = registry.discover(ARCH_GROUP, eps)
    assert set(found.plugins) == {"gpt2"}
    (problem,) = [p for p in found.problems if p.name == "llama"]
    assert "gptcore-llama" in problem.error and "llama-fork" in problem.error


def _gptcore_list_command():
    from gptcore import cli

    return getattr(cli.main, "commands", {}).get("list")


def test_gptcore_list_shows_broken_plugin(injected) -> None:
    if _gptcore_list_command() is None:
        pytest.skip("gptcore list is not implemented yet")
    from click.testing import CliRunner

    from gptcore.cli import main

    result = CliRunner().invoke(main, ["list"])
    assert result.exit_code == 0, result.output
    assert "llama" in result.output and "future-llama" in result.output
    assert "plugin API version 99" in result.output


def test_really_installed_broken_distribution(tmp_path: Path) -> None:
    """A distribution on sys.path (dist-info + module, as pip leaves them) whose entry point
    fails: seen through the real importlib.metadata in a fresh interpreter."""
    site = tmp_path / "site"
    dist_info = site / "broken_llama_fork-0.1.dist-info"
    dist_info.mkdir(parents=True)
    (dist_info / "METADATA").write_text("Metadata-Version: 2.1\nName: broken-llama-fork\nVersion: 0.1\n")
    (dist_info / "entry_points.txt").write_text(
        "[gptcore.architectures]\nbroken-fork = broken_llama_fork:ARCHITECTURE\n"
        "[gptcore.loaders]\nbroken-fork-loader = broken_llama_fork_gone:LOADER\n")
    (site / "broken_llama_fork.py").write_text("raise ImportError('needs torch 9')\n")
    script = textwrap.dedent("""
        import json
        from gptcore.platform import registry
        a, l = registry.architectures(), registry.loaders()
        model = registry.build_model(preset="llama-tiny")
        print(json.dumps({"archs": sorted(a.plugins), "loaders": sorted(l.plugins),
                          "problems": {p.name: [p.distribution, p.error] for p in a.problems + l.problems},
                          "vocab": model.config.vocab_size}))
    """)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")])}
    out = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True,
                         timeout=120, check=True)
    data = json.loads(out.stdout.strip().splitlines()[-1])
    assert {"gpt2", "llama"} <= set(data["archs"]) and "hf-llama" in data["loaders"]
    assert data["problems"]["broken-fork"] == ["broken-llama-fork", "ImportError: needs torch 9"]
    assert data["problems"]["broken-fork-loader"][1].startswith("ModuleNotFoundError")
    assert data["vocab"] == 512
    if _gptcore_list_command() is not None:
        listed = subprocess.run([sys.executable, "-c", "from gptcore.cli import main; main(['list'])"],
                                env=env, capture_output=True, text=True, timeout=120)
        assert listed.returncode == 0, listed.stderr
        assert "broken-fork" in listed.stdout and "needs torch 9" in listed.stdout
