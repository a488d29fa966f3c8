"""The registry refuses ambiguity, survives any import failure, reports plugin failures at call
time in one line, and imports a plugin only when it is needed."""

from __future__ import annotations

import dataclasses

import pytest
from click.testing import CliRunner

from gptcore.platform import registry
from gptcore.kit import testing
from gptcore.runs.checkpoint import load_checkpoint, save_checkpoint
from gptcore.cli import main
from gptcore.export.writer import export
from gptcore.models.gpt2 import ARCHITECTURE as GPT2_ARCH
from gptcore.plugin import Loader, LoadResult
from tests.conftest import needs_gpt2
from tests.gptcore.plugin_fakes import WINDOW, FakeEntryPoint, inject


@pytest.fixture(autouse=True)
def fresh():
    registry.refresh()
    yield
    registry.refresh()


@pytest.fixture
def ckpt(tmp_path):
    model = testing.build_tiny("gpt2", dict(vocab_size=300, context_length=16, emb_dim=8, n_layers=1, n_heads=2))
    return save_checkpoint(tmp_path / "ckpt", model)


def cli(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def one_error_line(result) -> str:
    assert result.exit_code != 0, result.output
    lines = [line for line in result.output.splitlines() if line.startswith("Error")]
    assert len(lines) == 1, result.output
    return lines[0]


def test_none_saved_in_a_config_comes_back_as_none(monkeypatch, tmp_path):
    inject(monkeypatch, FakeEntryPoint("window", WINDOW, dist="window-dist"))
    model = registry.build_model("window", sliding_window=None)
    assert model.config.sliding_window is None
    loaded = load_checkpoint(save_checkpoint(tmp_path / "c", model)).model
    assert loaded.config.sliding_window is None and loaded.config == model.config
    assert WINDOW.config_from_dict(dataclasses.asdict(model.config)).sliding_window is None
    assert registry.build_model("window").config.sliding_window == 4096  # the default stays the default
    assert WINDOW.make_config(None, sliding_window="none").sliding_window is None  # --set sliding_window=none


def test_several_loaders_accepting_a_path_is_an_error_naming_them(monkeypatch, ckpt):
    greedy = Loader("aaa-greedy", detect=lambda p: True, load=lambda p, o: None, description="accepts anything",
                    api_version=1)
    inject(monkeypatch, FakeEntryPoint("aaa-greedy", greedy, dist="greedy-dist", group=registry.LOADER_GROUP))
    with pytest.raises(registry.GptcoreError) as info:
        registry.detect_loader(ckpt)
    testing.assert_one_line_error(info.value, "aaa-greedy [greedy-dist]", "gptcore-checkpoint [tokenkit-gptcore]",
                                  "--loader")
    assert registry.load_model(ckpt, loader="gptcore-checkpoint").architecture == "gpt2"
    line = one_error_line(cli("export", ckpt, ckpt.parent / "out"))
    assert "several loaders accept" in line and "aaa-greedy" in line
    ok = cli("export", ckpt, ckpt.parent / "out", "--loader", "gptcore-checkpoint")
    assert ok.exit_code == 0, ok.output


def test_a_preset_defined_twice_is_a_problem_in_list_and_an_error_naming_both(monkeypatch, vocab_dir):
    copy = dataclasses.replace(GPT2_ARCH, name="gpt2-copy", presets={"gpt2-small": {"n_layers": 1}})
    inject(monkeypatch, FakeEntryPoint("gpt2-copy", copy, dist="copycat"))
    listed = cli("list")
    assert listed.exit_code == 0, listed.output
    line = next(line for line in listed.output.splitlines() if "(preset)" in line)
    assert "gpt2-small" in line and "gpt2 [tokenkit-gptcore]" in line and "gpt2-copy [copycat]" in line
    with pytest.raises(registry.PluginError, match="gpt2 .tokenkit-gptcore. and gpt2-copy .copycat."):
        registry.find_preset("gpt2-small")
    line = one_error_line(cli("generate", "gpt2-small", "--tokenizer", vocab_dir, "--prompt", "x"))
    assert "gpt2-copy [copycat]" in line and "not found" not in line


class CustomStop(BaseException):
    """Not an Exception: some plugins raise these at import."""


def _raise(exc):
    def load():
        raise exc
    return load


def test_discover_survives_base_exceptions_at_import():
    eps = [FakeEntryPoint("exits", None, on_load=_raise(SystemExit(3))),
           FakeEntryPoint("custom", None, on_load=_raise(CustomStop("no display"))),
           FakeEntryPoint("gpt2", GPT2_ARCH)]
    found = registry.discover(registry.ARCH_GROUP, eps)
    errors = {p.name: p.error for p in found.problems}
    assert errors == {"exits": "SystemExit: 3", "custom": "CustomStop: no display"}
    assert list(found.plugins) == ["gpt2"]
    with pytest.raises(KeyboardInterrupt):  # Ctrl-C while a plugin imports still stops gptcore
        registry.discover(registry.ARCH_GROUP, [FakeEntryPoint("ctrl-c", None, on_load=_raise(KeyboardInterrupt()))])


def test_gptcore_list_survives_a_plugin_calling_sys_exit(monkeypatch):
    inject(monkeypatch, FakeEntryPoint("exits", None, dist="exit-dist", on_load=_raise(SystemExit("bye"))))
    listed = cli("list")
    assert listed.exit_code == 0, listed.output
    assert "SystemExit: bye" in listed.output and "gpt2" in listed.output


def _broken_build(cfg):
    raise RuntimeError("CUDA kernel missing\nsecond line")


def _broken_exporter(model, out):
    raise ImportError("No module named 'onnx'")


@needs_gpt2
def test_plugin_failures_at_call_time_are_one_line_naming_plugin_and_distribution(monkeypatch, tmp_path):
    broken = dataclasses.replace(GPT2_ARCH, name="gpt2-broken", presets={"broken-tiny": {"n_layers": 1}},
                                 build=_broken_build)
    exporting = dataclasses.replace(GPT2_ARCH, name="gpt2-exp", presets={}, exporters={"onnx": _broken_exporter},
                                    config_class=dataclasses.make_dataclass(
                                        "ExpConfig", [], bases=(GPT2_ARCH.config_class,)))
    bad_loader = Loader("bad-load", detect=lambda p: p.name == "bad.weights",
                        load=lambda p, o: {}["missing key"], api_version=1)
    inject(monkeypatch, FakeEntryPoint("gpt2-broken", broken, dist="broken-dist"),
           FakeEntryPoint("gpt2-exp", exporting, dist="exp-dist"),
           FakeEntryPoint("bad-load", bad_loader, dist="load-dist", group=registry.LOADER_GROUP))
    with pytest.raises(registry.PluginError) as info:
        registry.build_model("gpt2-broken")
    testing.assert_one_line_error(info.value, "'gpt2-broken' [broken-dist]", "build", "RuntimeError: CUDA kernel")
    model = exporting.build(exporting.make_config(None, vocab_size=10, context_length=4, emb_dim=8, n_layers=1,
                                                  n_heads=2))
    with pytest.raises(registry.PluginError) as info:
        export(model, "onnx", tmp_path / "out")
    testing.assert_one_line_error(info.value, "'gpt2-exp' [exp-dist]", "exporter 'onnx'", "No module named 'onnx'")
    assert not (tmp_path / "out").exists()
    (tmp_path / "bad.weights").write_bytes(b"x")
    with pytest.raises(registry.PluginError) as info:
        registry.load_model(tmp_path / "bad.weights")
    testing.assert_one_line_error(info.value, "'bad-load' [load-dist]", "load", "KeyError")
    line = one_error_line(cli("generate", "broken-tiny", "--tokenizer", "gpt2", "--prompt", "x"))
    assert "gpt2-broken" in line and "broken-dist" in line and "Traceback" not in line


def test_plugins_are_imported_only_when_needed(monkeypatch, ckpt):
    imported = []
    window = FakeEntryPoint("window", WINDOW, on_load=lambda: imported.append("window"))
    inject(monkeypatch, window)
    assert registry.get_architecture("gpt2") is GPT2_ARCH
    assert registry.load_model(ckpt).architecture == "gpt2"
    assert imported == []  # neither a name look-up nor loading a gpt2 checkpoint imports it
    assert registry.get_architecture("window") is WINDOW and imported == ["window"]
    registry.architectures()
    assert imported == ["window"]  # imported once, reused
    registry.refresh()
    registry.architectures()
    assert imported == ["window", "window"]


def test_results_of_loaders_are_unchanged_by_the_guard(ckpt):
    result = registry.load_model(ckpt)
    assert isinstance(result, LoadResult) and result.extra["step"] == 0
