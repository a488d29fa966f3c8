"""The command line as a user runs it (click's CliRunner, in-process)."""

from __future__ import annotations

import os
import re

import pytest
import torch
import transformers
from click.testing import CliRunner

from gptcore.platform import registry
from gptcore.runs.checkpoint import save_checkpoint
from gptcore.cli import main
from gptcore.kit import testing
from gptcore.data.vocab import load_vocabulary


def run(*args: str, ok: bool = True):
    result = CliRunner().invoke(main, [str(a) for a in args])
    if ok:
        assert result.exit_code == 0, result.output
    else:
        assert result.exit_code != 0, result.output
        lines = [line for line in result.output.strip().splitlines() if line.startswith("Error")]
        assert len(lines) == 1, result.output
    return result


@pytest.fixture(scope="module")
def ckpt(vocab, vocab_dir, tmp_path_factory):
    model = testing.build_tiny("gpt2", dict(vocab_size=vocab.vocab_size, context_length=32, emb_dim=32,
                                            n_layers=2, n_heads=4))
    return save_checkpoint(tmp_path_factory.mktemp("m") / "ckpt", model, vocabulary=str(vocab_dir))


def test_list_shows_builtins_with_distribution():
    out = run("list").output
    assert "gpt2" in out and "[tokenkit-gptcore]" in out and "gpt2-124m-ctx256" in out
    assert "hf-gpt2" in out and "textbook-gpt" in out and "gptcore-checkpoint" in out


def test_list_shows_broken_plugin(tmp_path, monkeypatch):
    from tests.gptcore.test_registry import install_fake_dist

    install_fake_dist(tmp_path, "broken-plugin", "broken_plugin", "import nonexistent_dep\n",
                      "[gptcore.architectures]\nbroken = broken_plugin:ARCH\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    registry.refresh()
    try:
        out = run("list").output
    finally:
        registry.refresh()
    assert "broken" in out and "broken-plugin" in out and "nonexistent_dep" in out and "gpt2" in out


def test_generate_greedy_matches_library(ckpt, vocab, vocab_dir):
    from gptcore.generation.decoding import GenerationConfig, generate
    from gptcore.generation.sampling import SamplingConfig

    out = run("generate", ckpt, "--prompt", "the fox", "--greedy", "--max-new-tokens", "8").output
    model = registry.load_model(ckpt).model
    eos = vocab.specials["<eos>"]
    expected = generate(model, vocab, "the fox", GenerationConfig(8, SamplingConfig(greedy=True), eos_id=eos))[0]
    assert out == "the fox" + expected + "\n"
    many = run("generate", ckpt, "--tokenizer", vocab_dir, "--prompt", "the", "-n", "3", "--seed", "1",
               "--top-p", "0.9", "--temperature", "1.2", "--max-new-tokens", "5").output
    assert many.count("--- sample") == 3
    chat_out = run("generate", ckpt, "--prompt", "hi", "--chat", "--max-new-tokens", "4", "--seed", "0").output
    assert chat_out.endswith("\n")


def test_generate_errors(ckpt, tmp_path):
    from tests.gptcore.helpers import train_vocab

    small = testing.build_tiny("gpt2", dict(vocab_size=250, context_length=8, emb_dim=8, n_layers=1, n_heads=2))
    small_ckpt = save_checkpoint(tmp_path / "small", small)
    bigger = train_vocab(tmp_path / "v", vocab_size=280)
    err = run("generate", small_ckpt, "--tokenizer", bigger, "--prompt", "x", ok=False).output
    assert "tokenizer vocab size 280 exceeds the model's vocab_size 250" in err
    err = run("generate", tmp_path / "nope", "--prompt", "x", ok=False).output
    assert "nope" in err
    err = run("generate", ckpt, "--prompt", "x", "--top-p", "2", ok=False).output
    assert "top_p" in err


def test_padded_model_generates_and_says_what_is_padding(ckpt, vocab, tmp_path):
    from tests.gptcore.helpers import train_vocab

    smaller = train_vocab(tmp_path / "v", vocab_size=280)
    v = load_vocabulary(smaller).vocab_size
    assert v < vocab.vocab_size
    result = CliRunner().invoke(main, ["generate", str(ckpt), "--tokenizer", str(smaller), "--prompt", "the",
                                       "--greedy", "--max-new-tokens", "8"])
    assert result.exit_code == 0, result.output
    assert f"{vocab.vocab_size} embedding rows for a {v}-token tokenizer" in result.stderr
    assert f"ids {v}..{vocab.vocab_size - 1} are padding" in result.stderr
    assert result.stdout.startswith("the") and "note" not in result.stdout
    nxt = run("next", ckpt, "--tokenizer", smaller, "--prompt", "the", "--top-k", "400").output
    rows = [re.search(r" (\d+)  +(\d\.\d{4})( |$)", line) for line in nxt.splitlines()]
    ids = [int(m.group(1)) for m in rows if m]
    assert sorted(ids) == list(range(v))  # every decodable id, no padding id


def test_next_prints_distribution_and_plot(ckpt, tmp_path):
    plot = tmp_path / "next.png"
    out = run("next", ckpt, "--prompt", "the quick", "--top-k", "5", "--plot", plot).output
    rows = [line for line in out.splitlines() if "█" in line or line.strip().endswith("0.0000")]
    assert len(rows) == 5
    probs = [float(line.split()[-2]) if "█" in line else 0.0 for line in rows]
    assert abs(sum(probs) - 1.0) < 2e-3 and probs == sorted(probs, reverse=True)
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert os.listdir(tmp_path) == ["next.png"]


def test_diversity_reports_self_bleu(ckpt):
    out = run("diversity", ckpt, "--prompt", "the", "--n", "4", "--max-new-tokens", "12",
              "--temperature", "0.0001", "--temperature", "3").output
    rows = [line for line in out.splitlines() if line.startswith("| 0.0001") or line.startswith("| 3")]
    cold, hot = (float(r.split("|")[3]) for r in rows)
    assert cold > hot  # near-greedy samples are near-identical


def test_export_hf_roundtrip(ckpt, tmp_path):
    out = tmp_path / "hf"
    run("export", ckpt, "--format", "hf", out)
    ref = transformers.GPT2LMHeadModel.from_pretrained(str(out)).eval()
    ours = registry.load_model(ckpt).model
    ids = torch.randint(0, ours.config.vocab_size, (2, 32))
    with torch.no_grad():
        assert (ref(ids).logits - ours(ids)).abs().max() <= 1e-5
    err = run("export", ckpt, "--format", "hf", out, ok=False).output
    assert "holds an export (format hf); use --force" in err
    assert (out / "gptcore-export.json").is_file()
    run("export", ckpt, "--format", "hf", out, "--force")  # an export of ours: replaced
    err = run("export", ckpt, "--format", "onnx", tmp_path / "x", ok=False).output
    assert "onnx" in err and not (tmp_path / "x").exists()


def test_export_untied_bias_free_model(tmp_path):
    model = testing.build_tiny("gpt2", dict(vocab_size=50, context_length=16, emb_dim=16, n_layers=1,
                                            n_heads=2, tie_weights=False, qkv_bias=False))
    path = save_checkpoint(tmp_path / "c", model)
    run("export", path, tmp_path / "hf")
    ref = transformers.GPT2LMHeadModel.from_pretrained(str(tmp_path / "hf")).eval()
    ids = torch.randint(0, 50, (1, 16))
    with torch.no_grad():
        assert (ref(ids).logits - model(ids)).abs().max() <= 1e-5


def test_named_tokenizer_spec_and_unknown_tokenizer():
    """``--tokenizer gpt2`` (GPT-2's own BPE, as for OpenAI's weights) works like a path."""
    from tests.conftest import corpus_path

    corpus_path("gpt2")
    out = run("next", "gpt2-124m-ctx256", "--tokenizer", "gpt2", "--prompt", "Every effort moves",
              "--top-k", "3").output
    rows = [line for line in out.splitlines() if re.search(r"\s\d+\s+0\.\d{4}\s", line)]
    assert len(rows) == 3, out  # token, id, probability, bar for each of the top 3
    bad = run("next", "gpt2-124m-ctx256", "--tokenizer", "no-such-vocab", "--prompt", "x", ok=False)
    assert "tokenizer no-such-vocab not found" in bad.output


# --------------------------------------------------------------------------------------------
# the package's one error adapter, --version, python -m gptcore
# --------------------------------------------------------------------------------------------


def _boom(*args, **kwargs):
    raise RuntimeError("boom\nsecond line")


def test_unexpected_error_is_one_line_naming_command_and_exception(monkeypatch):
    from gptcore.cli import plugins

    monkeypatch.delenv("GPTCORE_DEBUG", raising=False)
    monkeypatch.setattr(plugins.registry, "architectures", _boom)
    out = run("list", ok=False).output
    (line,) = [line for line in out.splitlines() if line.startswith("Error")]
    assert "gptcore list failed: RuntimeError: boom" in line and "--debug" in line and "second" not in out
    assert "Traceback" not in out


@pytest.mark.parametrize("how", ["flag", "env"])
def test_debug_shows_the_real_exception(monkeypatch, how):
    from gptcore.cli import plugins

    monkeypatch.setattr(plugins.registry, "architectures", _boom)
    if how == "env":
        monkeypatch.setenv("GPTCORE_DEBUG", "1")
    result = CliRunner().invoke(main, ["--debug", "list"] if how == "flag" else ["list"])
    assert result.exit_code == 1 and isinstance(result.exception, RuntimeError)
    assert "Error:" not in result.output


def test_value_errors_from_library_bugs_are_no_longer_disguised(monkeypatch):
    """The old adapter turned every ValueError into a plain message; now it says it is unexpected."""
    from gptcore.cli import plugins

    def bad(*args, **kwargs):
        raise ValueError("internal invariant broken")

    monkeypatch.delenv("GPTCORE_DEBUG", raising=False)
    monkeypatch.setattr(plugins.registry, "architectures", bad)
    assert "gptcore list failed: ValueError: internal invariant broken" in run("list", ok=False).output


def test_bad_option_values_are_usage_errors(ckpt, vocab_dir, tmp_path):
    err = run("diversity", ckpt, "--prompt", "x", "--n", "1", ok=False)
    assert err.exit_code == 2 and "--n" in err.output
    err = run("generate", ckpt, "--prompt", "x", "--repetition-penalty", "0", ok=False)
    assert err.exit_code == 2 and "repetition_penalty must be > 0" in err.output
    err = run("pretrain", "--arch", "gpt2", "--set", "n_heads=5", "--tokenizer", vocab_dir, "--data",
              __file__, "--out", tmp_path / "r", ok=False)
    assert "invalid model config: emb_dim 768 is not divisible by n_heads 5" in err.output
    assert not (tmp_path / "r").exists()


def test_version_and_python_m(tmp_path):
    import subprocess
    import sys

    from gptcore import __version__

    assert run("--version").output.strip() == f"gptcore, version {__version__}"
    done = subprocess.run([sys.executable, "-m", "gptcore", "--help"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and done.stdout.startswith("Usage: gptcore ") and "pretrain" in done.stdout


def test_option_defaults_come_from_the_config_dataclasses():
    from gptcore.cli.generate import generate_cmd
    from gptcore.cli.pretrain import pretrain_cmd
    from gptcore.generation.decoding import GenerationConfig
    from gptcore.generation.sampling import SamplingConfig
    from gptcore.training.config import TrainConfig

    def defaults(cmd):
        return {p.name: p.default for p in cmd.params}

    train, gen = defaults(pretrain_cmd), defaults(generate_cmd)
    for name in ("steps", "batch_size", "seq_len", "lr", "weight_decay", "eval_every", "checkpoint_every", "seed"):
        assert train[name] == getattr(TrainConfig(), name), name
    assert gen["max_new_tokens"] == GenerationConfig().max_new_tokens
    for name in ("temperature", "top_k", "top_p", "min_p", "epsilon", "repetition_penalty"):
        assert gen[name] == getattr(SamplingConfig(), name), name


def test_set_goes_to_the_loader_checked_against_the_config_class(hf_dir, vocab_dir, tmp_path):
    import json

    out = tmp_path / "exported"
    run("export", hf_dir, out, "--set", "layer_norm_eps=0.001", "--set", "dropout=0.25")
    written = json.loads((out / "config.json").read_text())
    assert written["layer_norm_epsilon"] == 0.001 and written["resid_pdrop"] == 0.25
    line = run("export", hf_dir, tmp_path / "x", "--set", "n_layers=two", ok=False).output
    assert "config field n_layers" in line and "expects an int, not 'two'" in line
    line = run("export", hf_dir, tmp_path / "x", "--set", "n_embd=4", ok=False).output
    assert "unknown config field(s) n_embd" in line and str(hf_dir / "config.json") in line
    line = run("export", hf_dir, tmp_path / "x", "--set", "layer_norm_eps", ok=False).output
    assert "--set expects key=value" in line
    assert not (tmp_path / "x").exists()
    shorter = tmp_path / "shorter"
    run("export", hf_dir, shorter, "--set", "context_length=16")
    assert json.loads((shorter / "config.json").read_text())["n_positions"] == 16
    line = run("export", hf_dir, tmp_path / "x", "--set", "context_length=64", ok=False).output
    assert "wpe.weight" in line and "(32, 48)" in line and "(64, 48)" in line
    tiny = ["--set", "n_layers=1", "--set", "emb_dim=16", "--set", "n_heads=2", "--set", "context_length=8"]
    done = run("generate", "gpt2-small", "--tokenizer", vocab_dir, *tiny, "--prompt", "the", "--greedy",
               "--max-new-tokens", "3")
    assert done.output.startswith("the")
    line = run("next", "gpt2-small", "--tokenizer", vocab_dir, "--set", "n_heads=5", "--prompt", "the",
               ok=False).output
    assert "invalid config for preset gpt2-small: emb_dim 768 is not divisible by n_heads 5" in line
    assert "unexpected" not in line


def test_export_weights_only_when_the_tokenizer_cannot_be_converted(tmp_path):
    import tokenkit

    from tests.gptcore.helpers import TEXT

    sp = tmp_path / "spm"
    vocab = tokenkit.train_from_texts([TEXT], 400, backend="sentencepiece").vocabulary
    vocab.save(sp)
    model = testing.build_tiny("gpt2", dict(vocab_size=vocab.vocab_size, context_length=16, emb_dim=16, n_layers=1,
                                            n_heads=2))
    ckpt = save_checkpoint(tmp_path / "c", model)
    line = run("export", ckpt, tmp_path / "hf", "--tokenizer", sp, ok=False).output
    assert "not a byte-level BPE" in line and "--weights-only" in line and not (tmp_path / "hf").exists()
    run("export", ckpt, tmp_path / "hf", "--weights-only")
    assert not (tmp_path / "hf" / "tokenizer.json").exists()
    ref = transformers.GPT2LMHeadModel.from_pretrained(str(tmp_path / "hf")).eval()
    ids = torch.randint(0, vocab.vocab_size, (1, 8))
    with torch.no_grad():
        assert (ref(ids).logits - model(ids)).abs().max() <= 1e-5


def test_an_invalid_config_json_names_the_json_error_file_and_line(tmp_path):
    bad = tmp_path / "m"
    bad.mkdir()
    (bad / "config.json").write_text('{\n  "model_type": "qwen2",\n  "hidden_size": 32,,\n}\n')
    line = run("generate", bad, "--prompt", "hi", "--tokenizer", "gpt2", ok=False).output
    assert "invalid JSON in" in line and str(bad / "config.json") in line and "line 3" in line
    assert "no loader recognises" not in line
    (bad / "config.json").write_text('{"model_type": "falcon"}')
    line = run("generate", bad, "--prompt", "hi", "--tokenizer", "gpt2", ok=False).output
    assert "no loader recognises" in line and "model_type 'falcon'" in line and "plugin" in line
