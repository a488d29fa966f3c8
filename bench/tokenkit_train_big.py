"""Benchmark: ``tokenkit train --vocab 32000`` on a big corpus against raw HF ``BpeTrainer``.

The corpus comes from ``bench/make_big_corpus.py`` (built first when absent: ~40 s for 100 MB),
text whose distinct words keep growing as real text's do. Variants, each a fresh process whose
whole run counts (start, reading, training, writing), interleaved, median with range:

* raw HF: ``BpeTrainer`` with tokenkit's byte-level pre-tokenizer, fed the file's lines in
  batches from an iterator (the memory-frugal way to call it);
* ``tokenkit train`` with ``--engine auto`` (what a user gets) and ``--engine reference``.

Peak RSS comes from ``wait4``; the merges of each tokenkit run are compared with raw HF's.
Run (``--sizes`` in MB; 100 MB takes ~8 minutes at 3 repeats on 2 cores, HF needs ~6 GB):

    python -m bench.tokenkit_train_big --sizes 100 --repeats 3
    python -m bench.tokenkit_train_big --sizes 100,300 --repeats 1 --vocab 32000
    python -m bench.tokenkit_train_big --sizes 100,1000 --no-reference \\
        --sources tinyshakespeare,taylorswift,the-verdict,multilingual   # no Japanese novel
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from bench.tokenkit_engines import fmt, run_measured

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results" / "big-corpus"  # make_big_corpus.py's default --out

RAW_HF = """
import itertools, sys
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
vocab, out, path = sys.argv[1:]
def batches():
    with open(path, encoding="utf-8", newline="") as f:
        while batch := list(itertools.islice(f, 1000)):
            yield batch
tok = Tokenizer(models.BPE())
tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
tok.decoder = decoders.ByteLevel()
trainer = trainers.BpeTrainer(vocab_size=int(vocab), initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
                              show_progress=False)
tok.train_from_iterator(batches(), trainer=trainer)
tok.save(out + "/tokenizer.json")
"""


def big_corpus(megabytes: int, sources: str | None = None) -> Path:
    """``bench/results/big-corpus/big-<N>MB.txt`` (``big-<N>MB-<sources>.txt`` when drawn from
    some of the shipped corpora only), built by make_big_corpus when absent."""
    stem = f"big-{megabytes}MB" + (f"-{sources.replace(',', '+')}" if sources else "")
    path = RESULTS / f"{stem}.txt"
    if not path.is_file():
        subprocess.run([sys.executable, "-m", "bench.make_big_corpus", "--size", f"{megabytes}MB",
                        "--formats", "txt", "--out", str(RESULTS), "--name", stem,
                        *(["--sources", sources] if sources else [])], check=True, cwd=ROOT)
    return path


def merges(path: Path) -> list:
    return json.loads(path.read_text(encoding="utf-8"))["model"]["merges"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100", help="corpus sizes in MB, comma-separated")
    parser.add_argument("--vocab", type=int, default=32000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--no-reference", action="store_true",
                        help="skip `tokenkit train --engine reference` (it runs as long as raw HF)")
    parser.add_argument("--sources", default=None,
                        help="make_big_corpus --sources (default: all shipped corpora, ~43%% "
                             "Japanese); e.g. tinyshakespeare,taylorswift,the-verdict,multilingual")
    args = parser.parse_args()
    tk = str(Path(sys.executable).with_name("tokenkit"))
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, vocab {args.vocab}, "
          f"{args.repeats} interleaved repeats (median, range)\n")
    print("| corpus | variant | wall s | peak RSS MiB | wall vs raw HF | RSS vs raw HF | merges = HF's |")
    print("|---|---|---|---|---|---|---|")
    for size in (int(s) for s in args.sizes.split(",")):
        corpus = big_corpus(size, args.sources)
        with tempfile.TemporaryDirectory(prefix="tokenkit-train-big-") as tmp:
            variants = {"HF BpeTrainer (raw)": [sys.executable, "-c", RAW_HF, str(args.vocab), tmp,
                                                str(corpus)]}
            engines = ("auto",) if args.no_reference else ("auto", "reference")
            for engine in engines:
                variants[f"tokenkit train --engine {engine}"] = [
                    tk, "train", "--vocab", str(args.vocab), str(corpus), "-o", f"{tmp}/{engine}",
                    "-q", "--force", "--engine", engine]
            walls: dict[str, list[float]] = {k: [] for k in variants}
            rss: dict[str, list[float]] = {k: [] for k in variants}
            for _ in range(args.repeats):
                for label, cmd in variants.items():
                    seconds, peak, _ = run_measured(cmd)
                    walls[label].append(seconds)
                    rss[label].append(peak)
            hf = merges(Path(tmp) / "tokenizer.json")
            base_wall = sorted(walls["HF BpeTrainer (raw)"])[len(walls["HF BpeTrainer (raw)"]) // 2]
            base_rss = sorted(rss["HF BpeTrainer (raw)"])[len(rss["HF BpeTrainer (raw)"]) // 2]
            for label in variants:
                same, shown = "yes", label
                if label.startswith("tokenkit"):
                    engine = label.rsplit(" ", 1)[-1]
                    mine = merges(Path(tmp) / engine / "tokenizer.json")
                    same = "yes" if mine == hf else "no"
                    ran = json.loads((Path(tmp) / engine / "tokenkit.json").read_text(
                        encoding="utf-8"))["training"]["engine"]
                    shown = f"{label} (ran: {ran})"
                wall = sorted(walls[label])[len(walls[label]) // 2]
                peak = sorted(rss[label])[len(rss[label]) // 2]
                print(f"| {size} MB | {shown} | {fmt(walls[label])} | {fmt(rss[label], 0)} | "
                      f"{wall / base_wall:.2f}x | {peak / base_rss:.2f}x | {same} |", flush=True)


if __name__ == "__main__":
    main()
