"""Checkpoint save+load of GPT-2 124M with AdamW state: gptcore (safetensors) vs torch.save/load.

    .venv/bin/python -m bench.gptcore_checkpoint --repeats 3

Both write model + optimizer state to the same disk and read it back into tensors (best of N).
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

import torch

from bench.gptcore_common import device_name
from gptcore.checkpoint import load_checkpoint, save_checkpoint
from gptcore.registry import build_model
from gptcore.training import TrainConfig, make_optimizer


def best(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--dir", default=None, help="where to write (default: the system temp dir)")
    args = parser.parse_args()
    torch.manual_seed(0)
    model = build_model(preset="gpt2-124m-ctx256")
    opt = make_optimizer(model, TrainConfig())
    model(torch.randint(0, 50257, (1, 16))).mean().backward()
    opt.step()
    root = Path(tempfile.mkdtemp(dir=args.dir))
    try:
        def torch_rt() -> None:
            torch.save({"model": model.state_dict(), "optimizer": opt.state_dict()}, root / "ckpt.pt")
            torch.load(root / "ckpt.pt", weights_only=True)

        def ours_rt() -> None:
            save_checkpoint(root / "ckpt", model, opt, step=1)
            load_checkpoint(root / "ckpt")

        t_torch = best(torch_rt, args.repeats)
        t_ours = best(ours_rt, args.repeats)
        size_t = (root / "ckpt.pt").stat().st_size
        size_o = sum(f.stat().st_size for f in (root / "ckpt").iterdir())
    finally:
        shutil.rmtree(root, ignore_errors=True)
    print(f"\nCheckpoint save+load, GPT-2 124M + AdamW state, best of {args.repeats}, {device_name()}\n")
    print("| method | seconds | vs torch.save/load | size (MB) |\n|---|---:|---:|---:|")
    print(f"| torch.save + torch.load(weights_only=True) | {t_torch:.2f} | 1.00x | {size_t / 1e6:.0f} |")
    print(f"| gptcore save_checkpoint + load_checkpoint (rebuilds model) | {t_ours:.2f} | {t_ours / t_torch:.2f}x "
          f"| {size_o / 1e6:.0f} |")


if __name__ == "__main__":
    main()
