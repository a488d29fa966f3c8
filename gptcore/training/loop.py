"""The pretraining loop: one rank-aware loop over token shards, read top to bottom.

``train(model, data, cfg)`` runs the same code on a laptop CPU and under ``torchrun`` on many
GPUs (:mod:`gptcore.training.distributed`). Each optimizer step takes a *global batch* of
``batch_size x grad_accum x world_size`` windows of ``seq_len`` tokens; which windows is a pure
function of ``(seed, step)`` (:meth:`gptcore.data.TokenShards.batch_at`), and every rank reads
its own slice of it. With the RNG states stored in each checkpoint, a resumed run therefore
continues exactly as an uninterrupted one, dropout included.

The helpers are named after what they do (as in nanoGPT's ``train.py``): :func:`get_lr`,
:func:`get_batch`, :func:`estimate_loss`, :func:`sample_text`, :func:`make_optimizer`,
:func:`flops_per_token`. The host waits for the device only at log, eval and checkpoint steps.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import time
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

import tokenkit

from gptcore.data.shards import TokenShards
from gptcore.errors import GptcoreError
from gptcore.eval.bpb import evaluate, token_bytes
from gptcore.generation.decoding import GenerationConfig, generate
from gptcore.generation.sampling import SamplingConfig
from gptcore.runs.checkpoint import Checkpoint, restore_rng, unwrap
from gptcore.runs.directory import Run
from gptcore.training.batches import get_batch, loader_permutation, rows_at
from gptcore.training.config import Event, TrainConfig, TrainResult, get_lr, make_optimizer
from gptcore.training.distributed import Dist, mean, wrap

#: Dense bf16 peak FLOP/s by device-name fragment, for MFU (no entry: MFU not reported).
PEAK_FLOPS = {"H200": 989e12, "H100": 989e12, "A100": 312e12, "L40S": 362e12, "4090": 165e12}


def autocast(device: torch.device, bf16: bool) -> contextlib.AbstractContextManager[Any]:
    return torch.autocast(device.type, dtype=torch.bfloat16) if bf16 else contextlib.nullcontext()


def native_bf16(device: torch.device) -> bool:
    """Whether ``device`` multiplies bf16 in hardware, so autocasting to it pays.

    CUDA cards with bf16, and CPUs with AVX512-BF16 or AMX (where oneDNN's bf16 matmuls run at
    about twice the float32 rate: a GPT-2 124M textbook step on 2 Zen 5 cores, 0.96 s against
    2.34 s, from ``bench/gptcore_textbook.py``).
    Elsewhere bf16 is emulated and slower, so auto stays float32.
    """
    if device.type == "cuda":
        return torch.cuda.is_available() and torch.cuda.is_bf16_supported()
    if device.type == "cpu":
        probes = (getattr(torch.cpu, "_is_avx512_bf16_supported", None), getattr(torch.cpu, "_is_amx_tile_supported", None))
        return any(probe() for probe in probes if probe is not None)
    return False


def use_bf16(cfg: TrainConfig, device: torch.device) -> bool:
    """``bf16=None`` (auto): bf16 autocast where the device has native bf16 (:func:`native_bf16`)."""
    if cfg.bf16 is not None:
        return cfg.bf16
    return native_bf16(device)


def loss_fn(model: nn.Module, x: torch.Tensor, y: torch.Tensor, bf16: bool = False) -> torch.Tensor:
    """Next-token cross-entropy (computed in float32 even under autocast)."""
    with autocast(x.device, bf16):
        logits = model(x)  # [B, T, V]
    return F.cross_entropy(logits.flatten(0, 1).float(), y.flatten())


def estimate_loss(model: nn.Module, data: TokenShards, table: torch.Tensor, cfg: TrainConfig, seq_len: int,
                  bf16: bool, where: Dist, accum: int = 1) -> dict[str, float]:
    """Eval-mode train loss (as the textbook reports it) and validation loss / perplexity / bpb.

    Each over the first ``eval_batches`` global batches of full windows of its split (so the
    windows scored do not depend on how the global batch is split into ranks and micro-steps).
    """
    common = dict(batch_size=cfg.batch_size * accum, context_length=seq_len, max_batches=cfg.eval_batches,
                  full_windows_only=True, bf16=bf16, rank=where.rank, world_size=where.world_size)
    if cfg.order == "loader":  # the textbook: a fresh shuffled loader, its first eval_batches batches
        windows = data.plan("train", batch_size=1, context_length=seq_len, stride=cfg.stride).windows
        picked = loader_permutation(windows, where)[:cfg.eval_batches * cfg.batch_size * accum]
        train_loss = _mean_loss(model, data, picked, seq_len, cfg, accum, bf16, where)
        torch.empty((), dtype=torch.int64).random_()  # the validation loader's iterator seed
    else:
        train_loss = evaluate(model, data, table, split="train", **common).loss  # type: ignore[arg-type]
    val = evaluate(model, data, table, split="val", **common)  # type: ignore[arg-type]
    return {"train_loss": train_loss, "val_loss": val.loss, "val_perplexity": val.perplexity,
            "val_bpb": val.bits_per_byte}


@torch.no_grad()
def _mean_loss(model: nn.Module, data: TokenShards, windows: torch.Tensor, seq_len: int, cfg: TrainConfig,
               accum: int, bf16: bool, where: Dist) -> float:
    """Eval-mode mean loss over train windows (rank ``r`` takes every ``world_size``-th batch)."""
    was_training = model.training
    model.eval()
    size = cfg.batch_size * accum
    batches = [windows[i:i + size] for i in range(0, len(windows), size)]
    total = torch.zeros(2, dtype=torch.float64)
    for batch in batches[where.rank::where.world_size]:
        x, y = rows_at(data, "train", batch, seq_len, cfg.stride or seq_len)
        total += torch.tensor([loss_fn(model, x.to(where.device), y.to(where.device), bf16).item(), 1.0],
                              dtype=torch.float64)
    model.train(was_training)
    if where.enabled:
        torch.distributed.all_reduce(total)
    return float(total[0] / total[1])


def sample_text(model: nn.Module, vocab: tokenkit.Vocabulary, cfg: TrainConfig) -> str:
    """A greedy continuation of the fixed prompt (no RNG drawn: resuming stays exact)."""
    gen = GenerationConfig(max_new_tokens=cfg.sample_tokens, sampling=SamplingConfig(greedy=True))
    return generate(model, vocab, cfg.sample_prompt, gen)[0]


def flops_per_token(model: nn.Module, seq_len: int) -> float:
    """Training FLOPs per token: 6N for the matmuls plus 12·L·d·T for attention (PaLM, app. B)."""
    config = unwrap(model).config
    n = sum(p.numel() for p in unwrap(model).parameters())
    n -= unwrap(model).pos_emb.weight.numel() if hasattr(unwrap(model), "pos_emb") else 0
    layers = getattr(config, "n_layers", 0)
    width = getattr(config, "emb_dim", 0)
    return 6 * n + 12 * layers * width * seq_len


def peak_flops(device: torch.device) -> float | None:
    if device.type != "cuda":
        return None
    name = torch.cuda.get_device_name(device)
    return next((v for k, v in PEAK_FLOPS.items() if k in name), None)


def _check_fits(model: nn.Module, data: TokenShards, seq_len: int) -> None:
    config = unwrap(model).config
    if seq_len > config.context_length:
        raise GptcoreError(f"--seq-len {seq_len} exceeds the model's context_length {config.context_length}")
    if data.manifest.tokenizer.vocab_size > config.vocab_size:
        raise GptcoreError(f"the data's vocabulary has {data.manifest.tokenizer.vocab_size} ids; the model's "
                           f"embedding holds {config.vocab_size}")


def train(model: nn.Module, data: TokenShards, cfg: TrainConfig, *, vocab: tokenkit.Vocabulary | None = None,
          where: Dist | None = None, run: Run | None = None, resume_from: Checkpoint | None = None,
          checkpoint_extra: dict[str, Any] | None = None, on_event: Event | None = None,
          until: int | None = None) -> TrainResult:
    """Train ``model`` on ``data``'s train split; evaluate on its val split; checkpoint into ``run``.

    ``resume_from`` (a checkpoint of this run) restores the optimizer, the RNG states and the
    step. ``on_event`` receives every metrics record (``kind`` "log" or "eval"); only rank 0
    writes into ``run``. ``until`` stops (with a checkpoint) after that many steps of the
    budget, as a job with a time slot would; resuming then continues the same schedule.
    """
    where = where or Dist()
    cfg.check()
    seq_len = cfg.seq_len or unwrap(model).config.context_length
    _check_fits(model, data, seq_len)
    accum = cfg.accumulation(seq_len, where.world_size)
    plan = data.plan("train", batch_size=cfg.batch_size * accum, context_length=seq_len,
                     world_size=where.world_size, stride=cfg.stride)
    total = cfg.total_steps(plan)
    tokens_per_step = plan.tokens_per_step
    bf16 = use_bf16(cfg, where.device)
    table = token_bytes(vocab) if vocab is not None else torch.ones(unwrap(model).config.vocab_size, dtype=torch.long)

    raw = unwrap(model).to(where.device)
    if where.device.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
    optimizer = make_optimizer(raw, cfg, where.device)
    start = 0
    if resume_from is not None:
        if resume_from.optimizer_state is None:
            raise GptcoreError(f"checkpoint {resume_from.path} has no optimizer state to resume from")
        try:
            optimizer.load_state_dict(resume_from.optimizer_state)
        except (ValueError, KeyError) as exc:
            raise GptcoreError(f"optimizer state in {resume_from.path} does not fit: {exc}") from None
        if resume_from.rng is not None:
            restore_rng(resume_from.rng)  # checked when the checkpoint was read
        start = resume_from.step
    net = torch.compile(raw) if cfg.compile else raw
    net = wrap(net, where)
    ddp = where.enabled
    flops = flops_per_token(raw, seq_len)
    peak = peak_flops(where.device)

    result = TrainResult(step=start)

    def emit(record: dict[str, Any]) -> None:
        result.history.append(record)
        if where.is_main and run is not None:
            run.log(record)
        if on_event is not None:
            on_event(record)

    def evaluation(done: int) -> None:
        record = {"kind": "eval", "step": done, "tokens": done * tokens_per_step,
                  **estimate_loss(raw, data, table, cfg, seq_len, bf16, where, accum)}
        if vocab is not None and cfg.sample_tokens and cfg.sample_prompt and where.is_main:
            record["sample"] = sample_text(raw, vocab, cfg)
        raw.train()
        emit(record)

    def is_eval_step(done: int) -> bool:
        return done == total or (done >= cfg.eval_start and (done - cfg.eval_start) % cfg.eval_every == 0)

    perm: torch.Tensor | None = None  # order "loader": this epoch's permutation
    perm_epoch = -1
    if resume_from is not None and cfg.order == "loader" and "epoch_permutation" in resume_from.extra:
        perm_epoch = int(resume_from.extra["epoch_permutation"]["epoch"])
        perm = torch.tensor(resume_from.extra["epoch_permutation"]["windows"], dtype=torch.long)

    raw.train()
    if start == 0 and cfg.eval_start == 0 and total > 0:
        evaluation(0)
    train_seconds, window_seconds, window_steps = 0.0, 0.0, 0
    every_steps, every_seconds = cfg.cadence()
    clock = last_save = time.perf_counter()
    loss_sum = torch.zeros((), device=where.device)
    window = resume_from.extra.get("log_window") if resume_from is not None else None
    if (isinstance(window, dict) and isinstance(window.get("steps"), int) and window["steps"] > 0
            and isinstance(window.get("loss_sum"), float) and math.isfinite(window["loss_sum"])):
        loss_sum.fill_(float(window["loss_sum"]))  # the partial log window of the saved step
        window_steps = window["steps"]
    stop = total if until is None else min(total, until)
    for step in range(start, stop):
        lr = get_lr(step, cfg, total)
        for group in optimizer.param_groups:
            group["lr"] = lr
        epoch, index = divmod(step, plan.steps_per_epoch)
        if cfg.order == "loader" and epoch != perm_epoch:
            perm, perm_epoch = loader_permutation(plan.windows, where), epoch
        for micro in range(accum):
            x, y = get_batch(data, step, micro, accum, cfg, seq_len, where, perm, index)
            sync = not ddp or micro == accum - 1
            with (contextlib.nullcontext() if sync else net.no_sync()):  # type: ignore[operator]
                loss = loss_fn(net, x, y, bf16) / accum
                loss.backward()
            loss_sum += loss.detach()
        if cfg.grad_clip:
            nn.utils.clip_grad_norm_(raw.parameters(), cfg.grad_clip)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        done = step + 1
        window_steps += 1
        evaluate_now = is_eval_step(done)
        final = done == stop
        logged = done % cfg.log_every == 0 or evaluate_now or final
        if logged:
            value = mean(loss_sum / window_steps, where).item()  # the one host sync
            if not math.isfinite(value):
                raise GptcoreError(f"training loss became {value} at step {done}")
            now = time.perf_counter()
            window_seconds = now - clock
            train_seconds += window_seconds
            tps = window_steps * tokens_per_step / max(window_seconds, 1e-9)
            record = {"kind": "log", "step": done, "tokens": done * tokens_per_step, "loss": value,
                      "lr": lr, "tokens_per_second": tps}
            if peak:
                record["mfu"] = tps * flops / peak
            emit(record)
            loss_sum.zero_()
            window_steps = 0
            if evaluate_now:
                evaluation(done)
            clock = time.perf_counter()  # eval time is not training time
        # Checkpoints never add a log step nor draw random numbers: losses do not depend on them.
        # Timed ones wait for a log step (nothing half-summed); between log steps the partial
        # window is saved, so a resumed run logs the same averages.
        if run is not None and where.is_main and (final or (every_steps and done % every_steps == 0) or (
                logged and every_seconds and time.perf_counter() - last_save >= every_seconds)):
            started = time.perf_counter()
            extra = dict(checkpoint_extra or {}, train_config=dataclasses.asdict(cfg))
            if window_steps:
                extra["log_window"] = {"loss_sum": loss_sum.item(), "steps": window_steps}
            if perm is not None:
                extra["epoch_permutation"] = {"epoch": perm_epoch, "windows": perm.tolist()}
            run.save_checkpoint(raw, optimizer, done, extra, keep_last=cfg.keep_last)
            run.plot()
            last_save = time.perf_counter()
            clock += last_save - started  # checkpoint time is not training time
        result.step = done
    result.train_seconds = train_seconds
    trained = result.step - start
    result.tokens_per_second = trained * tokens_per_step / train_seconds if train_seconds else 0.0
    return result
