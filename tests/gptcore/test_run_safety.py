"""Never destroy what gptcore did not write; recover every run it started (issue 20).

* ``--force`` in a directory of the user's own files refuses and leaves them (every command);
* a run killed at any write before its first checkpoint is taken over by the same command, or
  by ``--resume``, and ends with the weights of an uninterrupted run;
* readers (generate, eval, export) beside a live trainer change nothing, whatever process ids
  the trainer's temporary files carry; only the lock holder clears a dead writer's leftovers;
* checkpoints (by steps or by time, the default) leave the losses exactly as without them.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner

from gptcore.cli import main
from gptcore.data.preparation import prepare
from gptcore.data.shards import TokenShards
from gptcore.kit import testing
from gptcore.runs.checkpoint import load_checkpoint
from gptcore.runs.directory import Run
from gptcore.training.config import TrainConfig
from gptcore.training.loop import train

from tests.disk import snapshot
from tests.gptcore.helpers import TEXT

TINY = ["--preset", "gpt2-tiny", "--set", "emb_dim=32", "--set", "n_layers=1", "--set", "n_heads=2",
        "--set", "context_length=16", "--set", "dropout=0.1"]
DEAD_PID = 4_000_000  # above Linux's pid_max: no process here has it (as a writer in another namespace)


def cli(*args, ok: bool = True):
    result = CliRunner().invoke(main, [str(a) for a in args])
    if ok:
        assert result.exit_code == 0, result.output
    else:
        assert result.exit_code != 0, result.output
        lines = [line for line in result.output.strip().splitlines() if line.strip()]
        assert len(lines) == 1 and lines[0].startswith("Error: "), result.output
    return result


@pytest.fixture(scope="module")
def text(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("text") / "text.txt"
    path.write_text(TEXT * 2)
    return path


def thesis(directory: Path) -> None:
    (directory / "thesis.txt").write_text("three years of work")
    (directory / "src").mkdir()
    (directory / "src" / "main.py").write_text("print('mine')")


@pytest.mark.parametrize("command", ["pretrain", "vocab-sweep", "prepare", "export"])
def test_force_in_a_directory_of_the_users_files_refuses_and_leaves_them(command, vocab_dir, text, tmp_path,
                                                                         monkeypatch):
    work = tmp_path / "work"
    work.mkdir()
    thesis(work)
    monkeypatch.chdir(work)
    model = tmp_path / "model"
    if command == "export":
        from gptcore.runs.checkpoint import save_checkpoint

        net = testing.build_tiny("gpt2", dict(vocab_size=300, context_length=16, emb_dim=16, n_layers=1, n_heads=2))
        save_checkpoint(model, net, vocabulary=str(vocab_dir))
    argv = {
        "pretrain": ["pretrain", *TINY, "--tokenizer", vocab_dir, "--data", text, "--steps", "1", "--out", "."],
        "vocab-sweep": ["vocab-sweep", text, "--vocab", "256", "--bytes", "2000", "--set", "emb_dim=16",
                        "--set", "n_layers=1", "--set", "n_heads=2", "--context-bytes", "32", "--out", "."],
        "prepare": ["prepare", "--tokenizer", vocab_dir, "--data", text, "--out", "."],
        "export": ["export", model, "."],
    }[command]
    before = snapshot(work)
    for force in ((), ("--force",)):
        line = cli(*argv, *force, ok=False).output
        assert ("thesis.txt" in line and "src/" in line) or "working directory" in line, line
        assert snapshot(work) == before
    assert (work / "thesis.txt").read_text() == "three years of work"
    assert (work / "src" / "main.py").read_text() == "print('mine')"


# -- a run killed before its first checkpoint -------------------------------------------------------
CHILD = textwrap.dedent("""
    import sys
    from tests.killswitch import die_at_kth_replace
    from gptcore.cli import main
    die_at_kth_replace(int(sys.argv[1]))
    main(sys.argv[2:])
    """)


def _weights(run_dir: Path) -> dict[str, torch.Tensor]:
    return load_checkpoint(Run(run_dir).latest()).model.state_dict()


@pytest.fixture(scope="module")
def uninterrupted(vocab_dir, text, tmp_path_factory):
    out = tmp_path_factory.mktemp("whole") / "run"
    argv = [*TINY, "--tokenizer", vocab_dir, "--data", text, "--steps", "4", "--batch-size", "2",
            "--checkpoint-every", "2", "--eval-every", "2", "--sample-tokens", "0"]
    cli("pretrain", *argv, "--out", out)
    return [str(a) for a in argv], _weights(out)


# Renames up to the first checkpoint: 1-2 (and 6-9) are copies of the vocabulary its sha256 is
# computed from, in temporary directories (1-2 before the run directory exists); config.json (3),
# the vocabulary (4, 5), the shards (10, 11), the first checkpoint (12: its copy is complete, 13:
# in place).
FIRST_CHECKPOINT = 12


@pytest.mark.parametrize("kill_at, how", [(2, "same"), (3, "same"), (3, "resume"), (4, "same"), (5, "resume"),
                                          (7, "same"), (10, "resume"), (11, "same"), (12, "same"), (13, "resume")])
def test_a_run_killed_at_any_write_of_its_set_up_is_taken_over(uninterrupted, tmp_path, kill_at, how):
    argv, expected = uninterrupted
    out = tmp_path / "run"
    child = subprocess.run([sys.executable, "-c", CHILD, str(kill_at), "pretrain", *argv, "--out", str(out)],
                           capture_output=True, text=True, timeout=300)
    assert child.returncode == 9, child.stderr
    started = Run(out).steps()
    assert started == ([] if kill_at <= FIRST_CHECKPOINT else [2]), started
    if how == "resume" and kill_at == 3:  # no config.json yet: only the command knows the options
        line = cli("pretrain", "--resume", "--out", out, ok=False).output
        assert "unfinished run set-up" in line and "the command that started it" in line
        how = "same"
    if how == "same":
        cli("pretrain", *argv, "--out", out)  # the same command again: no --force needed
    else:
        shown = cli("pretrain", "--resume", "--out", out).output
        assert ("no checkpoint yet" in shown) == (kill_at <= FIRST_CHECKPOINT)
    got = _weights(out)
    assert Run(out).steps()[-1] == 4
    for name, value in expected.items():
        assert torch.equal(value, got[name]), name


def test_the_same_command_refuses_a_run_that_has_a_checkpoint(uninterrupted, tmp_path):
    argv, _ = uninterrupted
    out = tmp_path / "run"
    cli("pretrain", *argv, "--out", out, "--steps", "2")
    line = cli("pretrain", *argv, "--out", out, ok=False).output
    assert "holds a run (step 2); use --resume" in line


# -- readers beside a live writer --------------------------------------------------------------------
HOLDER = textwrap.dedent("""
    import fcntl, sys
    handle = open(sys.argv[1], "r+")
    fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    handle.seek(0); handle.truncate(); handle.write("pid 77 on another-host\\n"); handle.flush()
    print("locked", flush=True)
    sys.stdin.read()
    """)


def test_readers_beside_a_live_trainer_change_nothing_and_the_holder_clears_leftovers(uninterrupted, tmp_path):
    argv, _ = uninterrupted
    out = tmp_path / "run"
    cli("pretrain", *argv, "--out", out)
    checkpoints = out / "checkpoints"
    # The live trainer's half-written checkpoint, named with a process id this namespace lacks.
    partial = checkpoints / f".step-00000006.tmp-{DEAD_PID}-abc"
    partial.mkdir()
    (partial / "model.safetensors").write_bytes(b"half")
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(out / ".lock")], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        before = snapshot(out)
        cli("generate", out, "--prompt", "the quick", "--max-new-tokens", "3")
        cli("eval", out, "--data", out / "data")
        cli("export", out, tmp_path / "hf")
        assert Run(out).latest() == checkpoints / "step-00000004"
        assert "in use by pid 77 on another-host" in cli("pretrain", "--resume", "--out", out, "--steps", "6",
                                                         ok=False).output
        assert "in use" in cli("pretrain", *argv, "--out", out, "--force", ok=False).output
        assert snapshot(out) == before
    finally:
        holder.stdin.close()
        holder.wait(timeout=30)
    run = Run(out)
    run.lock()  # the lock is ours now: nobody else writes here, so the leftover is a dead writer's
    assert not partial.exists() and run.latest() == checkpoints / "step-00000004"
    run.close()


def test_a_run_file_that_is_a_symlink_is_not_written_through(uninterrupted, tmp_path):
    argv, _ = uninterrupted
    out = tmp_path / "run"
    cli("pretrain", *argv, "--out", out, "--steps", "2")
    victim = tmp_path / "victim.txt"
    victim.write_text("keep")
    (out / "metrics.jsonl").unlink()
    (out / "metrics.jsonl").symlink_to(victim)
    line = cli("pretrain", "--resume", "--out", out, "--steps", "4", ok=False).output
    assert "metrics.jsonl" in line and "symbolic link" in line
    assert victim.read_text() == "keep"


# -- checkpoints leave the losses as they were ------------------------------------------------------
def _history(result) -> list[dict]:
    timing = {"tokens_per_second", "mfu"}
    return [{k: v for k, v in r.items() if k not in timing} for r in result.history]


@pytest.fixture(scope="module")
def shards(vocab, tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("shards")
    (root / "text.txt").write_text(TEXT * 2)
    prepare(vocab, [str(root / "text.txt")], root / "data", val_fraction=0.2)
    return root / "data"


def _train(vocab, shards, run=None, **cfg):
    model = testing.build_tiny("gpt2", dict(vocab_size=vocab.vocab_size, context_length=16, emb_dim=16,
                                            n_layers=1, n_heads=2, dropout=0.1))
    torch.manual_seed(5)
    settings = {**dict(steps=6, batch_size=2, lr=3e-3, eval_every=3, log_every=2, sample_tokens=0, seed=2,
                       keep_last=0), **cfg}
    result = train(model, TokenShards(shards), TrainConfig(**settings), vocab=vocab, run=run)
    return result, model.state_dict()


@pytest.mark.parametrize("every, saved_at", [(1, [1, 2, 3, 4, 5, 6]), (3, [3, 6]), ("0.001s", [2, 3, 4, 6]),
                                             ("10m", [6]), (0, [6])])
def test_checkpoints_leave_losses_and_weights_exactly_as_without_them(vocab, shards, tmp_path, every, saved_at):
    plain, plain_weights = _train(vocab, shards, checkpoint_every=every)  # no run: nothing saved
    run = Run.create(tmp_path / "run", resume=False, force=False)
    saved, saved_weights = _train(vocab, shards, run=run, checkpoint_every=every)
    run.close()
    assert _history(saved) == _history(plain)
    for name, value in plain_weights.items():
        assert torch.equal(value, saved_weights[name]), name
    assert run.steps() == saved_at  # timed ones at log steps (2, 4, 6) and eval steps (3, 6)


def test_a_resume_from_a_checkpoint_between_log_steps_logs_the_same_averages(vocab, shards, tmp_path):
    run = Run.create(tmp_path / "whole", resume=False, force=False)
    whole, whole_weights = _train(vocab, shards, run=run, checkpoint_every=3, eval_every=5)  # logs: 2, 4, 5, 6
    run.close()
    part = tmp_path / "part"
    shutil.copytree(tmp_path / "whole", part)
    shutil.rmtree(part / "checkpoints" / "step-00000006")
    (part / "checkpoints" / "latest").write_text("step-00000003\n")
    resumed = Run(part)
    resumed.lock()
    resumed.truncate_metrics(3)
    ckpt = load_checkpoint(resumed.latest())
    assert ckpt.extra["log_window"]["steps"] == 1  # step 3 of the window 3-4
    cfg = TrainConfig(steps=6, batch_size=2, lr=3e-3, eval_every=5, log_every=2, sample_tokens=0, seed=2,
                      keep_last=0, checkpoint_every=3)
    train(ckpt.model, TokenShards(shards), cfg, vocab=vocab, run=resumed, resume_from=ckpt)
    resumed.close()
    logged = [(r["step"], r["loss"]) for r in resumed.metrics() if r["kind"] == "log"]
    assert logged == [(r["step"], r["loss"]) for r in whole.history if r["kind"] == "log"]
    for name, value in whole_weights.items():
        assert torch.equal(value, ckpt.model.state_dict()[name]), name


def test_the_default_cadence_is_time_based_and_documented():
    assert TrainConfig().checkpoint_every == "10m" and TrainConfig().cadence() == (0, 600.0)
    from gptcore.cli.pretrain import pretrain_cmd

    option = next(p for p in pretrain_cmd.params if p.name == "checkpoint_every")
    assert option.default == "10m" and "10m" in option.help
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    assert "--checkpoint-every" in readme and "every 10 minutes" in readme
