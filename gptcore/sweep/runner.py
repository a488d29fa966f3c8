"""Which vocabulary makes the better model? Bits per byte against vocabulary size, at equal budget.

``tokenkit sweep`` answers what a vocabulary does to *text* (compression, in seconds); this
module answers what it does to a *model*, by training one per vocabulary::

    corpus --split once--> train text / validation text
    train text --tokenkit.train, one per size--> SWEEP/vocabs/v{size}   (256: bare bytes)
    corpus --gptcore.data.prepare, same split--> SWEEP/shards/v{size}
    shards --_pretrain (the seam), per seed--> SWEEP/runs/v{size}-seed{s}
    model --gptcore.eval.evaluate on the validation split--> bits per byte
    all runs --> SWEEP/results.csv, results.json, bpb.png

What is held equal. The model's width and depth (from ``arch``/``preset``/``model``), its
context in *bytes* (context tokens = round(context bytes / bytes per token of the training
split)), and the budget: equal training *bytes* by default (every vocabulary reads the same
amount of text, within half a batch), or equal *FLOPs* (``flops``), counted as
``6 * N_rest * tokens + 12 * n_layers * emb_dim * context_tokens * tokens`` where ``N_rest``
are the parameters outside the token/position embeddings and output head (Kaplan et al.'s
non-embedding count; the attention term is PaLM's). The embedding and head parameters grow
with the vocabulary and are reported separately.

The split. :func:`gptcore.data.split_documents` is the split :func:`gptcore.data.prepare`
encodes (by document, or the tail of a single document), so the vocabularies are trained on
exactly the text the models train on, and never see the validation text.

Resuming. ``SWEEP/sweep.json`` records the settings that decide a run's result (sources by
sha256, split, backend, model, budget, context, batch, learning rate). A rerun with the same
settings continues: vocabularies and shards are reused, a run with ``done.json`` (written
atomically, last) is not repeated, a run directory without one is started again. Sizes and
seeds are not part of the identity, so adding a size or a seed extends a finished sweep.
Other settings are refused unless ``force``.

The seam. :func:`_pretrain` is the one place that trains; everything else (planning,
evaluation, results) does not care how. See its docstring for how to swap in
:func:`gptcore.training.train`'s rank-aware loop.
"""

from __future__ import annotations

import csv
import json
import shutil
import statistics
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

import torch
from torch import nn

import tokenkit
from tokenkit.atomic import atomic_file, recover

from gptcore import training
from gptcore.data.preparation import prepare, split_documents
from gptcore.data.shards import TokenShards
from gptcore.data.vocab import load_vocabulary
from gptcore.errors import GptcoreError
from gptcore.eval.bpb import evaluate
from gptcore.platform import registry
from gptcore.runs.checkpoint import unwrap
from gptcore.runs.directory import Run
from gptcore.sweep.config import (
    BYTE_VOCAB,
    DONE_FILE,
    SETTINGS_FILE,
    Events,
    RunPlan,
    RunResult,
    SizeSummary,
    SweepConfig,
    SweepEvent,
    SweepResult,
    flops_per_token,
    parameter_split,
    plan_budget,
)
from gptcore.sweep.directory import clear_sweep, open_sweep
from gptcore.sweep.plots import bpb_plot
from gptcore.training.distributed import Dist


def build(config: SweepConfig, vocab_size: int, context_tokens: int, seed: int) -> nn.Module:
    """The sweep's model for one vocabulary (seeded: the same seed gives the same weights)."""
    torch.manual_seed(seed)
    try:
        return registry.build_model(config.arch, config.preset, vocab_size=vocab_size,
                                    context_length=context_tokens, **config.model)
    except (TypeError, ValueError) as exc:
        raise GptcoreError(f"invalid model config: {exc}") from None


@dataclass
class Pretrained:
    model: nn.Module
    tokens_per_second: float
    train_seconds: float
    history: list[dict[str, float]]


def sweep_bf16(device: torch.device) -> bool:
    """bf16 on CUDA only: on a CPU the sweep stays float32 even where bf16 is native, so the
    README's CPU table (measured in float32) is what a rerun gives."""
    return device.type == "cuda" and training.native_bf16(device)


def _pretrain(shards: TokenShards, vocab_dir: Path, model: nn.Module, *, tokens: int,
              context_tokens: int, batch_size: int, lr: float, seed: int, device: torch.device,
              run_dir: Path) -> Pretrained:
    """Train ``model`` on the train split of ``shards`` for ``tokens`` (whole batches) with
    :func:`gptcore.training.train`, the loop ``gptcore pretrain`` runs, into the run directory
    ``run_dir`` (config, vocabulary copy, checkpoint, metrics.jsonl, loss.png): a constant
    ``lr``, batches in the ``seed``'s sequential order, bf16 autocast on CUDA (:func:`sweep_bf16`).
    The sweep scores the validation split itself afterwards (all of it, not an eval-batches
    estimate).
    """
    steps = tokens // (batch_size * context_tokens)
    cfg = training.TrainConfig(batch_size=batch_size, seq_len=context_tokens, steps=steps, lr=lr,
                               lr_schedule="constant", seed=seed, eval_start=steps, eval_every=steps,
                               eval_batches=1, log_every=max(1, steps // 200), sample_tokens=0,
                               keep_last=1, checkpoint_every=0,  # an interrupted sweep run starts again
                               bf16=sweep_bf16(device))
    vocab = tokenkit.load(str(vocab_dir))
    run = Run.create(run_dir, resume=False, force=True)
    try:
        sha = run.save_vocabulary(vocab)
        run.write_config({"options": {"sweep": True, "lr": lr, "seed": seed, "batch_size": batch_size,
                                      "steps": steps, "seq_len": context_tokens},
                          "model": {"architecture": registry.architecture_for(model).name,
                                    "config": asdict(unwrap(model).config)},
                          "data": str(shards.path), "vocabulary_sha256": sha, "world_size": 1})
        result = training.train(model, shards, cfg, vocab=vocab, where=Dist(device=device), run=run,
                                checkpoint_extra={"vocabulary_sha256": sha})
    finally:
        run.close()
    history = [{"step": r["step"], "tokens": r["tokens"], "train_loss": r["loss"]}
               for r in result.history if r.get("kind") == "log"]
    return Pretrained(model, result.tokens_per_second, result.train_seconds, history)


def resolve_device(name: str) -> torch.device:
    """``auto`` picks CUDA, then MPS, then the CPU."""
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    if name not in ("cpu", "cuda", "mps"):
        raise GptcoreError(f"--device must be auto, cpu, cuda or mps, got {name!r}")
    if name == "cuda" and not torch.cuda.is_available():
        raise GptcoreError("--device cuda: no CUDA device is available")
    return torch.device(name)


@dataclass
class _Split:
    train: list[str]
    val: list[str]

    @property
    def train_bytes(self) -> int:
        return sum(len(t.encode("utf-8", errors="surrogatepass")) for t in self.train)

    @property
    def val_bytes(self) -> int:
        return sum(len(t.encode("utf-8", errors="surrogatepass")) for t in self.val)


def split_corpus(config: SweepConfig) -> _Split:
    """The training and validation texts, split once (as :func:`gptcore.data.prepare` splits)."""
    parts = _Split([], [])
    for split, _, text in split_documents(config.sources, val_fraction=config.val_fraction,
                                          seed=config.split_seed):
        if text:
            (parts.train if split == "train" else parts.val).append(text)
    names = ", ".join(config.sources)
    need_val, need_train = 2 * config.context_bytes, config.batch_size * config.context_bytes
    if parts.val_bytes < need_val or parts.train_bytes < need_train:
        raise GptcoreError(
            f"corpus {names} is too small to split: {parts.train_bytes:,} training and "
            f"{parts.val_bytes:,} validation bytes (val fraction {config.val_fraction}); the sweep needs "
            f"at least {need_train:,} to train (one batch) and {need_val:,} to validate (two contexts)")
    return parts


def train_vocabulary(config: SweepConfig, size: int, split: _Split, directory: Path
                     ) -> tokenkit.Vocabulary:
    """The vocabulary of ``size`` trained on the training texts only, saved to ``directory``
    (reused when already there). 256 is the byte-level BPE with no merges, for every backend."""
    recover(directory)
    if directory.is_dir():
        return load_vocabulary(directory)
    backend = "hf" if size == BYTE_VOCAB else config.backend
    vocab = tokenkit.train_from_texts(split.train, size, backend=backend).vocabulary
    vocab.metadata["gptcore_vocab_sweep"] = {"split": "train", "val_fraction": config.val_fraction,
                                             "split_seed": config.split_seed}
    vocab.save(directory)
    return load_vocabulary(directory)


def _val_compression(vocab: tokenkit.Vocabulary, texts: Sequence[str]) -> dict[str, float]:
    reports = [tokenkit.bits_report(vocab, t) for t in texts]
    n_tokens = sum(r.n_tokens for r in reports)
    n_bytes = sum(r.utf8_bytes for r in reports)
    bpe_bits = sum(r.bpe_bits for r in reports)
    return {"bytes_per_token": n_bytes / n_tokens, "chars_per_token": sum(r.characters for r in reports) / n_tokens,
            "compression_ratio": 8 * n_bytes / bpe_bits, "bits_per_token": reports[0].bits_per_token}


def _write_json(path: Path, data: Any) -> None:
    with atomic_file(path) as tmp:
        tmp.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def summarise(runs: Sequence[RunResult]) -> list[SizeSummary]:
    """Mean, standard deviation and range of bits per byte over seeds, per requested size."""
    out = []
    for size in sorted({r.vocab_size for r in runs}):
        rows = [r for r in runs if r.vocab_size == size]
        bpb = [r.val_bits_per_byte for r in rows]
        out.append(SizeSummary(size, rows[0].actual_vocab_size, len(rows), statistics.fmean(bpb),
                               statistics.stdev(bpb) if len(bpb) > 1 else 0.0, min(bpb), max(bpb),
                               rows[0].bytes_per_token))
    return out


def write_results(result: SweepResult) -> list[Path]:
    """``results.csv`` (one row per run), ``results.json`` and ``bpb.png`` in the sweep directory."""
    out = result.out
    with atomic_file(out / "results.csv") as tmp:
        with open(tmp, "w", newline="", encoding="utf-8") as f:
            writer = csv.writer(f)
            writer.writerow([f.name for f in fields(RunResult)])
            for run in result.runs:
                writer.writerow(list(asdict(run).values()))
    _write_json(out / "results.json", {"settings": result.settings, "split": result.split,
                                       "summary": [asdict(s) for s in result.summary],
                                       "runs": [asdict(r) for r in result.runs],
                                       "warnings": result.warnings})
    kind = result.settings["budget"]["kind"]
    value = result.settings["budget"]["value"]
    corpus = ", ".join(s["name"] for s in result.settings["sources"])
    budget = f"{value:,.0f} training bytes" if kind == "bytes" else f"{value:.3g} training FLOPs"
    bpb_plot(result.runs, out / "bpb.png",
             f"{corpus}: {budget} per run, context {result.settings['context_bytes']} bytes; "
             f"validation {result.split['val_bytes']:,} bytes")
    return [out / "results.csv", out / "results.json", out / "bpb.png"]


_Prepared = tuple[tokenkit.Vocabulary, Path, TokenShards, RunPlan, dict[str, float]]


def _prepare_all(config: SweepConfig, sizes: Sequence[int], split: _Split, out: Path,
                 split_info: dict[str, Any], warnings: list[str], emit: Events) -> dict[int, _Prepared]:
    """Vocabularies, shards and every run's plan, before any training (bad budgets fail early)."""
    kind, value = config.budget()
    prepared: dict[int, _Prepared] = {}
    for size in sizes:
        emit(SweepEvent("phase", f"vocabulary {size}: training and encoding"))
        vocab_dir = out / "vocabs" / f"v{size}"
        vocab = train_vocabulary(config, size, split, vocab_dir)
        if vocab.vocab_size < size:
            warning = (f"--vocab {size} is more than this corpus can reach: the vocabulary has "
                       f"{vocab.vocab_size} tokens (recorded as actual_vocab_size)")
            warnings.append(warning)
            emit(SweepEvent("warning", warning))
        manifest = prepare(vocab_dir, config.sources, out / "shards" / f"v{size}",
                           val_fraction=config.val_fraction, seed=config.split_seed)
        shards = TokenShards(out / "shards" / f"v{size}")
        train_info = manifest.splits["train"]
        split_info["split_by"] = manifest.split_by
        bpt = train_info.bytes / train_info.tokens
        context = max(1, round(config.context_bytes / bpt))
        probe = build(config, vocab.vocab_size, context, 0)
        emb, rest = parameter_split(probe)
        fpt = flops_per_token(probe, context) if kind == "flops" else _safe_flops(probe, context)
        sequences = plan_budget(kind, value, train_bytes_per_token=bpt, context_tokens=context,
                                batch_size=config.batch_size, flops_per_token=fpt or 0.0)
        shards.plan("train", batch_size=config.batch_size, context_length=context)  # enough windows?
        plan = RunPlan(size, vocab.vocab_size, bpt, context, sequences, emb, rest, fpt or float("nan"))
        prepared[size] = (vocab, vocab_dir, shards, plan, _val_compression(vocab, split.val))
    return prepared


def run_sweep(config: SweepConfig, out: str | Path, *, force: bool = False,
              on_event: Events | None = None) -> SweepResult:
    """Run (or continue) the sweep into ``out``; see the module docstring."""
    emit = on_event or (lambda event: None)
    config.check()
    device = resolve_device(config.device)
    out = Path(out)
    emit(SweepEvent("phase", "splitting the corpus"))
    split = split_corpus(config)
    fresh = not (out / SETTINGS_FILE).is_file() or force
    created = not out.exists()
    settings = open_sweep(out, config, force)
    split_info: dict[str, Any] = {"train_bytes": split.train_bytes, "val_bytes": split.val_bytes}
    warnings: list[str] = []
    sizes = sorted(set(config.sizes))
    try:
        prepared = _prepare_all(config, sizes, split, out, split_info, warnings, emit)
    except Exception:
        if fresh:  # bad input found before any training: leave no half-made sweep behind
            if created:
                shutil.rmtree(out, ignore_errors=True)
            else:  # an existing (empty, or replaced) directory: only what the sweep wrote goes
                clear_sweep(out)
        raise

    # 2. the grid
    grid = [(size, seed) for size in sizes for seed in range(config.seeds)]
    runs: list[RunResult] = []
    for index, (size, seed) in enumerate(grid):
        vocab, vocab_dir, shards, plan, compression = prepared[size]
        run_dir = out / "runs" / f"v{size}-seed{seed}"
        done = run_dir / DONE_FILE
        if done.is_file():
            runs.append(RunResult(**json.loads(done.read_text(encoding="utf-8"))))
            emit(SweepEvent("run", f"v{size} seed {seed}: done before", index + 1, len(grid), True))
            continue
        if run_dir.exists():  # interrupted: start this run again
            shutil.rmtree(run_dir)
        run_dir.mkdir(parents=True)
        emit(SweepEvent("phase", f"v{size} seed {seed}: {plan.tokens:,} tokens of {plan.context_tokens}",
                        index, len(grid)))
        started = time.perf_counter()
        model = build(config, vocab.vocab_size, plan.context_tokens, seed)
        trained = _pretrain(shards, vocab_dir, model, tokens=plan.tokens, context_tokens=plan.context_tokens,
                            batch_size=config.batch_size, lr=config.lr, seed=seed, device=device,
                            run_dir=run_dir)
        ev = evaluate(trained.model, shards, vocab, split="val", batch_size=config.batch_size,
                      context_length=plan.context_tokens,
                      bf16=sweep_bf16(device))
        warning = next((w for w in warnings if w.startswith(f"--vocab {size} ")), "")
        row = RunResult(
            vocab_size=size, actual_vocab_size=plan.actual_vocab_size, seed=seed,
            val_bits_per_byte=ev.bits_per_byte, val_loss=ev.loss, val_perplexity=ev.perplexity,
            val_tokens=ev.tokens, val_bytes=ev.bytes, bytes_per_token=compression["bytes_per_token"],
            chars_per_token=compression["chars_per_token"],
            compression_ratio=compression["compression_ratio"],
            bits_per_token=int(compression["bits_per_token"]),
            train_bytes_per_token=plan.train_bytes_per_token, context_tokens=plan.context_tokens,
            params_embedding=plan.params_embedding, params_rest=plan.params_rest,
            train_tokens=plan.tokens, train_bytes=plan.train_bytes,
            train_flops=plan.flops_per_token * plan.tokens, tokens_per_second=trained.tokens_per_second,
            train_seconds=trained.train_seconds, wall_seconds=time.perf_counter() - started, warning=warning)
        _write_json(run_dir / "metrics.json", {"result": asdict(row), "plan": asdict(plan),
                                               "history": trained.history, "device": str(device)})
        _write_json(done, asdict(row))  # last: marks the run finished
        runs.append(row)
        emit(SweepEvent("run", f"v{size} seed {seed}: {ev.bits_per_byte:.4f} bits/byte", index + 1, len(grid)))

    result = SweepResult(settings, split_info, runs, summarise(runs), warnings, out)
    write_results(result)
    return result


def _safe_flops(model: nn.Module, context: int) -> float | None:
    """FLOPs per token when the architecture exposes n_layers and emb_dim (reported, not needed)."""
    try:
        return flops_per_token(model, context)
    except GptcoreError:
        return None
