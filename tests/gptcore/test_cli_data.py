"""gptcore prepare / gptcore eval, run through the CLI group (so through its error adapter)."""

from __future__ import annotations

import json

import pytest
import torch
from click.testing import CliRunner

import tokenkit
from gptcore.platform import registry
from gptcore.runs.checkpoint import save_checkpoint
from gptcore.cli import main
from gptcore.cli.data import eval_cmd, prepare_cmd
from gptcore.data.shards import TokenShards
from gptcore.eval.bpb import evaluate
from tests.gptcore.helpers import TEXT, train_vocab


@pytest.fixture()
def setup(tmp_path):
    vocab_dir = train_vocab(tmp_path / "vocab", specials=["<|endoftext|>"])
    (tmp_path / "t.txt").write_text(TEXT * 3, encoding="utf-8")
    return tmp_path, vocab_dir


def run(command, args):
    result = CliRunner().invoke(main, [command.name, *(str(a) for a in args)])
    return result.exit_code, result.output


def test_prepare_writes_then_reuses_then_refuses(setup):
    tmp, vocab_dir = setup
    args = ["--tokenizer", vocab_dir, "--data", tmp / "t.txt", "--out", tmp / "data"]
    code, out = run(prepare_cmd, args)
    assert code == 0 and "split by tail" in out and "wrote in" in out
    code, out = run(prepare_cmd, args)
    assert code == 0 and "up to date" in out
    code, out = run(prepare_cmd, args + ["--val-fraction", "0.2"])
    assert code == 1 and out.count("\n") == 1 and "another val_fraction" in out and "--force" in out
    code, out = run(prepare_cmd, args + ["--val-fraction", "0.2", "--force", "--json"])
    assert code == 0 and json.loads(out)["val_fraction"] == 0.2


@pytest.mark.parametrize("extra, message", [
    (["--val-fraction", "1.5"], "val_fraction must be between 0 and 1"),
    (["--context-length", "100000"], "needs 100001"),
    (["--workers", "0"], "workers must be positive"),
])
def test_prepare_bad_input_one_line_nothing_written(setup, extra, message):
    tmp, vocab_dir = setup
    code, out = run(prepare_cmd, ["--tokenizer", vocab_dir, "--data", tmp / "t.txt", "--out", tmp / "data", *extra])
    assert code == 1 and out.count("\n") == 1 and message in out
    assert not (tmp / "data").exists()


def test_eval_checkpoint_on_shards_and_on_text(setup):
    tmp, vocab_dir = setup
    vocab = tokenkit.load(str(vocab_dir))
    torch.manual_seed(0)
    model = registry.build_model("gpt2", vocab_size=vocab.vocab_size, emb_dim=16, n_heads=2, n_layers=1,
                                 context_length=16)
    save_checkpoint(tmp / "ckpt", model, step=0, vocabulary=str(vocab_dir))
    assert run(prepare_cmd, ["--tokenizer", vocab_dir, "--data", tmp / "t.txt", "--out", tmp / "data"])[0] == 0
    code, out = run(eval_cmd, [tmp / "ckpt", "--data", tmp / "data", "--json"])
    assert code == 0, out
    expected = evaluate(model.eval(), TokenShards(tmp / "data"), vocab)
    assert json.loads(out)["bits_per_byte"] == pytest.approx(expected.bits_per_byte, rel=1e-6)
    code, out = run(eval_cmd, [tmp / "ckpt", "--data", tmp / "t.txt"])
    assert code == 0 and out.startswith("loss ") and "bits/byte" in out

    other = train_vocab(tmp / "other", vocab_size=300, specials=["<|endoftext|>", "<x>"])
    code, out = run(eval_cmd, [tmp / "ckpt", "--data", tmp / "data", "--tokenizer", other])
    assert code == 1 and out.count("\n") == 1 and "was encoded with vocabulary" in out
    code, out = run(eval_cmd, [tmp / "ckpt", "--data", tmp / "data", "--batch-size", "0"])
    assert code == 2 and "--batch-size" in out and out.count("\n") == 1  # click's range check
