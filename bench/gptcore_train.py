"""GPT-2 124M (ctx 256, batch 2) forward+backward+AdamW step: tokens/s vs peers, one run.

    python -m bench.gptcore_train --steps 6 --loss-steps 20

Peers: transformers GPT2LMHeadModel (torch AdamW defaults) and llms-from-scratch GPTModel
(AdamW defaults and fused AdamW).  gptcore: fused AdamW + SDPA, fp32 and bf16 autocast; the
bf16 loss after --loss-steps steps is compared with fp32 on the same batches.
"""

from __future__ import annotations

import argparse
import time

import torch
import torch.nn.functional as F

from bench.gptcore_common import device_name, verdict_ids
from gptcore.registry import build_model

CTX, BATCH, VOCAB = 256, 2, 50257


def batches(n: int) -> list[tuple[torch.Tensor, torch.Tensor]]:
    ids, _ = verdict_ids(n * BATCH * (CTX + 1))
    rows = ids.view(n, BATCH, CTX + 1)
    return [(r[:, :-1].contiguous(), r[:, 1:].contiguous()) for r in rows]


def run(model, opt, data, logits_of, bf16: bool = False, warmup: int = 1) -> tuple[float, float]:
    """tokens/s over ``data`` after ``warmup`` steps, and the last loss."""
    model.train()
    t0, loss = None, None
    for i, (x, y) in enumerate(data):
        if i == warmup:
            t0 = time.perf_counter()
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            logits = logits_of(model, x)
        loss = F.cross_entropy(logits.flatten(0, 1).float(), y.flatten())
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    dt = time.perf_counter() - t0
    return (len(data) - warmup) * BATCH * CTX / dt, loss.item()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=6, help="steps per peer (first is warm-up)")
    parser.add_argument("--loss-steps", type=int, default=20, help="gptcore steps (fp32 and bf16)")
    parser.add_argument("--skip-peers", action="store_true")
    args = parser.parse_args()
    data = batches(max(args.steps, args.loss_steps))
    rows: list[tuple[str, float, str]] = []

    if not args.skip_peers:
        import transformers

        try:  # `make install` adds it with --no-deps (its declared deps pull TensorFlow)
            from llms_from_scratch.ch04 import GPTModel
        except ImportError:
            GPTModel = None
            print("llms-from-scratch not installed (pip install --no-deps llms-from-scratch): peer skipped")

        torch.manual_seed(0)
        hf = transformers.GPT2LMHeadModel(transformers.GPT2Config(n_positions=CTX))
        tps, _ = run(hf, torch.optim.AdamW(hf.parameters(), lr=4e-4, weight_decay=0.1), data[:args.steps],
                     lambda m, x: m(x).logits)
        rows.append(("transformers GPT2LMHeadModel, AdamW", tps, ""))
        del hf
        cfg = dict(vocab_size=VOCAB, context_length=CTX, emb_dim=768, n_heads=12, n_layers=12, drop_rate=0.1,
                   qkv_bias=False)
        for fused in (False, True) if GPTModel is not None else ():
            torch.manual_seed(0)
            tb = GPTModel(cfg)
            opt = torch.optim.AdamW(tb.parameters(), lr=4e-4, weight_decay=0.1, fused=fused or None)
            tps, _ = run(tb, opt, data[:args.steps], lambda m, x: m(x))
            rows.append((f"llms-from-scratch GPTModel, AdamW{' fused' if fused else ''}", tps, ""))
            del tb

    losses = {}
    for bf16 in (False, True):
        if bf16 and not torch.backends.mkldnn.is_available():
            continue
        torch.manual_seed(0)
        model = build_model(preset="gpt2-124m-ctx256")
        from gptcore.training import TrainConfig, make_optimizer
        opt = make_optimizer(model, TrainConfig(lr=4e-4, weight_decay=0.1, betas=(0.9, 0.999)))
        torch.manual_seed(1)
        tps, loss = run(model, opt, data[:args.loss_steps], lambda m, x: m(x), bf16=bf16)
        losses[bf16] = loss
        rows.append((f"gptcore GPT2, fused AdamW, {'bf16 autocast' if bf16 else 'fp32'}", tps,
                     f"loss@{args.loss_steps} = {loss:.4f}"))
        del model, opt

    base = rows[0][1] if not args.skip_peers else None
    print(f"\nGPT-2 124M train step, ctx {CTX}, batch {BATCH}, {device_name()}, torch {torch.__version__}\n")
    print("| implementation | tokens/s | vs transformers | note |\n|---|---:|---:|---|")
    for name, tps, note in rows:
        ratio = f"{tps / base:.2f}x" if base else "-"
        print(f"| {name} | {tps:.0f} | {ratio} | {note} |")
    if True in losses:
        print(f"\nbf16 vs fp32 loss after {args.loss_steps} steps: "
              f"{100 * abs(losses[True] - losses[False]) / losses[False]:.2f}% difference")


if __name__ == "__main__":
    main()
