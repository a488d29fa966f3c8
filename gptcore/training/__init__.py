"""Stage 2 — the pretraining loop: shards in, trained weights out, on one CPU or under ``torchrun``.

* :mod:`.config` — What shapes a run (:class:`TrainConfig`), what it returns, its learning-rate schedule and optimizer.
* :mod:`.batches` — Which windows of the shards each optimizer step and rank reads: a pure function of ``(seed, step)``.
* :mod:`.loop` — PLACEHOLDER
* :mod:`.distributed` — Process-group plumbing, written once: torchrun's environment in, a :class:`Dist` out.
* :mod:`.recipes` — Named recipes: ``gptcore pretrain --recipe NAME`` fills in these flag values.
* :mod:`.hostmemory` — Keep large freed CPU buffers in the process heap instead of handing them back to the kernel.

Every public name of these modules is importable from the package itself (loaded on first use).
"""

from __future__ import annotations

from gptcore._lazy import lazy_exports

_EXPORTS: dict[str, str] = {
    "Event": "gptcore.training.config",
    "ORDERS": "gptcore.training.config",
    "SCHEDULES": "gptcore.training.config",
    "TrainConfig": "gptcore.training.config",
    "TrainResult": "gptcore.training.config",
    "get_lr": "gptcore.training.config",
    "make_optimizer": "gptcore.training.config",
    "get_batch": "gptcore.training.batches",
    "loader_permutation": "gptcore.training.batches",
    "rows_at": "gptcore.training.batches",
    "PEAK_FLOPS": "gptcore.training.loop",
    "autocast": "gptcore.training.loop",
    "estimate_loss": "gptcore.training.loop",
    "flops_per_token": "gptcore.training.loop",
    "loss_fn": "gptcore.training.loop",
    "native_bf16": "gptcore.training.loop",
    "peak_flops": "gptcore.training.loop",
    "sample_text": "gptcore.training.loop",
    "train": "gptcore.training.loop",
    "use_bf16": "gptcore.training.loop",
    "DEVICES": "gptcore.training.distributed",
    "Dist": "gptcore.training.distributed",
    "any_rank": "gptcore.training.distributed",
    "barrier": "gptcore.training.distributed",
    "broadcast_flag": "gptcore.training.distributed",
    "launched_by_torchrun": "gptcore.training.distributed",
    "mean": "gptcore.training.distributed",
    "print0": "gptcore.training.distributed",
    "resolve_device": "gptcore.training.distributed",
    "setup": "gptcore.training.distributed",
    "teardown": "gptcore.training.distributed",
    "wrap": "gptcore.training.distributed",
    "RECIPES": "gptcore.training.recipes",
    "recipe": "gptcore.training.recipes",
    "MMAP_THRESHOLD": "gptcore.training.hostmemory",
    "M_MMAP_THRESHOLD": "gptcore.training.hostmemory",
    "M_TRIM_THRESHOLD": "gptcore.training.hostmemory",
    "TRIM_THRESHOLD": "gptcore.training.hostmemory",
    "keep_freed_blocks": "gptcore.training.hostmemory",
    "parse_cadence": "gptcore.training.config",
}

__getattr__, __dir__ = lazy_exports(globals(), _EXPORTS)
__all__ = sorted(_EXPORTS)
