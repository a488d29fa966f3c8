"""The pretraining loop: loss goes down, logged bits per byte equal gptcore.eval's, resuming
continues exactly (dropout on), learning-rate schedules have their shapes, the textbook recipe
builds the book's initial weights."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch

from gptcore.kit import testing
from gptcore.runs.checkpoint import load_checkpoint
from gptcore.data.shards import TokenShards
from gptcore.data.preparation import prepare
from gptcore.eval.bpb import evaluate
from gptcore.runs.directory import Run
from gptcore.training.config import TrainConfig, get_lr
from gptcore.training.loop import native_bf16, train, use_bf16

TINY = dict(context_length=16, emb_dim=32, n_layers=2, n_heads=4)


@pytest.fixture(scope="module")
def shards(vocab, tmp_path_factory) -> TokenShards:
    from tests.gptcore.helpers import TEXT

    root = tmp_path_factory.mktemp("shards")
    (root / "text.txt").write_text(TEXT * 2)
    prepare(vocab, [str(root / "text.txt")], root / "data", val_fraction=0.2)
    return TokenShards(root / "data")


def tiny(vocab, dropout: float = 0.0):
    return testing.build_tiny("gpt2", dict(TINY, vocab_size=vocab.vocab_size, dropout=dropout))


def evals(result):
    return [r for r in result.history if r["kind"] == "eval"]


def test_loss_goes_down_and_every_step_is_logged(vocab, shards):
    cfg = TrainConfig(steps=30, batch_size=4, lr=3e-3, eval_every=10, log_every=1, sample_tokens=4)
    result = train(tiny(vocab), shards, cfg, vocab=vocab)
    logs = [r["loss"] for r in result.history if r["kind"] == "log"]
    vals = [r["val_loss"] for r in evals(result)]
    assert len(logs) == 30 and [r["step"] for r in evals(result)] == [0, 10, 20, 30]
    assert vals[-1] < vals[0] - 0.5
    assert sum(logs[-5:]) / 5 < sum(logs[:5]) / 5 - 0.5
    assert isinstance(evals(result)[-1]["sample"], str)
    assert result.tokens_per_second > 0 and result.step == 30


def test_logged_bits_per_byte_equal_gptcore_eval(vocab, shards):
    cfg = TrainConfig(steps=3, batch_size=2, lr=1e-3, eval_every=3, eval_batches=2, sample_tokens=0)
    model = tiny(vocab)
    last = evals(train(model, shards, cfg, vocab=vocab))[-1]
    direct = evaluate(model, shards, vocab, split="val", batch_size=2, max_batches=2, full_windows_only=True,
                      bf16=use_bf16(cfg, torch.device("cpu")))  # the loop's own precision choice
    assert last["val_bpb"] == pytest.approx(direct.bits_per_byte, rel=1e-9)
    assert last["val_loss"] == pytest.approx(direct.loss, rel=1e-9)
    assert last["val_perplexity"] == pytest.approx(math.exp(direct.loss), rel=1e-9)


@pytest.mark.parametrize("order", ["sequential", "loader"])
def test_resume_equals_an_uninterrupted_run_with_dropout(vocab, shards, tmp_path, order):
    """Stopped mid-epoch (the loader order's epoch permutation must travel in the checkpoint)."""
    cfg = dict(steps=6, batch_size=2, lr=2e-3, warmup_steps=2, lr_schedule="cosine", eval_every=2,
               log_every=1, checkpoint_every=0, seed=9, sample_tokens=3, order=order)
    torch.manual_seed(1)
    straight = tiny(vocab, dropout=0.2)
    full = train(straight, shards, TrainConfig(**cfg), vocab=vocab)

    run = Run.create(tmp_path / "run", resume=False, force=False)
    run.save_vocabulary(vocab)
    torch.manual_seed(1)
    train(tiny(vocab, dropout=0.2), shards, TrainConfig(**cfg), vocab=vocab, run=run, until=3)
    assert run.steps() == [3]
    torch.manual_seed(12345)  # resuming must restore the RNG, not rely on it
    ckpt = load_checkpoint(run.latest())
    rest = train(ckpt.model, shards, TrainConfig(**cfg), vocab=vocab, run=run, resume_from=ckpt)
    run.close()
    key = [(r["kind"], r["step"], r.get("loss"), r.get("val_loss"), r.get("sample")) for r in full.history
           if r["step"] > 3]
    got = [(r["kind"], r["step"], r.get("loss"), r.get("val_loss"), r.get("sample")) for r in rest.history]
    assert got == key
    for name, value in straight.state_dict().items():
        assert torch.equal(value, ckpt.model.state_dict()[name]), name
    assert run.steps() == [3, 6] and run.latest().name == "step-00000006"
    assert shards.plan("train", batch_size=2, context_length=16).steps_per_epoch > 3  # mid-epoch


@pytest.mark.parametrize("schedule", ["cosine", "linear", "constant"])
def test_schedule_shapes(schedule):
    cfg = TrainConfig(lr=1.0, min_lr=0.1, warmup_steps=10, lr_schedule=schedule)
    total = 110
    warm = [get_lr(s, cfg, total) for s in range(10)]
    assert warm == sorted(warm) and warm[0] == pytest.approx(1 / 11) and warm[-1] < 1.0
    assert get_lr(10, cfg, total) == pytest.approx(1.0)  # warmup ends at the peak
    middle, end = get_lr(60, cfg, total), get_lr(110, cfg, total)
    if schedule == "constant":
        assert middle == end == 1.0
    else:
        assert middle == pytest.approx(0.55)  # halfway between lr and min_lr, for both shapes
        assert end == pytest.approx(0.1)
        quarter = get_lr(35, cfg, total)
        expected = 0.1 + 0.5 * (1 + math.cos(math.pi / 4)) * 0.9 if schedule == "cosine" else 1.0 - 0.25 * 0.9
        assert quarter == pytest.approx(expected)


def test_budget_in_epochs_and_tokens(vocab, shards):
    plan = shards.plan("train", batch_size=2, context_length=16)
    assert TrainConfig(epochs=2).total_steps(plan) == 2 * plan.steps_per_epoch
    assert TrainConfig(tokens=plan.tokens_per_step * 3 + 1).total_steps(plan) == 4
    assert TrainConfig().total_steps(plan) == TrainConfig.DEFAULT_STEPS


def test_grad_accumulation_equals_a_bigger_batch(vocab, shards):
    common = dict(steps=3, lr=2e-3, log_every=1, eval_every=3, sample_tokens=0,
                  bf16=False)  # the split is what is compared: bf16 rounding would blur the 1e-5 check
    big = train(tiny(vocab), shards, TrainConfig(batch_size=4, **common), vocab=vocab)
    acc = train(tiny(vocab), shards, TrainConfig(batch_size=2, grad_accum=2, **common), vocab=vocab)
    a = [r.get("loss", r.get("val_loss")) for r in big.history]
    b = [r.get("loss", r.get("val_loss")) for r in acc.history]
    assert a == pytest.approx(b, abs=1e-5)


def test_textbook_recipe_builds_the_books_initial_weights():
    """init=pytorch, an untied head and seed 123 give llms-from-scratch's GPTModel, tensor for tensor."""
    ch04 = pytest.importorskip("llms_from_scratch.ch04")
    from gptcore.platform import registry
    from gptcore.cli.common import parse_sets
    from gptcore.training.recipes import recipe

    r = recipe("textbook-ch5")
    small = dict(context_length=16, emb_dim=24, n_layers=2, n_heads=2, vocab_size=50)
    torch.manual_seed(r["seed"])
    ours = registry.build_model(None, r["preset"], **{**small, **parse_sets(r["sets"])})
    torch.manual_seed(r["seed"])
    book = ch04.GPTModel({"vocab_size": 50, "context_length": 16, "emb_dim": 24, "n_heads": 2, "n_layers": 2,
                          "drop_rate": 0.1, "qkv_bias": False})
    assert torch.equal(ours.tok_emb.weight, book.tok_emb.weight)
    assert torch.equal(ours.lm_head.weight, book.out_head.weight)
    for mine, theirs in zip(ours.blocks, book.trf_blocks):
        att = theirs.att
        assert torch.equal(mine.attn.qkv.weight, torch.cat([att.W_query.weight, att.W_key.weight, att.W_value.weight]))
        assert torch.equal(mine.mlp.proj.weight, theirs.ff.layers[2].weight)
    assert ours.config.dropout == 0.1 and not ours.config.qkv_bias and not ours.config.tie_weights


def test_auto_precision_is_bf16_exactly_where_the_device_has_it_natively():
    cpu = torch.device("cpu")
    assert use_bf16(TrainConfig(), cpu) is native_bf16(cpu)
    assert use_bf16(TrainConfig(bf16=False), cpu) is False
    assert use_bf16(TrainConfig(bf16=True), cpu) is True
    flags = Path("/proc/cpuinfo").read_text().split() if Path("/proc/cpuinfo").exists() else None
    if flags is not None:  # the probe agrees with what the kernel reports for this CPU
        assert native_bf16(cpu) == ("avx512_bf16" in flags or "amx_bf16" in flags)
    assert native_bf16(torch.device("meta")) is False
