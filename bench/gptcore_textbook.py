"""The textbook's chapter-5 run, twice: the book's own loop (llms-from-scratch) and
``gptcore pretrain --recipe textbook-ch5``; first/last evaluations, wall times, one figure.

    .venv/bin/python bench/gptcore_textbook.py                 # 10 epochs each (~2 x 5-8 min on 2 cores)
    .venv/bin/python bench/gptcore_textbook.py --epochs 1      # a quick look
    .venv/bin/python bench/gptcore_textbook.py --repeats 3 --with-fp32   # the README's table

The recipe runs at the machine's precision (bf16 autocast where the CPU has native bf16, as
``gptcore pretrain`` does by default); ``--with-fp32`` adds a third side, the recipe with
``--fp32``, whose log equals the book's digit for digit.

The peer is ``llms_from_scratch.ch05.train_model_simple`` fed as the book feeds it:
``create_dataloader_v1`` over the first 90 % of The Verdict's characters (batch 2, 256-token
windows at stride 256, shuffled, drop_last) and the last 10 % (not shuffled), ``torch.manual_seed
(123)`` before the loaders and again before ``GPTModel``, AdamW(lr 4e-4, weight decay 0.1),
eval every 5 steps on 5 batches. Each side runs in a fresh process; wall time counts the whole
process (start-up, data, evaluation, samples), as a user waits for it.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CORPORA = ROOT.parent / "shared" / "corpora"
BOOK = {"first": (9.781, 9.933), "last": (0.391, 6.452)}  # the book's printed log


def book_loop(epochs: int) -> dict:
    """The peer, in this process: the book's data loaders, model and train_model_simple."""
    import tiktoken
    import torch
    from llms_from_scratch import ch02, ch05
    from llms_from_scratch.ch04 import GPTModel

    from bench.gptcore_common import verdict_ids  # noqa: F401  (keeps the helper import path warm)

    try:
        tiktoken.get_encoding("gpt2")
    except Exception:  # noqa: BLE001 - offline: build GPT-2's encoding from the local files
        from tiktoken.load import data_gym_to_mergeable_bpe_ranks

        ranks = data_gym_to_mergeable_bpe_ranks(str(CORPORA / "gpt2" / "vocab.bpe"), str(CORPORA / "gpt2" / "encoder.json"))
        local = tiktoken.Encoding("gpt2", pat_str=r"""'(?:[sdmt]|ll|ve|re)| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+""",
                                  mergeable_ranks=ranks, special_tokens={"<|endoftext|>": 50256})
        ch02.tiktoken.get_encoding = lambda name: local  # type: ignore[attr-defined]
        ch05.tiktoken = ch02.tiktoken
    tokenizer = ch02.tiktoken.get_encoding("gpt2")
    text = (CORPORA / "the-verdict.txt").read_text(encoding="utf-8")
    split = int(0.90 * len(text))
    torch.manual_seed(123)
    train_loader = ch02.create_dataloader_v1(text[:split], batch_size=2, max_length=256, stride=256,
                                             drop_last=True, shuffle=True, num_workers=0)
    val_loader = ch02.create_dataloader_v1(text[split:], batch_size=2, max_length=256, stride=256,
                                           drop_last=False, shuffle=False, num_workers=0)
    cfg = {"vocab_size": 50257, "context_length": 256, "emb_dim": 768, "n_heads": 12, "n_layers": 12,
           "drop_rate": 0.1, "qkv_bias": False}
    torch.manual_seed(123)
    model = GPTModel(cfg)
    optimizer = torch.optim.AdamW(model.parameters(), lr=0.0004, weight_decay=0.1)
    start = time.perf_counter()
    train_losses, val_losses, tokens = ch05.train_model_simple(
        model, train_loader, val_loader, optimizer, "cpu", num_epochs=epochs, eval_freq=5, eval_iter=5,
        start_context="Every effort moves you", tokenizer=tokenizer)
    return {"train_seconds": time.perf_counter() - start,
            "evals": [{"tokens": t, "train_loss": a, "val_loss": b} for t, a, b in zip(tokens, train_losses, val_losses)]}


def run_book(epochs: int) -> dict:
    start = time.perf_counter()
    done = subprocess.run([sys.executable, __file__, "--role", "book", "--epochs", str(epochs)], cwd=ROOT,
                          capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(f"book loop failed:\n{done.stderr[-3000:]}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    result["wall_seconds"] = time.perf_counter() - start
    return result


def run_gptcore(epochs: int, out: Path, *extra: str) -> dict:
    gptcore = Path(sys.executable).parent / "gptcore"
    start = time.perf_counter()
    done = subprocess.run([str(gptcore), "pretrain", "--recipe", "textbook-ch5", "--epochs", str(epochs),
                           "--out", str(out), "--force", *extra], cwd=ROOT, capture_output=True, text=True)
    wall = time.perf_counter() - start
    if done.returncode:
        raise SystemExit(f"gptcore pretrain failed:\n{done.stdout[-2000:]}{done.stderr[-2000:]}")
    result = read_run(out, wall)
    result["precision"] = next(line.rsplit(", ", 1)[-1] for line in done.stdout.splitlines()
                               if line.startswith("model: "))
    return result


def read_run(out: Path, wall: float) -> dict:
    """Evaluations and training time of a finished run directory (``metrics.jsonl``)."""
    records = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    logs = [r for r in records if r["kind"] == "log"]
    steps = [b["step"] - a["step"] for a, b in zip([{"step": 0}] + logs, logs)]
    seconds = sum(n * 512 / r["tokens_per_second"] for n, r in zip(steps, logs))
    return {"wall_seconds": wall, "train_seconds": seconds,
            "evals": [{k: r[k] for k in ("tokens", "train_loss", "val_loss", "val_bpb")}
                      for r in records if r["kind"] == "eval"]}


def figure(book: dict, ours: dict, out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.2))
    for name, result, style in (("book loop", book, "o"), ("gptcore --recipe textbook-ch5", ours, "-")):
        ev = result["evals"]
        precision = f", {result['precision']}" if result.get("precision") else ""
        ax.plot([e["tokens"] for e in ev], [e["train_loss"] for e in ev], style, color="tab:blue", markersize=4,
                label=f"{name}: training ({result['wall_seconds']:.0f} s wall{precision})")
        ax.plot([e["tokens"] for e in ev], [e["val_loss"] for e in ev], style, color="tab:orange", markersize=4,
                label=f"{name}: validation")
    ax.set_xlabel("tokens seen")
    ax.set_ylabel("loss")
    ax.set_title("The Verdict, GPT-2 124M (ctx 256), textbook ch. 5 setting, 2-core CPU")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out, dpi=100)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=1, help="interleaved runs of each side")
    parser.add_argument("--role", choices=["main", "book"], default="main", help=argparse.SUPPRESS)
    parser.add_argument("--figure", type=Path, default=ROOT / "docs" / "textbook-ch5.png")
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--with-fp32", action="store_true", help="also run the recipe with --fp32")
    parser.add_argument("--gptcore-run", type=Path, default=None,
                        help="use this finished recipe run instead of running one (with --gptcore-wall)")
    parser.add_argument("--gptcore-wall", type=float, default=float("nan"), help="its wall time, s")
    args = parser.parse_args()
    if args.role == "book":
        print(json.dumps(book_loop(args.epochs)))
        return
    books, ours, fp32s = [], [], []
    with tempfile.TemporaryDirectory(prefix="gptcore-textbook-") as tmp:
        for i in range(args.repeats):  # interleaved: book, gptcore, [gptcore --fp32,] book, ...
            books.append(run_book(args.epochs))
            ours.append(read_run(args.gptcore_run, args.gptcore_wall) if args.gptcore_run
                        else run_gptcore(args.epochs, Path(tmp) / f"run{i}"))
            if args.with_fp32:
                fp32s.append(run_gptcore(args.epochs, Path(tmp) / f"fp32-{i}", "--fp32"))
    sides = [("book loop (llms-from-scratch)", books), ("gptcore --recipe textbook-ch5", ours)]
    if fp32s:
        sides.append(("gptcore --recipe ... --fp32", fp32s))
    book_wall = statistics.median(b["wall_seconds"] for b in books)
    for name, results in sides:
        walls = [r["wall_seconds"] for r in results]
        first, last = results[0]["evals"][0], results[0]["evals"][-1]
        at_85 = next((e for e in results[0]["evals"] if e["tokens"] == 86 * 512), None)
        print(f"{name:32} [{results[0].get('precision', 'float32')}] first eval train {first['train_loss']:.3f} "
              f"val {first['val_loss']:.3f}  "
              + (f"after update 86 train {at_85['train_loss']:.3f} val {at_85['val_loss']:.3f}  " if at_85 else "")
              + f"last eval train {last['train_loss']:.3f} val {last['val_loss']:.3f}  "
              f"wall {statistics.median(walls):.0f} s (range {min(walls):.0f}-{max(walls):.0f}, "
              f"{statistics.median(walls) / book_wall:.2f}x the book's), "
              f"training {statistics.median(r['train_seconds'] for r in results):.0f} s")
    ratio = statistics.median(o["wall_seconds"] for o in ours) / book_wall
    print(f"book's printed log: first {BOOK['first']}, last {BOOK['last']}")
    print(f"gptcore wall time / book loop wall time: {ratio:.2f}x")
    args.figure.parent.mkdir(parents=True, exist_ok=True)
    figure(books[0], ours[0], args.figure)
    print(f"figure: {args.figure}")
    if args.json:
        args.json.write_text(json.dumps({"book": books, "gptcore": ours, "gptcore_fp32": fp32s, "ratio": ratio},
                                        indent=2) + "\n")


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    main()
