"""Encode throughput: tokenkit vs tiktoken's gpt2 vs HF tokenizers, same text, one run.

    python -m bench.tokenkit_encode [--repeat 3]

Vocabularies: a vocab-5000 byte-level BPE trained by tokenkit (HF backend) on the first
300 KB of tinyshakespeare + wagahai, and GPT-2 (50,257, byte-level) from its original files.
Text: wagahai + tinyshakespeare (2.16 MB). Best of --repeat runs; MB = 10^6 UTF-8 bytes.
"""

from __future__ import annotations

import argparse
import os
import time

from tokenkit.corpora import resolve_corpus
from tokenkit.specs import load_vocabulary
from tokenkit.training import train_from_texts


def best(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    texts = [resolve_corpus(c).read_text(encoding="utf-8") for c in ("wagahai", "tinyshakespeare")]
    text = "".join(texts)
    mb = len(text.encode("utf-8")) / 1e6
    lines = text.splitlines(keepends=True)
    tiktoken_gpt2 = load_vocabulary("gpt2").encoding
    vocabs = {
        "vocab-5000 (trained)": train_from_texts([t[:300_000] for t in texts], 5000).vocabulary,
        "vocab-50257 (GPT-2)": load_vocabulary("hf:gpt2"),
    }
    print(f"text: wagahai + tinyshakespeare, {mb:.2f} MB; {os.cpu_count()} CPU cores; "
          f"best of {args.repeat}")
    print("| vocabulary | path | MB/s | vs tiktoken gpt2 | vs HF tokenizers |")
    print("|---|---|---:|---:|---:|")
    tk_s = best(lambda: tiktoken_gpt2.encode_ordinary(text), args.repeat)
    for name, hf in vocabs.items():
        raw = hf.tokenizer  # HF tokenizers itself, without tokenkit's fast path
        assert hf.fast_encoding() is not None, f"{name}: no fast path"
        assert hf.encode(text) == raw.encode(text, add_special_tokens=False).ids, f"{name}: ids differ"
        hf_s = best(lambda: raw.encode(text, add_special_tokens=False), args.repeat)
        hf_batch_s = best(lambda: raw.encode_batch(lines, add_special_tokens=False), args.repeat)
        tokenkit_s = best(lambda: hf.encode(text), args.repeat)
        tokenkit_batch_s = best(lambda: hf.encode_batch(lines), args.repeat)
        rows = [(f"tokenkit encode (fast path: {hf.encode_engine})", tokenkit_s),
                ("tokenkit encode_batch (lines)", tokenkit_batch_s),
                ("HF tokenizers encode (whole text)", hf_s),
                ("HF tokenizers encode_batch (lines)", hf_batch_s)]
        for label, s in rows:
            print(f"| {name} | {label} | {mb / s:.1f} | {tk_s / s:.2f}× | {hf_s / s:.2f}× |")
    print(f"| GPT-2 | tiktoken gpt2 encode_ordinary | {mb / tk_s:.1f} | 1.00× | – |")


if __name__ == "__main__":
    main()
