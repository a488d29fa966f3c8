"""The first hour with gptcore's command line: --version, streamed output that ends its line,
--chat saying when it falls back to the plain template, and --plot that never overwrites
silently."""

from __future__ import annotations

import re

import pytest
from click.testing import CliRunner

from gptcore.kit import testing
from gptcore.runs.checkpoint import save_checkpoint
from gptcore.cli import main
from tests.gptcore.helpers import train_vocab


def run(*args, ok: bool = True):
    result = CliRunner().invoke(main, [str(a) for a in args])
    assert (result.exit_code == 0) == ok, result.output
    return result


def tiny_checkpoint(directory, vocab_dir):
    from gptcore.data.vocab import load_vocabulary

    vocab = load_vocabulary(vocab_dir)
    model = testing.build_tiny("gpt2", dict(vocab_size=vocab.vocab_size, context_length=32, emb_dim=32,
                                            n_layers=1, n_heads=2))
    return save_checkpoint(directory / "ckpt", model, vocabulary=str(vocab_dir))


@pytest.fixture(scope="module")
def chat_ckpt(vocab_dir, tmp_path_factory):
    """The shared test vocabulary has the chat tokens."""
    return tiny_checkpoint(tmp_path_factory.mktemp("chat"), vocab_dir)


@pytest.fixture(scope="module")
def plain_ckpt(tmp_path_factory):
    """A vocabulary with only <eos>: --chat must fall back, and say so."""
    root = tmp_path_factory.mktemp("plain")
    return tiny_checkpoint(root, train_vocab(root / "vocab", specials=["<eos>"]))


def test_version():
    from importlib.metadata import version

    assert run("--version").output.strip().endswith(version("tokenkit-gptcore"))


def test_streamed_output_ends_with_a_newline(chat_ckpt):
    streamed = run("generate", chat_ckpt, "--prompt", "the", "--max-new-tokens", "6", "--seed", "0").stdout
    whole = run("generate", chat_ckpt, "--prompt", "the", "--max-new-tokens", "6", "--seed", "0",
                "--no-stream").stdout
    assert streamed.endswith("\n") and streamed == whole


def test_chat_says_when_it_falls_back_to_the_plain_template(chat_ckpt, plain_ckpt):
    args = ("--prompt", "hi", "--chat", "--max-new-tokens", "3", "--seed", "0")
    plain = run("generate", plain_ckpt, *args)
    assert "<start_of_turn> / <end_of_turn>" in plain.stderr and "User:" in plain.stderr
    assert "note:" not in plain.stdout
    templated = run("generate", chat_ckpt, *args)
    assert templated.stderr == ""


def test_next_plot_refuses_to_overwrite_without_force(chat_ckpt, tmp_path):
    plot = tmp_path / "next.png"
    plot.write_bytes(b"precious")
    result = run("next", chat_ckpt, "--prompt", "the", "--plot", plot, ok=False)
    assert re.search(rf"Error: output {re.escape(str(plot))} already exists \(use --force", result.output)
    assert plot.read_bytes() == b"precious" and "█" not in result.output  # refused before the work
    run("next", chat_ckpt, "--prompt", "the", "--plot", plot, "--force")
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["next.png"]  # no temp file left


def test_next_plot_draws_japanese_and_emoji_labels(tmp_path):
    """`gptcore next --plot` uses tokenkit's CJK/emoji font chain: no glyph is missing."""
    import warnings

    from gptcore.cli.generate import _plot

    with warnings.catch_warnings():
        warnings.filterwarnings("error", message=".*[Gg]lyph.*missing.*")
        _plot(tmp_path / "next.png", [(1, 0.6), (2, 0.4)], ["吾輩", "🥺"], "next token after '吾輩は猫'")
    assert (tmp_path / "next.png").stat().st_size > 0
