"""Token-shard preparation: MB/s against tiktoken's own batch encode, and peak RSS vs corpus size.

    python -m bench.gptcore_prepare                  # 5 MB vs 50 MB, ~2-3 min on 2 cores
    python -m bench.gptcore_prepare --small-mb 50 --mb 500 --repeat 3
    python -m bench.gptcore_prepare --small-mb 50 --mb 100 --text bench/results/big-corpus/big-100MB.txt

Corpora are built in a temp directory (never committed) by repeating the texts in
../shared/corpora into ~4 MB files, one document each. Vocabulary: GPT-2 (tokenkit.load("gpt2")).

Throughput, on the small corpus, interleaved repeats, each run in a fresh process:
  * gptcore ``prepare``: read, hash, encode (all cores), write shards + manifest;
  * tiktoken ``encode_ordinary_batch`` on the same texts already in memory (its thread pool,
    one thread per core): encoding alone, no reading or writing.
Memory: peak RSS (``ru_maxrss``) of a process that runs ``prepare`` on the small and on the
big corpus; bounded streaming means the two differ by a small constant, not by the size ratio.
MB = 10^6 UTF-8 bytes.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CORPORA = Path(__file__).resolve().parents[1].parent / "shared" / "corpora"
TEXTS = ("tinyshakespeare.txt", "wagahai.txt", "taylorswift.txt", "the-verdict.txt",
         "emoji-test.txt", "multilingual.tsv")
FILE_BYTES = 4_000_000


def build_corpus(directory: Path, megabytes: float) -> int:
    """Files of ~4 MB repeating the shared corpora until ``megabytes``; returns the bytes."""
    texts = [(CORPORA / name).read_text(encoding="utf-8") for name in TEXTS if (CORPORA / name).is_file()]
    if not texts:
        sys.exit(f"no corpora found in {CORPORA}")
    block = "\n".join(texts)
    directory.mkdir(parents=True, exist_ok=True)
    target, written, index = int(megabytes * 1e6), 0, 0
    while written < target:
        size = min(FILE_BYTES, target - written)
        shift = (index * 104_729) % len(block)  # each file starts elsewhere: distinct documents
        rotated = block[shift:] + block[:shift]
        data = (rotated * (size // len(rotated.encode()) + 2)).encode()[:size]
        data = data[:len(data.decode("utf-8", errors="ignore").encode())]  # whole characters only
        (directory / f"part{index:05d}.txt").write_bytes(data)
        written += len(data)
        index += 1
    return written


def split_text_file(source: Path, directory: Path, megabytes: float) -> int:
    """The first ``megabytes`` of ``source`` (cut at a line end) as ~4 MB files cut at line
    ends, one document each (``--text``: e.g. make_big_corpus text, whose words keep growing)."""
    directory.mkdir(parents=True, exist_ok=True)
    target, written, index = int(megabytes * 1e6), 0, 0
    with open(source, "rb") as f:
        while written < target and (data := f.read(min(FILE_BYTES, target - written))):
            data += f.readline()  # whole lines, whole characters
            (directory / f"part{index:05d}.txt").write_bytes(data)
            written += len(data)
            index += 1
    return written


def rss_mb() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def child_prepare(corpus: Path, out: Path) -> dict:
    import tokenkit
    from gptcore.data.preparation import prepare

    vocab = tokenkit.load("gpt2")
    base = rss_mb()
    start = time.perf_counter()
    manifest = prepare(vocab, [str(corpus)], out)  # a fresh directory: no reuse
    seconds = time.perf_counter() - start
    total = sum(s.bytes for s in manifest.splits.values())
    return {"seconds": seconds, "bytes": total, "peak_rss_mb": rss_mb(), "rss_before_mb": base,
            "tokens": sum(s.tokens for s in manifest.splits.values())}


def child_tiktoken(corpus: Path) -> dict:
    import tokenkit

    enc = tokenkit.load("gpt2").encoding
    texts = [p.read_text(encoding="utf-8") for p in sorted(corpus.iterdir())]
    start = time.perf_counter()
    ids = enc.encode_ordinary_batch(texts, num_threads=os.cpu_count() or 1)
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "bytes": sum(len(t.encode()) for t in texts),
            "tokens": sum(map(len, ids))}


def run_child(*args: str) -> dict:
    out = subprocess.run([sys.executable, __file__, "--child", *args], check=True,
                         capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def summary(values: list[float]) -> str:
    return f"{statistics.median(values):7.1f} (range {min(values):.1f}-{max(values):.1f})"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--small-mb", type=float, default=5.0, help="corpus for MB/s and the small RSS run")
    ap.add_argument("--mb", type=float, default=50.0, help="the big corpus for the RSS comparison")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--text", type=Path, default=None,
                    help="a UTF-8 text file to take the corpora from (its first MB, in ~4 MB files) "
                         "instead of repeating the shared corpora, e.g. "
                         "bench/results/big-corpus/big-100MB.txt from bench.make_big_corpus")
    ap.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        kind, *rest = args.child
        result = child_prepare(Path(rest[0]), Path(rest[1])) if kind == "prepare" else child_tiktoken(Path(rest[0]))
        print(json.dumps(result))
        return

    with tempfile.TemporaryDirectory(prefix="gptcore-bench-prepare-") as tmp:
        small, big = Path(tmp) / "small", Path(tmp) / "big"
        build = (lambda d, mb: split_text_file(args.text, d, mb)) if args.text else build_corpus
        small_bytes = build(small, args.small_mb)
        print(f"{os.cpu_count()} CPU cores (a shared machine: other jobs may run); GPT-2 vocabulary; "
              f"small corpus {small_bytes / 1e6:.1f} MB in {len(list(small.iterdir()))} files "
              f"({f'from {args.text}' if args.text else 'the shared corpora repeated'})")
        ours, theirs = [], []
        for _ in range(args.repeat):  # interleaved: each pair under the same machine load
            ours.append(run_child("prepare", str(small), str(Path(tmp) / f"out-small-{len(ours)}")))
            theirs.append(run_child("tiktoken", str(small)))
        ours_mbs = [r["bytes"] / 1e6 / r["seconds"] for r in ours]
        theirs_mbs = [r["bytes"] / 1e6 / r["seconds"] for r in theirs]
        print(f"\nthroughput, {args.repeat} interleaved runs, median (range), MB/s:")
        print(f"  gptcore prepare (read+hash+encode+write) {summary(ours_mbs)}")
        print(f"  tiktoken encode_ordinary_batch (in RAM)  {summary(theirs_mbs)}")
        ratios = [a / b for a, b in zip(ours_mbs, theirs_mbs)]
        print(f"  ratio prepare / tiktoken: median {statistics.median(ratios):.2f} "
              f"(range {min(ratios):.2f}-{max(ratios):.2f})")

        big_bytes = build(big, args.mb)
        big_run = run_child("prepare", str(big), str(Path(tmp) / "out-big"))
        small_run = ours[-1]
        print(f"\npeak RSS of a process running prepare (before prepare: "
              f"{small_run['rss_before_mb']:.0f} MB after imports and loading the vocabulary):")
        for label, size, run in (("small", small_bytes, small_run), ("big", big_bytes, big_run)):
            print(f"  {label:5} {size / 1e6:7.1f} MB corpus: peak {run['peak_rss_mb']:7.1f} MB, "
                  f"{run['tokens']:,} tokens, {run['bytes'] / 1e6 / run['seconds']:.1f} MB/s")
        print(f"  big - small: {big_run['peak_rss_mb'] - small_run['peak_rss_mb']:+.1f} MB "
              f"for {big_bytes / small_bytes:.0f}x the text")


if __name__ == "__main__":
    main()
