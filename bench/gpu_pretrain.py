"""One GPU, GPT-2 124M, batch 16 x 1024, bf16: ``gptcore pretrain --compile`` vs transformers'
GPT2LMHeadModel (SDPA, torch.compile, fused AdamW) in a plain loop; tokens/s and MFU.

    .venv/bin/python bench/gpu_pretrain.py            # on an H100 / H200: under 5 minutes
    .venv/bin/python bench/gpu_pretrain.py --smoke    # tiny sizes on the CPU: exercises the script

gptcore runs as a user runs it (the ``gptcore pretrain`` command on token shards prepared by
``gptcore prepare``, from synthetic text so no corpus is needed); its tokens/s and MFU are read
from ``RUN/metrics.jsonl`` (training time only), skipping the first log windows (compilation).
The peer is timed over the same number of steps after the same warm-up, with a device sync.
MFU = tokens/s x (6N + 12·L·d·T) / peak bf16 FLOP/s (dense: 989e12 for H100/H200 SXM).
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
WORDS = ("the of and to in a is that for it as was with be by on not he I this are or his from at which "
         "but have an they you were her she there been one all we their has would when if so no what up out "
         "said about into than them can only other time new some could these two may first then do any like "
         "my now over such our man me even most made after also did many before must through back years").split()


def synthetic_text(path: Path, n_words: int, seed: int = 0) -> None:
    rng = random.Random(seed)
    with open(path, "w", encoding="utf-8") as fh:
        for _ in range(n_words // 20):
            fh.write(" ".join(rng.choices(WORDS, k=20)) + ".\n")


def sizes(smoke: bool) -> dict:
    if smoke:
        return dict(preset="gpt2-tiny", emb_dim=64, n_layers=2, n_heads=2, context_length=64, batch=4, steps=6,
                    warm_logs=1, log_every=2)
    return dict(preset="gpt2-small", emb_dim=768, n_layers=12, n_heads=12, context_length=1024, batch=16, steps=120,
                warm_logs=2, log_every=20)


def run_gptcore(s: dict, data: Path, out: Path, device: str, compile_: bool, bf16: bool) -> dict:
    cmd = [str(Path(sys.executable).parent / "gptcore"), "pretrain", "--preset", s["preset"],
           "--set", f"emb_dim={s['emb_dim']}", "--set", f"n_layers={s['n_layers']}", "--set", f"n_heads={s['n_heads']}",
           "--set", f"context_length={s['context_length']}", "--tokenizer", "gpt2", "--data", str(data),
           "--out", str(out), "--batch-size", str(s["batch"]), "--steps", str(s["steps"]),
           "--log-every", str(s["log_every"]), "--eval-every", str(10 ** 9), "--eval-start", str(10 ** 9),
           "--eval-batches", "1", "--sample-tokens", "0", "--device", device, "--lr", "6e-4",
           "--compile" if compile_ else "--no-compile", "--bf16" if bf16 else "--fp32"]
    start = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(f"gptcore pretrain failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    logs = [r for r in map(json.loads, (out / "metrics.jsonl").read_text().splitlines()) if r["kind"] == "log"]
    steady = logs[s["warm_logs"]:] or logs[-1:]
    return {"tokens_per_second": statistics.median(r["tokens_per_second"] for r in steady),
            "mfu": statistics.median(r["mfu"] for r in steady) if "mfu" in steady[0] else None,
            "loss": logs[-1]["loss"], "wall_seconds": time.perf_counter() - start}


def run_transformers(s: dict, device: str, compile_: bool, bf16: bool) -> dict:
    import transformers

    from gptcore.training.loop import PEAK_FLOPS

    where = torch.device(device)
    if where.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
    config = transformers.GPT2Config(n_positions=s["context_length"], n_embd=s["emb_dim"], n_layer=s["n_layers"],
                                     n_head=s["n_heads"], resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0)
    torch.manual_seed(0)
    model = transformers.GPT2LMHeadModel._from_config(config, attn_implementation="sdpa").to(where)
    model.train()
    try:
        opt = torch.optim.AdamW(model.parameters(), lr=6e-4, betas=(0.9, 0.95), weight_decay=0.1, fused=True)
    except (RuntimeError, ValueError):
        opt = torch.optim.AdamW(model.parameters(), lr=6e-4, betas=(0.9, 0.95), weight_decay=0.1)
    net = torch.compile(model) if compile_ else model
    gen = torch.Generator().manual_seed(0)
    tokens = s["batch"] * s["context_length"]

    def step() -> torch.Tensor:
        ids = torch.randint(0, config.vocab_size, (s["batch"], s["context_length"] + 1), generator=gen).to(where)
        with torch.autocast(where.type, dtype=torch.bfloat16, enabled=bf16):
            logits = net(ids[:, :-1]).logits
        loss = torch.nn.functional.cross_entropy(logits.flatten(0, 1).float(), ids[:, 1:].flatten())
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)
        return loss

    warm = s["warm_logs"] * s["log_every"]
    for _ in range(warm):
        step()
    if where.type == "cuda":
        torch.cuda.synchronize()
    t0 = time.perf_counter()
    for _ in range(s["steps"] - warm):
        loss = step()
    loss_value = loss.item()  # syncs
    tps = (s["steps"] - warm) * tokens / (time.perf_counter() - t0)
    n = sum(p.numel() for p in model.parameters()) - model.transformer.wpe.weight.numel()
    flops = 6 * n + 12 * s["n_layers"] * s["emb_dim"] * s["context_length"]
    peak = None
    if where.type == "cuda":
        name = torch.cuda.get_device_name(where)
        peak = next((v for k, v in PEAK_FLOPS.items() if k in name), None)
    return {"tokens_per_second": tps, "mfu": tps * flops / peak if peak else None, "loss": loss_value}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="tiny sizes on the CPU, no compile, fp32")
    parser.add_argument("--no-compile", action="store_true")
    args = parser.parse_args()
    s = sizes(args.smoke)
    device = "cpu" if args.smoke or not torch.cuda.is_available() else "cuda"
    compile_ = not (args.smoke or args.no_compile)
    bf16 = device == "cuda"
    with tempfile.TemporaryDirectory(prefix="gptcore-gpu-bench-") as tmp:
        text = Path(tmp) / "synthetic.txt"
        tokens_needed = (s["steps"] + 2) * s["batch"] * (s["context_length"] + 1)
        synthetic_text(text, int(tokens_needed * 1.3))
        ours = run_gptcore(s, text, Path(tmp) / "run", device, compile_, bf16)
    peer = run_transformers(s, device, compile_, bf16)
    name = torch.cuda.get_device_name() if device == "cuda" else f"CPU ({torch.get_num_threads()} threads)"
    print(f"{name}, torch {torch.__version__}; {s['n_layers']} layers x {s['emb_dim']}, batch {s['batch']} x "
          f"{s['context_length']}, {'bf16' if bf16 else 'fp32'}, compile {compile_}")
    for label, r in (("gptcore pretrain", ours), ("transformers GPT2LMHeadModel loop", peer)):
        mfu = f"{r['mfu']:.1%}" if r["mfu"] is not None else "-"
        print(f"  {label:36} {r['tokens_per_second']:>10,.0f} tokens/s  MFU {mfu}  last loss {r['loss']:.3f}")
    print(f"  ratio gptcore / transformers: {ours['tokens_per_second'] / peer['tokens_per_second']:.2f}x")


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    main()
