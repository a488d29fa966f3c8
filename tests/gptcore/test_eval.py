"""Bits per byte checked by hand, and evaluation that agrees with the training loss."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

import tokenkit
from gptcore.platform import registry
from gptcore.data.shards import TokenShards
from gptcore.data.preparation import prepare
from gptcore.eval.bpb import evaluate, token_bytes
from gptcore.platform.registry import GptcoreError
from gptcore.training.loop import loss_fn
from tests.gptcore.helpers import TEXT, train_vocab

EOT = "<|endoftext|>"


class FixedLogits(nn.Module):
    """Every position gets the same logits: log-probabilities ``log(weights / sum)``."""

    def __init__(self, weights: torch.Tensor, context_length: int) -> None:
        super().__init__()
        self.config = type("Config", (), {"vocab_size": len(weights), "context_length": context_length})()
        self.logits = nn.Parameter(weights.log())

    def forward(self, input_ids: torch.Tensor, cache=None) -> torch.Tensor:
        return self.logits.expand(*input_ids.shape, -1)


@pytest.fixture(scope="module")
def vocab(tmp_path_factory) -> tokenkit.Vocabulary:
    return tokenkit.load(str(train_vocab(tmp_path_factory.mktemp("v"), specials=[EOT, "<pad>"])))


def test_token_bytes_table(vocab):
    table = token_bytes(vocab)
    assert table.shape == (vocab.vocab_size,)
    assert table[vocab.specials[EOT]] == 0 and table[vocab.specials["<pad>"]] == 0
    ids = vocab.encode(TEXT)
    assert int(table[ids].sum()) == len(TEXT.encode())  # byte-level BPE: ids cover every byte


def test_uniform_logits_by_hand(vocab):
    text = "吾輩は猫である。 the quick brown fox\n" * 3
    ids = vocab.encode(text)
    model = FixedLogits(torch.ones(vocab.vocab_size), context_length=8)
    result = evaluate(model, ids, vocab, batch_size=3)
    n_targets = len(ids) - 1  # every id but the first is predicted once
    n_bytes = len(text.encode()) - len(vocab.token_bytes(ids[0]))
    assert result.tokens == n_targets and result.bytes == n_bytes
    assert result.loss == pytest.approx(math.log(vocab.vocab_size), rel=1e-6)
    assert result.perplexity == pytest.approx(vocab.vocab_size, rel=1e-5)
    assert result.bits_per_byte == pytest.approx(n_targets * math.log(vocab.vocab_size) / math.log(2) / n_bytes,
                                                 rel=1e-6)


def test_non_uniform_logits_by_hand(vocab):
    ids = vocab.encode("the lazy dog. the quick fox.")
    weights = torch.arange(1, vocab.vocab_size + 1, dtype=torch.float)
    model = FixedLogits(weights, context_length=5)
    result = evaluate(model, ids, vocab, batch_size=2)
    total = float(weights.sum())
    nats = [-math.log(float(weights[t]) / total) for t in ids[1:]]
    n_bytes = sum(len(vocab.token_bytes(t)) for t in ids[1:])
    assert result.loss == pytest.approx(sum(nats) / len(nats), rel=1e-6)
    assert result.bits_per_byte == pytest.approx(sum(nats) / math.log(2) / n_bytes, rel=1e-6)


def test_separators_count_no_bytes_and_no_bits(vocab):
    eot = vocab.specials[EOT]
    a, b = vocab.encode("first document."), vocab.encode("second one.")
    ids = a + [eot] + b
    model = FixedLogits(torch.ones(vocab.vocab_size), context_length=64)
    result = evaluate(model, ids, vocab)
    text_targets = len(ids) - 2  # the first id and the separator carry no text
    n_bytes = len("first document.".encode()) + len("second one.".encode()) - len(vocab.token_bytes(a[0]))
    assert result.tokens == len(ids) - 1 and result.bytes == n_bytes
    assert result.loss == pytest.approx(math.log(vocab.vocab_size), rel=1e-6)
    assert result.bits_per_byte == pytest.approx(text_targets * math.log(vocab.vocab_size) / math.log(2) / n_bytes,
                                                 rel=1e-6)


@pytest.fixture(scope="module")
def tiny_gpt(vocab):
    torch.manual_seed(0)
    return registry.build_model("gpt2", vocab_size=vocab.vocab_size, emb_dim=16, n_heads=2, n_layers=1,
                                context_length=16).eval()


def test_loss_equals_training_loss_on_full_windows(vocab, tiny_gpt):
    ids = torch.tensor(vocab.encode(TEXT)[: 4 * 16 + 1])
    result = evaluate(tiny_gpt, ids, vocab, batch_size=4, full_windows_only=True)
    rows = torch.stack([ids[s:s + 17] for s in range(0, 64, 16)])
    assert result.tokens == 64
    assert result.loss == pytest.approx(loss_fn(tiny_gpt, rows[:, :-1], rows[:, 1:]).item(), rel=1e-5)


def test_shards_and_ids_agree_and_ranks_add_up(tmp_path, vocab, tiny_gpt):
    (tmp_path / "t.txt").write_text(TEXT, encoding="utf-8")
    prepare(vocab, [str(tmp_path / "t.txt")], tmp_path / "d", val_fraction=0.5)
    shards = TokenShards(tmp_path / "d")
    ids = shards.read("val", 0, shards.tokens("val"))
    from_shards = evaluate(tiny_gpt, shards, vocab, batch_size=3)
    from_ids = evaluate(tiny_gpt, ids, token_bytes(vocab), batch_size=5)
    assert from_shards.tokens == from_ids.tokens == len(ids) - 1
    assert from_shards.loss == pytest.approx(from_ids.loss, rel=1e-5)
    assert from_shards.bytes == shards.manifest.splits["val"].bytes - len(vocab.token_bytes(int(ids[0])))
    parts = [evaluate(tiny_gpt, shards, vocab, rank=r, world_size=2) for r in range(2)]
    assert sum(p.tokens for p in parts) == from_shards.tokens
    assert sum(p.bytes for p in parts) == from_shards.bytes
    assert sum(p.loss * p.tokens for p in parts) == pytest.approx(from_shards.loss * from_shards.tokens, rel=1e-5)
    capped = evaluate(tiny_gpt, shards, vocab, batch_size=2, max_batches=1)
    assert capped.tokens == 2 * 16
    assert not tiny_gpt.training


def test_bad_input(vocab, tiny_gpt):
    with pytest.raises(GptcoreError, match="too few to evaluate"):
        evaluate(tiny_gpt, [5], vocab)
    with pytest.raises(GptcoreError, match="one window of context 16 needs 17"):
        evaluate(tiny_gpt, list(range(10)), vocab, full_windows_only=True)
    with pytest.raises(GptcoreError, match="batch_size must be positive"):
        evaluate(tiny_gpt, list(range(10)), vocab, batch_size=0)
    with pytest.raises(GptcoreError, match="token-bytes table has 5 ids; the model has"):
        evaluate(tiny_gpt, list(range(10)), torch.ones(5, dtype=torch.long))
