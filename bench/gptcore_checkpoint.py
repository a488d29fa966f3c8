"""Checkpoint save + resume of GPT-2 124M with AdamW state: gptcore vs torch.save/torch.load.

    .venv/bin/python -m bench.gptcore_checkpoint --repeats 3

Both sides end ready to train on: every tensor read back into a model and an AdamW optimizer.

* torch: ``torch.save({"model", "optimizer"})``, then ``torch.load(weights_only=True)`` and
  ``load_state_dict`` into the existing model and optimizer;
* gptcore: ``save_checkpoint`` (safetensors + JSON, atomic rename), then
  :func:`gptcore.runs.checkpoint.load_checkpoint` (as ``pretrain --resume``), which rebuilds the model from the registry (no random init),
  loads and checks every tensor, and restores optimizer and RNG states.

Loading ends by reading every byte of the loaded tensors on both sides (a checksum), so
lazily mapped files are not counted as loaded.  Best of ``--repeats`` per phase, on the same
disk (page cache warm after the first repeat).
"""

from __future__ import annotations

import argparse
import dataclasses
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import torch

from bench.gptcore_common import device_name
from gptcore.runs.checkpoint import save_checkpoint
from gptcore.platform.registry import build_model
from gptcore.runs.checkpoint import load_checkpoint
from gptcore.training.config import TrainConfig, make_optimizer


def best(fn: Callable[[], object], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def touch(model: torch.nn.Module, opt: torch.optim.Optimizer) -> float:
    """Read every model and optimizer-state byte (forces lazily mapped pages in)."""
    total = sum(float(p.detach().sum()) for p in model.parameters())
    return total + sum(float(v.sum()) for slots in opt.state.values() for v in slots.values()
                       if isinstance(v, torch.Tensor))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--dir", default=None, help="where to write (default: the system temp dir)")
    args = parser.parse_args()
    torch.manual_seed(0)
    cfg = TrainConfig()
    model = build_model(preset="gpt2-124m-ctx256")
    opt = make_optimizer(model, cfg, torch.device("cpu"))
    model(torch.randint(0, 50257, (1, 16))).mean().backward()
    opt.step()
    root = Path(tempfile.mkdtemp(dir=args.dir))
    extra = {"train_config": dataclasses.asdict(cfg)}
    try:
        def torch_load() -> None:
            state = torch.load(root / "ckpt.pt", weights_only=True)
            model.load_state_dict(state["model"])
            opt.load_state_dict(state["optimizer"])
            touch(model, opt)

        def ours_load() -> None:
            ckpt = load_checkpoint(root / "ckpt")  # what `gptcore pretrain --resume` reads
            optimizer = make_optimizer(ckpt.model, cfg, torch.device("cpu"))
            optimizer.load_state_dict(ckpt.optimizer_state)
            touch(ckpt.model, optimizer)

        t_save = best(lambda: torch.save({"model": model.state_dict(), "optimizer": opt.state_dict()},
                                         root / "ckpt.pt"), args.repeats)
        t_load = best(torch_load, args.repeats)
        o_save = best(lambda: save_checkpoint(root / "ckpt", model, opt, step=1, extra=extra), args.repeats)
        o_load = best(ours_load, args.repeats)
        size_t = (root / "ckpt.pt").stat().st_size
        size_o = sum(f.stat().st_size for f in (root / "ckpt").iterdir())
    finally:
        shutil.rmtree(root, ignore_errors=True)
    total_t, total_o = t_save + t_load, o_save + o_load
    print(f"\nCheckpoint save + resume, GPT-2 124M + AdamW state, best of {args.repeats}, {device_name()}\n")
    print("| method | save (s) | load (s) | save + load (s) | vs torch | size (MB) |")
    print("|---|---:|---:|---:|---:|---:|")
    print(f"| torch.save + torch.load(weights_only=True) + load_state_dict | {t_save:.2f} | {t_load:.2f} "
          f"| {total_t:.2f} | 1.00x | {size_t / 1e6:.0f} |")
    print(f"| gptcore save_checkpoint + load_checkpoint + optimizer (rebuilds the model) | {o_save:.2f} | {o_load:.2f} "
          f"| {total_o:.2f} | {total_o / total_t:.2f}x | {size_o / 1e6:.0f} |")


if __name__ == "__main__":
    main()
