"""gptcore vocab-sweep: bits per byte by hand, equal bytes, no validation leak, end to end, resume."""

from __future__ import annotations

import json
import math
import random
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

import tokenkit
from gptcore.sweep import runner as sweep
from gptcore.runs.checkpoint import load_checkpoint
from gptcore.runs.directory import Run
from gptcore.cli import main
from gptcore.data.shards import TokenShards
from gptcore.errors import GptcoreError
from gptcore.sweep.config import SweepConfig, parameter_split, plan_budget
from gptcore.sweep.runner import run_sweep

WORDS = ("the cat sat on a mat and then it ran to see what was there so we all went home "
         "after dinner while rain fell over quiet old town roads").split()
MARKER = "ZQXJVWK"


def prose(n_words: int, seed: int) -> str:
    rng = random.Random(seed)
    lines, line = [], []
    for _ in range(n_words):
        line.append(rng.choice(WORDS))
        if len(line) == 12:
            lines.append(" ".join(line).capitalize() + ".")
            line = []
    return "\n".join(lines) + "\n"


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """Tiny models train fastest on one thread (two spin against each other on a busy machine)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    """One document (split by its tail); the marker appears only in the last 10%."""
    path = tmp_path_factory.mktemp("corpus") / "tiny.txt"
    body = prose(1600, 0)
    tail = " ".join([MARKER] * 40) + "\n" + prose(60, 1)
    path.write_text(body + tail, encoding="utf-8")
    text = path.read_text(encoding="utf-8")
    assert text.index(MARKER) >= int(0.9 * len(text))  # the marker lives in the validation tail
    return path


def tiny(corpus: Path, **overrides) -> SweepConfig:
    values = dict(sources=(str(corpus),), sizes=(256, 300), seeds=1,
                  model=dict(emb_dim=16, n_layers=1, n_heads=2), budget_bytes=3000, context_bytes=32,
                  batch_size=4, lr=3e-3, device="cpu")
    values.update(overrides)
    return SweepConfig(**values)


@pytest.fixture(scope="module")
def finished(tmp_path_factory, corpus):
    out = tmp_path_factory.mktemp("sweep") / "s"
    return run_sweep(tiny(corpus, sizes=(256, 300, 20000)), out)


# ------------------------------------------------------------------------------------------
# end to end
# ------------------------------------------------------------------------------------------
def test_sweep_runs_end_to_end_and_writes_every_result(finished):
    out = finished.out
    assert [r.vocab_size for r in finished.runs] == [256, 300, 20000]
    for name in ("results.csv", "results.json", "bpb.png", "sweep.json"):
        assert (out / name).is_file()
    assert (out / "bpb.png").read_bytes()[:4] == b"\x89PNG"
    lines = (out / "results.csv").read_text().splitlines()
    assert len(lines) == 4 and lines[0].startswith("vocab_size,actual_vocab_size,seed,val_bits_per_byte")
    data = json.loads((out / "results.json").read_text())
    assert [s["vocab_size"] for s in data["summary"]] == [256, 300, 20000]
    for run in finished.runs:
        directory = out / "runs" / f"v{run.vocab_size}-seed0"
        for name in ("done.json", "metrics.json", "loss.png", "metrics.jsonl", "config.json", "vocab/tokenkit.json"):
            assert (directory / name).exists(), name
        assert Run(directory).latest() is not None  # a run directory `gptcore generate` can load
        assert math.isfinite(run.val_bits_per_byte) and 0 < run.val_bits_per_byte < 10
        assert run.params_embedding > 0 and run.params_rest > 0


def test_byte_vocabulary_and_unreachable_size_are_recorded(finished):
    byte_run, _, big = finished.runs
    assert byte_run.actual_vocab_size == 256 and byte_run.bytes_per_token == 1.0
    assert byte_run.context_tokens == 32  # 32 bytes of context = 32 byte tokens
    vocab = tokenkit.load(str(finished.out / "vocabs" / "v256"))
    assert vocab.metadata["training"]["merges"] == 0
    assert big.actual_vocab_size < 20000 and "20000" in big.warning
    assert any("20000" in w for w in finished.warnings)
    assert big.context_tokens < 32 and big.bytes_per_token > 1.5  # same bytes, fewer tokens


def test_bits_per_byte_is_summed_nats_over_ln2_over_utf8_bytes_by_hand(finished, corpus):
    run = finished.runs[1]
    ckpt = load_checkpoint(Run(finished.out / "runs" / "v300-seed0").latest())
    model = ckpt.model.eval()
    vocab = tokenkit.load(str(finished.out / "vocabs" / "v300"))
    shards = TokenShards(finished.out / "shards" / "v300")
    ids = torch.from_numpy(shards.read("val", 0, shards.tokens("val")))
    ctx = run.context_tokens
    nats, n_bytes, targets = 0.0, 0, 0
    with torch.no_grad():
        for start in range(0, len(ids) - 1, ctx):  # consecutive windows: every target once
            window = ids[start:start + ctx + 1]
            if len(window) < 2:
                break
            logits = model(window[:-1][None])[0]
            nats += F.cross_entropy(logits.double(), window[1:], reduction="sum").item()
            n_bytes += sum(len(vocab.token_bytes(int(i))) for i in window[1:])
            targets += len(window) - 1
    text = corpus.read_text(encoding="utf-8")
    val_text = text[int(0.9 * len(text)):]
    # every byte of the validation text but the first token's is a scored target's
    assert n_bytes == len(val_text.encode()) - len(vocab.token_bytes(int(ids[0]))) == run.val_bytes
    assert targets == run.val_tokens
    assert run.val_bits_per_byte == pytest.approx(nats / math.log(2) / n_bytes, rel=1e-5)
    assert run.val_loss == pytest.approx(nats / targets, rel=1e-5)


# ------------------------------------------------------------------------------------------
# equal budgets
# ------------------------------------------------------------------------------------------
def test_equal_bytes_give_every_vocabulary_the_same_text_within_one_batch(finished):
    budget = 3000
    batch = finished.settings["batch_size"]
    for run in finished.runs:
        one_batch = batch * run.context_tokens * run.train_bytes_per_token
        assert abs(run.train_bytes - budget) <= one_batch / 2 + 1e-9
        assert run.train_tokens % (batch * run.context_tokens) == 0
        history = json.loads((finished.out / "runs" / f"v{run.vocab_size}-seed0" / "metrics.json").read_text())
        assert history["history"][-1]["tokens"] == run.train_tokens  # the loop trained exactly that
    spread = max(r.train_bytes for r in finished.runs) - min(r.train_bytes for r in finished.runs)
    assert spread <= max(batch * r.context_tokens * r.train_bytes_per_token for r in finished.runs)


@settings(max_examples=200, deadline=None)
@given(bpt=st.floats(1.0, 8.0), context_bytes=st.integers(8, 4096), budget=st.integers(10**5, 10**9))
def test_bytes_plan_is_within_half_a_batch(bpt, context_bytes, budget):
    ctx = max(1, round(context_bytes / bpt))
    for batch in (1, 3, 16):
        if budget < batch * ctx * bpt:
            continue
        sequences = plan_budget("bytes", budget, train_bytes_per_token=bpt, context_tokens=ctx,
                                batch_size=batch, flops_per_token=0.0)
        assert sequences % batch == 0
        assert abs(sequences * ctx * bpt - budget) <= batch * ctx * bpt / 2 + 1e-6


def test_flops_budget_counts_non_embedding_parameters_and_attention(tmp_path, corpus):
    model = sweep.build(tiny(corpus), 300, 10, 0)
    emb, rest = parameter_split(model)
    assert emb == (300 + 10) * 16  # tied token table + positions
    assert emb + rest == sum(p.numel() for p in model.parameters())
    untied = sweep.build(tiny(corpus, model=dict(emb_dim=16, n_layers=1, n_heads=2, tie_weights=False)), 300, 10, 0)
    assert parameter_split(untied) == (emb + 300 * 16, rest)
    assert sweep.flops_per_token(model, 10) == 6 * rest + 12 * 1 * 16 * 10
    result = run_sweep(tiny(corpus, budget_bytes=None, budget_flops=2e8), tmp_path / "f")
    for run in result.runs:
        per_token = 6 * run.params_rest + 12 * 16 * run.context_tokens
        assert run.train_flops == pytest.approx(per_token * run.train_tokens)
        batch = result.settings["batch_size"]  # whole batches: within half a batch of the budget
        assert abs(run.train_flops - 2e8) <= per_token * run.context_tokens * batch / 2 + 1


# ------------------------------------------------------------------------------------------
# the vocabularies never see validation text
# ------------------------------------------------------------------------------------------
def test_vocabularies_are_trained_on_the_training_split_only(finished, corpus):
    text = corpus.read_text(encoding="utf-8")
    train_text = text[:int(0.9 * len(text))]
    vocab = tokenkit.load(str(finished.out / "vocabs" / "v20000"))
    assert vocab.metadata["training"]["corpus_bytes"] == len(train_text.encode())
    pieces = {vocab.token_bytes(i) for i in range(vocab.vocab_size)}
    assert not any(b"ZQ" in p or b"XJ" in p or b"VWK" in p for p in pieces if p)
    # control: trained on all the text, the same size does learn the marker
    leaky = tokenkit.train_from_texts([text], 20000).vocabulary
    assert any(MARKER.encode() in (leaky.token_bytes(i) or b"") for i in range(leaky.vocab_size))


# ------------------------------------------------------------------------------------------
# resume, refusal, bad input
# ------------------------------------------------------------------------------------------
def test_an_interrupted_sweep_resumes_without_retraining_finished_runs(tmp_path, corpus, monkeypatch):
    real = sweep._pretrain
    calls: list[str] = []
    crash = [True]

    class Interrupted(Exception):
        pass

    def crashing(*args, **kwargs):
        calls.append(kwargs["run_dir"].name)
        if crash[0] and len(calls) == 2:
            raise Interrupted  # the power fails in the second run
        return real(*args, **kwargs)

    monkeypatch.setattr(sweep, "_pretrain", crashing)
    out = tmp_path / "s"
    config = tiny(corpus, seeds=2, sizes=(256,))
    with pytest.raises(Interrupted):
        run_sweep(config, out)
    first = out / "runs" / "v256-seed0" / "done.json"
    stamp = first.stat().st_mtime_ns
    assert not (out / "runs" / "v256-seed1" / "done.json").exists()
    assert (out / "runs" / "v256-seed1").is_dir()  # half a run left behind

    calls.clear()
    crash[0] = False
    result = run_sweep(config, out)
    assert calls == ["v256-seed1"]
    assert first.stat().st_mtime_ns == stamp
    assert [r.seed for r in result.runs] == [0, 1]

    calls.clear()
    more = run_sweep(tiny(corpus, seeds=2, sizes=(256, 300)), out)  # a new size extends the sweep
    assert calls == ["v300-seed0", "v300-seed1"] and len(more.runs) == 4


def test_other_settings_in_an_existing_sweep_are_refused_unless_forced(tmp_path, corpus):
    out = tmp_path / "s"
    run_sweep(tiny(corpus, sizes=(256,)), out)
    with pytest.raises(GptcoreError, match=r"holds a sweep with another lr .*use --force"):
        run_sweep(tiny(corpus, sizes=(256,), lr=1e-2), out)
    result = run_sweep(tiny(corpus, sizes=(256,), lr=1e-2), out, force=True)
    assert json.loads((out / "sweep.json").read_text())["lr"] == 1e-2 and len(result.runs) == 1
    other = tmp_path / "other"
    other.mkdir()
    (other / "keep.txt").write_text("mine")
    for force in (False, True):  # --force never empties a directory that is not a sweep
        with pytest.raises(GptcoreError, match="holds files gptcore did not write: keep.txt"):
            run_sweep(tiny(corpus, sizes=(256,)), other, force=force)
        assert sorted(p.name for p in other.iterdir()) == ["keep.txt"]
    (out / "notes.txt").write_text("mine")  # a sweep with a file of the user's: kept, refused
    with pytest.raises(GptcoreError, match="holds a vocab sweep and files gptcore did not write: notes.txt"):
        run_sweep(tiny(corpus, sizes=(256,), lr=2e-2), out, force=True)
    assert (out / "notes.txt").read_text() == "mine" and (out / "sweep.json").is_file()


def test_bad_input_is_one_line_and_writes_nothing(tmp_path, corpus):
    small = tmp_path / "small.txt"
    small.write_text(prose(30, 2), encoding="utf-8")
    out = tmp_path / "s"
    with pytest.raises(GptcoreError, match="too small to split"):
        run_sweep(tiny(small), out)
    with pytest.raises(GptcoreError, match="less than one batch"):
        run_sweep(tiny(corpus, budget_bytes=100), out)
    with pytest.raises(GptcoreError, match="less than one batch"):
        run_sweep(tiny(corpus, budget_bytes=None, budget_flops=1e3), out)
    with pytest.raises(GptcoreError, match="sets it per vocabulary"):
        run_sweep(tiny(corpus, model=dict(context_length=64)), out)
    assert not out.exists()


def test_cli_runs_a_sweep_and_refuses_bad_input_in_one_line(tmp_path, corpus):
    runner = CliRunner()
    args = ["vocab-sweep", str(corpus), "--vocab", "256,300", "--seeds", "1", "--bytes", "2000",
            "--set", "emb_dim=16", "--set", "n_layers=1", "--set", "n_heads=2", "--context-bytes", "32",
            "--batch-size", "4", "--device", "cpu", "--out", str(tmp_path / "s")]
    result = runner.invoke(main, args)
    assert result.exit_code == 0, result.output
    assert "lowest validation bits per byte: vocab" in result.output
    assert (tmp_path / "s" / "bpb.png").is_file()
    bad = runner.invoke(main, [*args[:-1], str(tmp_path / "t"), "--bytes", "10"])
    assert bad.exit_code == 1
    assert bad.output.strip().count("\n") == 0 and "less than one batch" in bad.output
    help_text = runner.invoke(main, ["vocab-sweep", "--help"]).output
    assert "tokenkit sweep" in help_text and "6*N_rest*tokens" in help_text
