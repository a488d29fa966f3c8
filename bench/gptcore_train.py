"""CPU training throughput: gptcore's loop vs the llms-from-scratch (textbook) loop, tokens/s.

    python -m bench.gptcore_train                    # GPT-2 124M, ctx 256, batch 2
    python -m bench.gptcore_train --small --steps 8  # a 4-layer 256-wide model, quick

Both sides train the textbook's model shape on The Verdict's GPT-2 ids with batch 2 x 256,
PyTorch default init, dropout 0.1, AdamW(lr 4e-4, wd 0.1 on every parameter):

* peer: ``llms_from_scratch.ch04.GPTModel`` stepped as ``ch05.train_model_simple`` steps it
  (``calc_loss_batch``, ``loss.backward()``, ``optimizer.step()``, AdamW defaults);
* gptcore: :func:`gptcore.training.train` (the loop ``gptcore pretrain`` runs) on prepared
  token shards, log every step.

Per-step tokens/s after a warm-up step; sides interleaved over ``--repeats``; medians with range.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
CORPORA = ROOT.parent / "shared" / "corpora"
CTX, BATCH = 256, 2


def shape(small: bool) -> dict:
    return dict(emb_dim=256, n_layers=4, n_heads=4) if small else dict(emb_dim=768, n_layers=12, n_heads=12)


def book_steps(ids: torch.Tensor, steps: int, small: bool) -> list[float]:
    """Per-step tokens/s of the textbook loop (GPTModel, calc_loss_batch, AdamW defaults)."""
    from llms_from_scratch.ch04 import GPTModel
    from llms_from_scratch.ch05 import calc_loss_batch

    s = shape(small)
    torch.manual_seed(123)
    model = GPTModel({"vocab_size": 50257, "context_length": CTX, "emb_dim": s["emb_dim"], "n_heads": s["n_heads"],
                      "n_layers": s["n_layers"], "drop_rate": 0.1, "qkv_bias": False})
    optimizer = torch.optim.AdamW(model.parameters(), lr=4e-4, weight_decay=0.1)
    model.train()
    rates = []
    for step in range(steps):
        rows = torch.stack([ids[(step * BATCH + b) * CTX:(step * BATCH + b) * CTX + CTX + 1] for b in range(BATCH)])
        t0 = time.perf_counter()
        optimizer.zero_grad()
        loss = calc_loss_batch(rows[:, :-1], rows[:, 1:], model, "cpu")
        loss.backward()
        optimizer.step()
        loss.item()
        rates.append(BATCH * CTX / (time.perf_counter() - t0))
    return rates[1:]


def gptcore_steps(data: Path, vocab, steps: int, small: bool) -> list[float]:
    """Per-step tokens/s of gptcore.training.train with the textbook recipe's optimizer settings."""
    from gptcore.data.shards import TokenShards
    from gptcore.platform.registry import build_model
    from gptcore.training.config import TrainConfig
    from gptcore.training.loop import train

    torch.manual_seed(123)
    model = build_model(preset="gpt2-124m-ctx256", vocab_size=50257, tie_weights=False, init="pytorch", **shape(small))
    cfg = TrainConfig(steps=steps, batch_size=BATCH, lr=4e-4, lr_schedule="constant", weight_decay=0.1, decay_all=True,
                      beta2=0.999, grad_clip=None, log_every=1, eval_every=10 ** 9, eval_start=10 ** 9,
                      sample_tokens=0, seed=123, bf16=False)
    cfg.eval_batches = 1
    result = train(model, TokenShards(data), cfg, vocab=vocab)
    return [r["tokens_per_second"] for r in result.history if r["kind"] == "log"][1:]


def summary(rates: list[float]) -> str:
    return f"{statistics.median(rates):7.0f} tokens/s (range {min(rates):.0f}-{max(rates):.0f}, {len(rates)} steps)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=6, help="steps per run (the first is a warm-up)")
    parser.add_argument("--repeats", type=int, default=2, help="interleaved runs of each side")
    parser.add_argument("--small", action="store_true", help="4 layers x 256 instead of GPT-2 124M")
    args = parser.parse_args()
    from gptcore.data.shards import TokenShards
    from gptcore.data.preparation import prepare
    from gptcore.data.vocab import load_vocabulary

    vocab = load_vocabulary("gpt2")
    with tempfile.TemporaryDirectory(prefix="gptcore-bench-train-") as tmp:
        data = Path(tmp) / "data"
        prepare(vocab, [str(CORPORA / "the-verdict.txt")], data, val_fraction=0.1)
        ids = torch.from_numpy(TokenShards(data).read("train", 0, TokenShards(data).tokens("train")))
        book, ours = [], []
        for _ in range(args.repeats):
            book += book_steps(ids, args.steps, args.small)
            ours += gptcore_steps(data, vocab, args.steps, args.small)
    name = "4 x 256 GPT" if args.small else "GPT-2 124M"
    print(f"{name}, ctx {CTX}, batch {BATCH}, fp32, CPU {torch.get_num_threads()} threads, torch {torch.__version__}")
    print(f"  llms-from-scratch loop  {summary(book)}")
    print(f"  gptcore train()         {summary(ours)}")
    print(f"  ratio (medians)         {statistics.median(ours) / statistics.median(book):.2f}x")


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    main()
