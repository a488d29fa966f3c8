"""Pretraining loop: loss goes down, resuming from a checkpoint continues bit for bit."""

from __future__ import annotations

import torch

from gptcore import testing
from gptcore.training import TrainConfig, resume, split_tokens, train

TINY = dict(vocab_size=300, context_length=16, emb_dim=32, n_layers=2, n_heads=4, dropout=0.1)


def data(vocab):
    from tests.gptcore.helpers import TEXT

    return split_tokens(vocab.encode(TEXT * 2), 0.2)


def test_loss_goes_down(vocab):
    train_ids, val_ids = data(vocab)
    model = testing.build_tiny("gpt2", TINY)
    result = train(model, train_ids, val_ids, TrainConfig(steps=30, batch_size=4, lr=3e-3, eval_every=10))
    losses = [r["train_loss"] for r in result.history]
    vals = [r["val_loss"] for r in result.history if "val_loss" in r]
    assert len(vals) == 3 and vals[-1] < vals[0]
    assert sum(losses[-5:]) / 5 < sum(losses[:5]) / 5 - 0.5


def test_resume_continues_bit_for_bit(vocab, tmp_path):
    train_ids, val_ids = data(vocab)
    cfg = dict(batch_size=2, lr=2e-3, eval_every=3, checkpoint_every=3, seed=9)
    torch.manual_seed(0)
    straight = testing.build_tiny("gpt2", TINY)
    torch.manual_seed(1)
    full = train(straight, train_ids, val_ids, TrainConfig(steps=6, **cfg))

    torch.manual_seed(0)
    first = testing.build_tiny("gpt2", TINY)
    torch.manual_seed(1)
    train(first, train_ids, val_ids, TrainConfig(steps=3, **cfg), out_dir=tmp_path)
    torch.manual_seed(12345)  # resume must restore the RNG, not rely on it
    ckpt, opt, stored = resume(tmp_path / "checkpoint")
    stored.steps = 6
    rest = train(ckpt.model, train_ids, val_ids, stored, optimizer=opt, start_step=ckpt.step)
    assert [r["train_loss"] for r in rest.history] == [r["train_loss"] for r in full.history[3:]]
    for name, value in straight.state_dict().items():
        assert torch.equal(value, ckpt.model.state_dict()[name]), name
