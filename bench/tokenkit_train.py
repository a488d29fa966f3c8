"""Benchmark: `tokenkit train` against calling HF's BpeTrainer and sentencepiece directly.

Every variant runs as its own process (interpreter start, reading the corpus, training and
writing the result all count), several times; the table shows the median wall time, the
peak RSS of that process, and the ratio to raw HF. Run:

    python -m bench.tokenkit_train [--repeats 5]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tokenkit.corpora import resolve_corpus  # noqa: E402

RAW_HF = """
import sys
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
vocab, out, *files = sys.argv[1:]
lines = [l for f in files for l in open(f, encoding="utf-8").read().splitlines(keepends=True)]
tok = Tokenizer(models.BPE())
tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
tok.decoder = decoders.ByteLevel()
trainer = trainers.BpeTrainer(vocab_size=int(vocab), initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
                              show_progress=False)
tok.train_from_iterator(lines, trainer=trainer, length=len(lines))
tok.save(out + "/tokenizer.json")
"""

RAW_SP = """
import sys, sentencepiece as spm
vocab, out, *files = sys.argv[1:]
spm.SentencePieceTrainer.train(input=",".join(files), model_prefix=out + "/spm", vocab_size=int(vocab),
                               model_type="bpe", byte_fallback=True, minloglevel=2, num_threads=2)
"""


def run_once(cmd: list[str]) -> tuple[float, float]:
    """Wall seconds and peak RSS (MiB) of one child process."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - start
    if status != 0:
        raise SystemExit(f"benchmark command failed ({status}): {' '.join(cmd)}\n{proc.stderr.read().decode()}")
    return seconds, usage.ru_maxrss / 1024


def variants(vocab: int, files: list[str], out: str) -> dict[str, list[str]]:
    tk = str(Path(sys.executable).with_name("tokenkit"))
    return {
        "HF BpeTrainer (raw)": [sys.executable, "-c", RAW_HF, str(vocab), out, *files],
        "tokenkit train (hf)": [tk, "train", "--vocab", str(vocab), *files, "-o", out + "/tk", "-q", "--force"],
        "sentencepiece (raw, defaults)": [sys.executable, "-c", RAW_SP, str(vocab), out, *files],
        "tokenkit train --backend sentencepiece": [tk, "train", "--backend", "sentencepiece", "--vocab",
                                                   str(vocab), *files, "-o", out + "/tksp", "-q", "--force"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    cases = [("wagahai", 5000, ["wagahai"]), ("tinyshakespeare + taylorswift", 8000,
                                                ["tinyshakespeare", "taylorswift"])]
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, {args.repeats} repeats (median)\n")
    print("| corpus | vocab | variant | wall s | peak RSS MiB | time vs raw HF |")
    print("|---|---|---|---|---|---|")
    for label, vocab, names in cases:
        files = [str(resolve_corpus(n)) for n in names]
        runs: dict[str, list[tuple[float, float]]] = {}
        with tempfile.TemporaryDirectory() as out:
            cmds = variants(vocab, files, out)
            for _ in range(args.repeats):  # interleaved, so drift in machine load hits all alike
                for name, cmd in cmds.items():
                    runs.setdefault(name, []).append(run_once(cmd))
        results = {name: (statistics.median(r[0] for r in rs), max(r[1] for r in rs))
                   for name, rs in runs.items()}
        base = results["HF BpeTrainer (raw)"][0]
        for name, (secs, rss) in results.items():
            print(f"| {label} | {vocab} | {name} | {secs:.2f} | {rss:.0f} | {secs / base:.2f}x |")


if __name__ == "__main__":
    main()
