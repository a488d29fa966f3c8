"""``gptcore pretrain`` as a user runs it: run directories that refuse, lock, resume with the
stored options, travel (generate / export after a move), and refuse a look-alike vocabulary;
bad input leaves nothing behind."""

from __future__ import annotations

import fcntl
import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from gptcore.cli import main

TINY = ["--preset", "gpt2-tiny", "--set", "emb_dim=32", "--set", "n_layers=1", "--set", "n_heads=2",
        "--set", "context_length=16"]


def run(*args, ok: bool = True):
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
    from tests.gptcore.helpers import TEXT

    path = tmp_path_factory.mktemp("text") / "text.txt"
    path.write_text(TEXT * 2)
    return path


@pytest.fixture(scope="module")
def trained(vocab_dir, text, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("runs") / "run"
    run("pretrain", *TINY, "--tokenizer", vocab_dir, "--data", text, "--out", out, "--steps", "4",
        "--batch-size", "2", "--eval-every", "2", "--lr", "3e-3", "--sample-tokens", "3")
    return out


def test_a_run_holds_config_vocab_checkpoints_metrics_and_plot(trained):
    config = json.loads((trained / "config.json").read_text())
    assert config["options"]["steps"] == 4 and config["options"]["batch_size"] == 2
    assert len(config["vocabulary_sha256"]) == 64
    assert (trained / "vocab").is_dir() and (trained / "loss.png").stat().st_size > 1000
    assert (trained / "checkpoints" / "latest").read_text().strip() == "step-00000004"
    meta = json.loads((trained / "checkpoints" / "step-00000004" / "checkpoint.json").read_text())
    assert meta["vocabulary"] == "../../vocab"  # relative: the run travels
    records = [json.loads(line) for line in (trained / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records if r["kind"] == "eval"] == [0, 2, 4]
    assert all(r["val_bpb"] > 0 for r in records if r["kind"] == "eval")


def test_moved_run_generates_the_same_text(trained, tmp_path):
    before = run("generate", trained, "--prompt", "the quick", "--greedy", "--max-new-tokens", "6").output
    moved = tmp_path / "elsewhere" / "run"
    shutil.copytree(trained, moved)
    after = run("generate", moved, "--prompt", "the quick", "--greedy", "--max-new-tokens", "6").output
    assert after == before and len(before.strip()) > len("the quick")
    assert "loss" in run("eval", moved, "--data", moved / "data").output


def test_existing_run_is_refused_without_resume_and_force_starts_over(trained, vocab_dir, text, tmp_path):
    copy = tmp_path / "run"
    shutil.copytree(trained, copy)
    before = (copy / "metrics.jsonl").read_text()
    err = run("pretrain", *TINY, "--tokenizer", vocab_dir, "--data", text, "--out", copy, "--steps", "2", ok=False)
    assert "holds a run (step 4); use --resume to continue it, or --force" in err.output
    assert (copy / "metrics.jsonl").read_text() == before
    run("pretrain", *TINY, "--tokenizer", vocab_dir, "--data", text, "--out", copy, "--steps", "2",
        "--eval-every", "2", "--sample-tokens", "0", "--force")
    assert json.loads((copy / "config.json").read_text())["options"]["steps"] == 2
    assert (copy / "checkpoints" / "latest").read_text().strip() == "step-00000002"
    assert not (copy / "checkpoints" / "step-00000004").exists()


def test_a_second_process_is_refused_by_the_lock(trained, tmp_path):
    copy = tmp_path / "run"
    shutil.copytree(trained, copy)
    with open(copy / ".lock", "w") as held:
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
        held.write("pid 4242\n")
        held.flush()
        err = run("pretrain", "--resume", "--out", copy, "--steps", "6", ok=False)
    assert "in use by pid 4242" in err.output
    assert (copy / "checkpoints" / "latest").read_text().strip() == "step-00000004"


def test_resume_keeps_stored_options_and_names_the_overrides(trained, tmp_path):
    copy = tmp_path / "run"
    shutil.copytree(trained, copy)
    out = run("pretrain", "--resume", "--out", copy, "--steps", "6", "--sample-tokens", "3").output
    assert "resuming" in out and "at step 4" in out
    assert "overridden on the command line: --steps 4 -> 6" in out
    assert "--batch-size=2" in out and "--lr=0.003" in out  # stored, not the CLI defaults
    config = json.loads((copy / "config.json").read_text())
    assert config["options"]["batch_size"] == 2
    assert (copy / "checkpoints" / "latest").read_text().strip() == "step-00000006"
    steps = [json.loads(line)["step"] for line in (copy / "metrics.jsonl").read_text().splitlines()]
    assert steps == sorted(steps) and steps[-1] == 6


@pytest.mark.parametrize("flags, needle", [
    (["--preset", "gpt2-mini"], "--preset gpt2-mini differs from the run's gpt2-tiny"),
    (["--set", "n_layers=3"], "--set n_layers=3 differs"),
])
def test_resume_refuses_other_architecture_flags(trained, tmp_path, flags, needle):
    copy = tmp_path / "run"
    shutil.copytree(trained, copy)
    err = run("pretrain", "--resume", "--out", copy, "--steps", "6", *flags, ok=False)
    assert needle in err.output


def test_a_lookalike_vocabulary_of_the_same_size_is_refused(trained, tmp_path):
    from tests.gptcore.helpers import train_vocab

    other = train_vocab(tmp_path / "other", specials=["<a>", "<b>", "<c>", "<d>", "<e>"])
    err = run("generate", trained, "--tokenizer", other, "--prompt", "the", ok=False)
    assert "sha256" in err.output and "same size" in err.output
    err = run("eval", trained, "--tokenizer", other, "--data", trained / "data", ok=False)
    assert "sha256" in err.output


def test_export_hf_of_a_run_loads_in_transformers_and_generates_the_same_text(trained, tmp_path):
    transformers = pytest.importorskip("transformers")
    import torch

    run("export", trained, tmp_path / "hf", "--format", "hf")
    config = json.loads((tmp_path / "hf" / "config.json").read_text())
    vocab_meta = json.loads((trained / "vocab" / "tokenkit.json").read_text())
    eot = vocab_meta["special_tokens"].get("<eos>")
    assert config["eos_token_id"] == config["bos_token_id"] == eot  # the run's, not GPT-2's 50256
    tok = transformers.AutoTokenizer.from_pretrained(str(tmp_path / "hf"))
    model = transformers.AutoModelForCausalLM.from_pretrained(str(tmp_path / "hf")).eval()
    prompt = "the quick brown"
    ids = tok(prompt, return_tensors="pt").input_ids
    with torch.no_grad():
        out = model.generate(ids, max_new_tokens=6, do_sample=False, eos_token_id=None, pad_token_id=0)
    theirs = tok.decode(out[0])
    ours = run("generate", trained, "--prompt", prompt, "--greedy", "--max-new-tokens", "6").output
    assert theirs == ours.rstrip("\n")


def test_export_hf_of_a_vocabulary_without_end_of_text_sets_no_special_ids(vocab_dir, text, tmp_path):
    from tests.gptcore.helpers import train_vocab

    plain = train_vocab(tmp_path / "plain", specials=[])
    out = tmp_path / "run"
    run("pretrain", *TINY, "--tokenizer", plain, "--data", text, "--out", out, "--steps", "1", "--sample-tokens", "0")
    run("export", out, tmp_path / "hf")
    config = json.loads((tmp_path / "hf" / "config.json").read_text())
    assert config["bos_token_id"] is None and config["eos_token_id"] is None


@pytest.mark.parametrize("flags, needle", [
    (["--batch-size", "0"], "--batch-size must be positive, got 0"),
    (["--steps", "-3"], "--steps must be positive, got -3"),
    (["--val-fraction", "1.5"], "--val-fraction must be between 0 and 1"),
    (["--val-fraction", "0"], "--val-fraction must be between 0 and 1"),
    (["--set", "vocab_size=100"], "vocab size"),
])
def test_bad_input_is_one_line_and_writes_nothing(vocab_dir, text, tmp_path, flags, needle):
    out = tmp_path / "run"
    err = run("pretrain", *TINY, "--tokenizer", vocab_dir, "--data", text, "--out", out, *flags, ok=False)
    assert needle in err.output
    assert not out.exists()


def test_a_corpus_too_short_says_how_many_tokens_it_needs(vocab_dir, tmp_path):
    short = tmp_path / "short.txt"
    short.write_text("the quick brown fox " * 3)
    out = tmp_path / "run"
    err = run("pretrain", *TINY, "--tokenizer", vocab_dir, "--data", short, "--out", out, ok=False)
    assert "needs 17" in err.output
    assert not out.exists()


def test_recipe_values_are_shown_and_command_line_flags_win(vocab_dir, text, tmp_path):
    out = tmp_path / "run"
    shown = run("pretrain", "--recipe", "textbook-ch5", *TINY, "--set", "tie_weights=false", "--set", "init=pytorch",
                "--tokenizer", vocab_dir, "--data", text, "--out", out, "--epochs", "0.2", "--sample-tokens", "0").output
    assert "recipe textbook-ch5: --preset gpt2-124m-ctx256" in shown
    assert "command line over the recipe:" in shown and "--epochs" in shown
    options = json.loads((out / "config.json").read_text())["options"]
    assert options["lr"] == 4e-4 and options["beta2"] == 0.999 and options["decay_all"] is True
    assert options["epochs"] == 0.2 and options["preset"] == "gpt2-tiny" and options["eval_start"] == 1


def _edit_rng(run_dir: Path, **changes) -> Path:
    meta_path = run_dir / "checkpoints" / "step-00000004" / "checkpoint.json"
    meta = json.loads(meta_path.read_text())
    meta["rng"].update(changes)
    meta_path.write_text(json.dumps(meta))
    return meta_path


@pytest.mark.parametrize("part, value", [("torch", "AAAA"), ("torch", 5), ("python", [1, 2]),
                                         ("numpy", "x"), ("cuda", "not base64!")])
def test_resume_with_a_corrupt_rng_state_is_one_line_naming_checkpoint_and_part(trained, tmp_path, part, value):
    copy = tmp_path / "run"
    shutil.copytree(trained, copy)
    meta_path = _edit_rng(copy, **{part: value})  # a bad "cuda" part is refused on any machine
    err = run("pretrain", "--resume", "--out", copy, "--steps", "6", ok=False)
    assert f'RNG state "{part}" is unreadable' in err.output and str(meta_path) in err.output
    assert (copy / "checkpoints" / "latest").read_text().strip() == "step-00000004"  # nothing new


def test_a_checkpoint_with_a_cuda_rng_state_resumes_on_a_machine_without_one(trained, tmp_path):
    """A run started on a GPU (its checkpoint carries the CUDA generator's state) continues on a
    CPU-only machine; the CPU, python and numpy states are still restored exactly."""
    import base64

    import torch

    if torch.cuda.is_available():
        pytest.skip("checks the CPU-only side")
    copy = tmp_path / "run"
    shutil.copytree(trained, copy)
    _edit_rng(copy, cuda=base64.b64encode(bytes(16)).decode())
    out = run("pretrain", "--resume", "--out", copy, "--steps", "6", "--sample-tokens", "3").output
    assert "resuming" in out
    plain = tmp_path / "plain"
    shutil.copytree(trained, plain)
    run("pretrain", "--resume", "--out", plain, "--steps", "6", "--sample-tokens", "3")
    losses = [[r.get("loss") for r in map(json.loads, (d / "metrics.jsonl").read_text().splitlines())]
              for d in (copy, plain)]
    assert losses[0] == losses[1]
