"""Run directories survive a kill at every instant of a checkpoint write: a reader finds the
newest complete checkpoint without changing anything, the lock holder removes the killed write's
leftovers, and resuming from it ends with the weights of an uninterrupted run."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch

from gptcore.kit import testing
from gptcore.runs.checkpoint import load_checkpoint
from gptcore.data.shards import TokenShards
from gptcore.data.preparation import prepare
from gptcore.runs.directory import Run
from gptcore.training.config import TrainConfig
from gptcore.training.loop import train

from tests.disk import snapshot

TINY = dict(context_length=16, emb_dim=16, n_layers=1, n_heads=2, dropout=0.1)
CFG = dict(steps=4, batch_size=2, lr=2e-3, eval_every=4, checkpoint_every=2, keep_last=1, sample_tokens=0, seed=3)

# The child trains into RUN and dies (os._exit) at the K-th os.replace: every rename of the
# checkpoint swap, the "latest" pointer and the plot, at both checkpoints (steps 2 and 4).
CHILD = textwrap.dedent("""
    import os, sys
    import torch
    from gptcore.kit import testing
    from gptcore.data import TokenShards
    from gptcore.runs import Run
    from gptcore.training import TrainConfig, train
    from gptcore.data.vocab import load_vocabulary
    run_dir, data, vocab_dir, k = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    tiny, cfg = {tiny!r}, {cfg!r}
    vocab = load_vocabulary(vocab_dir)
    run = Run.create(run_dir, resume=False, force=False)
    run.save_vocabulary(vocab)
    model = testing.build_tiny("gpt2", dict(tiny, vocab_size=vocab.vocab_size))
    torch.manual_seed(1)
    from tests.killswitch import die_at_kth_replace
    die_at_kth_replace(k)
    train(model, TokenShards(data), TrainConfig(**cfg), vocab=vocab, run=run)
    """).format(tiny=TINY, cfg=CFG)
RENAMES = 8  # 4 per checkpoint: tmp -> new -> checkpoint, latest pointer, loss.png


@pytest.fixture(scope="module")
def setup(vocab, vocab_dir, tmp_path_factory):
    from tests.gptcore.helpers import TEXT

    root = tmp_path_factory.mktemp("crash")
    (root / "text.txt").write_text(TEXT * 2)
    prepare(vocab, [str(root / "text.txt")], root / "data", val_fraction=0.2)
    model = testing.build_tiny("gpt2", dict(TINY, vocab_size=vocab.vocab_size))
    torch.manual_seed(1)
    train(model, TokenShards(root / "data"), TrainConfig(**CFG), vocab=vocab)
    return root, model.state_dict()


@pytest.mark.parametrize("kill_at", range(1, RENAMES + 2))
def test_kill_at_each_rename_of_a_checkpoint_write_is_recovered(setup, vocab, vocab_dir, tmp_path, kill_at):
    root, expected = setup
    run_dir = tmp_path / "run"
    child = subprocess.run([sys.executable, "-c", CHILD, str(run_dir), str(root / "data"), str(vocab_dir),
                            str(kill_at)], capture_output=True, text=True, timeout=120)
    assert child.returncode == (9 if kill_at <= RENAMES else 0), child.stderr
    run = Run(run_dir)
    before = snapshot(run_dir)
    latest = run.latest()  # a reader: finds the newest complete checkpoint, changes nothing
    step = load_checkpoint(latest).step if latest is not None else None
    assert snapshot(run_dir) == before
    run.lock()  # the lock holder alone finishes or clears what the killed writer left
    leftovers = [p.name for p in (run_dir / "checkpoints").iterdir() if p.name.startswith(".step-")]
    assert leftovers == []
    if latest is None:  # killed before the first checkpoint was complete
        assert kill_at <= 1 and run.latest() is None
        run.close()
        return
    assert run.latest() == latest and load_checkpoint(latest).step == step
    # The first checkpoint is complete once its new copy is renamed (kill 2 and later).
    assert step == (2 if kill_at <= 5 else 4), (kill_at, run.steps())
    run.truncate_metrics(step)
    ckpt = load_checkpoint(latest)
    train(ckpt.model, TokenShards(root / "data"), TrainConfig(**CFG), vocab=vocab, run=run, resume_from=ckpt)
    run.close()
    for name, value in expected.items():
        assert torch.equal(value, ckpt.model.state_dict()[name]), name
    assert run.steps()[-1] == 4


def test_loss_plot_draws_the_logged_curve_and_names_run_vocabulary_and_bpb(tmp_path: Path,
                                                                          monkeypatch) -> None:
    import matplotlib.axes

    run = Run.create(tmp_path / "tiny-run", resume=False, force=False)
    run.write_config({"options": {"tokenizer": "vocabs/wagahai-5000"},
                      "model": {"config": {"vocab_size": 5000}}})
    for step in range(10, 70, 10):  # logged every 10 steps, evaluated twice
        run.log({"kind": "log", "step": step, "tokens": step * 64, "loss": 9.0 - step / 10})
    run.log({"kind": "eval", "step": 30, "tokens": 1920, "train_loss": 6.0, "val_loss": 6.5, "val_bpb": 2.25})
    run.log({"kind": "eval", "step": 60, "tokens": 3840, "train_loss": 3.1, "val_loss": 5.9, "val_bpb": 1.875})
    drawn: list[tuple[list[float], list[float], str]] = []
    real_plot = matplotlib.axes.Axes.plot

    def spy(self, *args, **kwargs):
        drawn.append((list(args[0]), list(args[1]), kwargs.get("label", "")))
        return real_plot(self, *args, **kwargs)

    monkeypatch.setattr(matplotlib.axes.Axes, "plot", spy)
    assert run.plot() == tmp_path / "tiny-run" / "loss.png" and run.plot().stat().st_size > 1000
    curve = [d for d in drawn if d[2].startswith("training loss (logged)")][0]
    assert curve[0] == [640, 1280, 1920, 2560, 3200, 3840] and curve[1] == [8.0, 7.0, 6.0, 5.0, 4.0, 3.0]
    val = [d for d in drawn if d[2] == "validation loss"][0]
    assert val[0] == [1920, 3840] and val[1] == [6.5, 5.9]
    title = run.title(run.metrics())
    assert title == "run tiny-run · vocabulary wagahai-5000 (5,000 tokens) · final val 1.875 bits/byte"
    run.close()


def test_loss_plot_title_survives_a_hostile_config(tmp_path: Path) -> None:
    run = Run.create(tmp_path / "r", resume=False, force=False)
    (tmp_path / "r" / "config.json").write_text('{"options": "x", "model": {"config": [1]}}')
    run.log({"kind": "log", "step": 1, "tokens": 8, "loss": float("nan")})
    assert run.title(run.metrics()) == "run r"
    assert run.plot() is None  # nothing finite to draw yet
    run.close()
