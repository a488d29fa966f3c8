"""The CLI's one error adapter: known errors in one line, bugs in one line plus --debug."""

from __future__ import annotations

import dataclasses
import subprocess
import sys

import pytest
from click.testing import CliRunner

import tokenkit.cli.codec as codec
from tokenkit.cli import main
from tokenkit.errors import TokenkitError
from tokenkit.training import TrainOptions


def invoke(*args: str, env: dict[str, str] | None = None):
    return CliRunner().invoke(main, list(args), env=env)


def fail_with(monkeypatch, exc: BaseException) -> None:
    def boom(spec: str, **options):
        raise exc

    monkeypatch.setattr(codec, "load_vocabulary", boom)


def test_known_error_is_one_line_exit_1(monkeypatch) -> None:
    fail_with(monkeypatch, TokenkitError("vocabulary v is broken\nsecond line"))
    result = invoke("encode", "v", "--text", "a")
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == ["Error: vocabulary v is broken"]


def test_unexpected_error_names_command_and_exception(monkeypatch) -> None:
    fail_with(monkeypatch, ValueError("bad value\nwith details"))
    result = invoke("encode", "v", "--text", "a", env={"TOKENKIT_DEBUG": ""})
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, result.output
    assert lines[0].startswith("Error: tokenkit encode failed unexpectedly (ValueError: bad value)")
    assert "--debug" in lines[0] and "TOKENKIT_DEBUG=1" in lines[0]
    assert "Traceback" not in result.output


def test_nested_command_is_named(monkeypatch) -> None:
    import tokenkit.cli.corpora as corpora_cli

    monkeypatch.setattr(corpora_cli, "resolve_corpus", lambda name: 1 / 0)
    result = invoke("corpora", "path", "wagahai", env={"TOKENKIT_DEBUG": ""})
    assert result.exit_code == 1
    assert "tokenkit corpora path failed unexpectedly (ZeroDivisionError" in result.output


@pytest.mark.parametrize("how", ["flag", "env"])
def test_debug_shows_the_real_exception(monkeypatch, how: str) -> None:
    error = OSError(5, "Input/output error")
    fail_with(monkeypatch, error)
    args = ["--debug", "encode", "v", "--text", "a"] if how == "flag" else ["encode", "v", "--text", "a"]
    result = invoke(*args, env={"TOKENKIT_DEBUG": "1" if how == "env" else ""})
    assert result.exit_code == 1
    assert result.exception is error  # propagated, with its traceback, not turned into a line
    assert "Error:" not in result.output


def test_debug_also_unwraps_known_errors(monkeypatch) -> None:
    error = TokenkitError("vocabulary v is broken")
    fail_with(monkeypatch, error)
    result = invoke("--debug", "encode", "v", "--text", "a")
    assert result.exception is error


def test_interrupt_is_one_line(monkeypatch) -> None:
    fail_with(monkeypatch, KeyboardInterrupt())
    result = invoke("encode", "v", "--text", "a", env={"TOKENKIT_DEBUG": ""})
    assert result.exit_code == 1
    assert result.output.strip() == "Error: interrupted; nothing was written"


def test_usage_error_keeps_click_exit_code_2() -> None:
    result = invoke("train", "--vocab", "many", "x.txt")
    assert result.exit_code == 2 and "Invalid value for '--vocab'" in result.output
    assert invoke("no-such-command").exit_code == 2


def test_python_dash_m_tokenkit() -> None:
    done = subprocess.run([sys.executable, "-m", "tokenkit", "--help"], capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("Usage: tokenkit ") and "train" in done.stdout
    bad = subprocess.run([sys.executable, "-m", "tokenkit", "decode", "gpt2", "x"],
                         capture_output=True, text=True, timeout=60)
    assert bad.returncode == 1 and bad.stderr.strip().startswith("Error: ")


def test_train_option_defaults_come_from_train_options() -> None:
    train = main.get_command(None, "train")
    defaults = {f.name: f.default for f in dataclasses.fields(TrainOptions)
                if f.default is not dataclasses.MISSING}
    checked = 0
    for param in train.params:
        if param.name in defaults and param.name != "special_tokens":
            assert param.default == defaults[param.name], param.name
            checked += 1
    assert checked >= 7  # backend, alphabet, model_type, byte_fallback, coverage, norm, min_freq


def test_bench_and_sweep_defaults_come_from_the_library() -> None:
    from tokenkit.bench import run_bench
    from tokenkit.sweep import DEFAULT_SIZES, run_sweep

    bench = {p.name: p.default for p in main.get_command(None, "bench").params}
    sweep = {p.name: p.default for p in main.get_command(None, "sweep").params}
    assert bench["fast"] is run_bench.__kwdefaults__["fast"]
    assert sweep["backend"] == run_sweep.__kwdefaults__["backend"]
    assert sweep["heldout"] == run_sweep.__kwdefaults__["heldout"]
    assert [int(s) for s in sweep["sizes"].split(",")] == list(DEFAULT_SIZES)
