"""Benchmark: tokenkit's fast engines (tokenkit.engines) against the reference libraries.

Training: raw HF ``BpeTrainer`` (the same byte-level pre-tokenizer tokenkit uses) and
``tokenkit train --engine reference|gigatoken|rustbpe``, wall time and peak RSS of the whole
process. Encoding: tiktoken's ``encode_ordinary`` / ``encode_ordinary_batch`` on GPT-2 (built
from ../shared/corpora/gpt2) and ``Vocabulary.encode`` / ``encode_batch`` with each engine,
MB/s of the encode call and peak RSS, with a digest of the ids to prove them identical.
Inputs (built in a temp directory, never in the repo): the shipped corpora concatenated x10
(~23 MB), one 20 MB line without a newline, and 200k repeated characters. Every variant is a
fresh process; repeats are interleaved; the table shows medians with the range. Run:

    python -m bench.tokenkit_engines [--quick] [--repeats 3] [--only train|encode|heldout]
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

ROOT = Path(__file__).resolve().parents[1]
CORPORA = ROOT.parent / "shared" / "corpora"
PARTS = ("the-verdict.txt", "wagahai.txt", "tinyshakespeare.txt", "taylorswift.txt")

RAW_HF = """
import sys
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
vocab, out, path = sys.argv[1:]
lines = open(path, encoding="utf-8").read().splitlines(keepends=True)
tok = Tokenizer(models.BPE())
tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
tok.decoder = decoders.ByteLevel()
trainer = trainers.BpeTrainer(vocab_size=int(vocab), initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
                              show_progress=False)
tok.train_from_iterator(lines, trainer=trainer, length=len(lines))
tok.save(out + "/tokenizer.json")
"""

ENCODE = """
import hashlib, json, sys, time
how, path = sys.argv[1:]
text = open(path, encoding="utf-8").read()
lines = text.splitlines(keepends=True)
if how.startswith("tiktoken"):
    from tokenkit.backends.gpt2 import gpt2_encoding
    enc = gpt2_encoding()
    one, many = enc.encode_ordinary, enc.encode_ordinary_batch
else:
    import tokenkit
    vocab = tokenkit.load("gpt2", engine=how.split(":")[1])
    vocab.encode("warm up: the engine is chosen and checked on the first encode")
    assert vocab.encode_engine == how.split(":")[2], vocab.encode_engine
    one, many = vocab.encode, vocab.encode_batch
start = time.perf_counter()
ids = many(lines) if how.endswith("batch") else [one(text)]
seconds = time.perf_counter() - start
digest = hashlib.sha256(json.dumps(ids).encode()).hexdigest()[:12] if how.endswith("batch") else \\
    hashlib.sha256(json.dumps(ids[0]).encode()).hexdigest()[:12]
print(json.dumps({"seconds": seconds, "bytes": len(text.encode()), "digest": digest}))
"""


def run_measured(cmd: list[str]) -> tuple[float, float, str]:
    """Wall seconds, peak RSS (MiB, from wait4) and stdout of one child process."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out = proc.stdout.read() if proc.stdout else b""
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - start
    if status != 0:
        err = proc.stderr.read().decode() if proc.stderr else ""
        raise SystemExit(f"benchmark command failed: {' '.join(cmd)}\n{err[-2000:]}")
    return seconds, usage.ru_maxrss / 1024, out.decode()


def build_inputs(directory: Path, quick: bool) -> dict[str, Path]:
    missing = [p for p in PARTS if not (CORPORA / p).is_file()]
    if missing or not (CORPORA / "gpt2" / "vocab.bpe").is_file():
        raise SystemExit(f"corpora missing in {CORPORA}: {missing or ['gpt2/']}")
    text = "".join((CORPORA / p).read_text(encoding="utf-8") for p in PARTS)
    big = text * (1 if quick else 10)
    line_bytes = 2_000_000 if quick else 20_000_000
    line = big.replace("\n", " ").encode("utf-8")[:line_bytes].decode("utf-8", "ignore")
    if len(line.encode("utf-8")) < line_bytes:
        line = (line + " " + line)[: line_bytes // 3]
    paths = {"corpora x10" if not quick else "corpora x1": big, "one line": line,
             "200k repeated 'a'": "a" * 200_000, "100k repeated 'a'": "a" * 100_000}
    for name, body in paths.items():
        (directory / _file_name(name)).write_text(body, encoding="utf-8")
    return input_paths(directory, quick)


def _file_name(name: str) -> str:
    return name.replace(" ", "_").replace("'", "") + ".txt"


def input_paths(directory: Path, quick: bool) -> dict[str, Path]:
    names = ["corpora x1" if quick else "corpora x10", "one line", "200k repeated 'a'",
             "100k repeated 'a'"]
    return {name: directory / _file_name(name) for name in names}


def fmt(values: list[float], digits: int = 2) -> str:
    med = statistics.median(values)
    if len(values) == 1:
        return f"{med:.{digits}f}"
    return f"{med:.{digits}f} ({min(values):.{digits}f}-{max(values):.{digits}f})"


def train_cases(inputs: dict[str, Path], quick: bool) -> list[tuple[str, int]]:
    big = next(k for k in inputs if k.startswith("corpora"))
    if quick:
        return [(big, 8000), ("one line", 8000)]
    return [(big, 8000), (big, 32000), ("one line", 32000)]


def train_variants(vocab: int, path: Path, out: str) -> dict[str, list[str]]:
    tk = str(Path(sys.executable).with_name("tokenkit"))
    variants = {"HF BpeTrainer (raw)": [sys.executable, "-c", RAW_HF, str(vocab), out, str(path)]}
    for engine in ("reference", "gigatoken", "rustbpe"):
        variants[f"tokenkit train --engine {engine}"] = [
            tk, "train", "--vocab", str(vocab), str(path), "-o", f"{out}/{engine}", "-q", "--force",
            "--engine", engine]
    return variants


def bench_training(inputs: dict[str, Path], repeats: int, quick: bool, tmp: Path) -> None:
    print("| input | vocab | variant | wall s | peak RSS MiB | wall vs raw HF | merges = HF's |")
    print("|---|---|---|---|---|---|---|")
    for name, vocab in train_cases(inputs, quick):
        out = str(tmp / "train")
        os.makedirs(out, exist_ok=True)
        variants = train_variants(vocab, inputs[name], out)
        walls: dict[str, list[float]] = {k: [] for k in variants}
        rss: dict[str, list[float]] = {k: [] for k in variants}
        for _ in range(repeats):
            for label, cmd in variants.items():
                seconds, peak, _ = run_measured(cmd)
                walls[label].append(seconds)
                rss[label].append(peak)
        hf = json.loads((Path(out) / "tokenizer.json").read_text(encoding="utf-8"))["model"]["merges"]
        base = statistics.median(walls["HF BpeTrainer (raw)"])
        for label in variants:
            same = "yes"
            engine = label.rsplit(" ", 1)[-1]
            if label.startswith("tokenkit"):
                mine = json.loads((Path(out) / engine / "tokenizer.json").read_text(
                    encoding="utf-8"))["model"]["merges"]
                prefix = next((i for i, (a, b) in enumerate(zip(hf, mine)) if a != b),
                              min(len(hf), len(mine)))
                same = "yes" if mine == hf else f"no (first {prefix} of {len(hf)} equal)"
                ran = json.loads((Path(out) / engine / "tokenkit.json").read_text(
                    encoding="utf-8"))["training"]["engine"]
                label = f"{label} (ran: {ran})"
            key = label.split(" (ran")[0]
            print(f"| {name} | {vocab} | {label} | {fmt(walls[key])} | {fmt(rss[key], 0)} | "
                  f"{statistics.median(walls[key]) / base:.2f}x | {same} |", flush=True)


ENCODE_VARIANTS = {
    "tiktoken encode_ordinary": "tiktoken",
    "Vocabulary.encode, engine reference": "tk:reference:tiktoken",
    "Vocabulary.encode, engine gigatoken": "tk:gigatoken:gigatoken",
}
BATCH_VARIANTS = {
    "tiktoken encode_ordinary_batch (lines)": "tiktoken-batch",
    "Vocabulary.encode_batch (lines), engine reference": "tk:reference:tiktoken:batch",
    "Vocabulary.encode_batch (lines), engine gigatoken": "tk:gigatoken:gigatoken:batch",
}


def bench_encoding(inputs: dict[str, Path], repeats: int) -> None:
    print("| input | variant | MB/s | peak RSS MiB | vs tiktoken | ids |")
    print("|---|---|---|---|---|---|")
    big = next(k for k in inputs if k.startswith("corpora"))
    cases = [(big, ENCODE_VARIANTS), (big, BATCH_VARIANTS)] + [
        (k, ENCODE_VARIANTS) for k in inputs if not k.startswith("corpora")]
    for name, variants in cases:
        speeds: dict[str, list[float]] = {k: [] for k in variants}
        rss: dict[str, list[float]] = {k: [] for k in variants}
        digests: dict[str, str] = {}
        for _ in range(repeats):
            for label, how in variants.items():
                _, peak, out = run_measured([sys.executable, "-c", ENCODE, how, str(inputs[name])])
                got = json.loads(out.strip().splitlines()[-1])
                speeds[label].append(got["bytes"] / got["seconds"] / 1e6)
                rss[label].append(peak)
                digests[label] = got["digest"]
        base_label = next(iter(variants))
        base = statistics.median(speeds[base_label])
        for label in variants:
            same = "identical" if digests[label] == digests[base_label] else "DIFFERENT"
            print(f"| {name} | {label} | {fmt(speeds[label], 1)} | {fmt(rss[label], 0)} | "
                  f"{statistics.median(speeds[label]) / base:.2f}x | {same} |", flush=True)


def heldout_compression(sizes: tuple[int, ...] = (8000, 32000)) -> None:
    """Bytes per token on the last 10% of each corpus, trained on the first 90% (in-process:
    this is about the vocabularies, not speed)."""
    from tokenkit.training import train_from_texts

    train, held = [], []
    for part in PARTS:
        text = (CORPORA / part).read_text(encoding="utf-8")
        cut = text.index("\n", len(text) * 9 // 10)
        train.append(text[:cut])
        held.append(text[cut:])
    held_out = "".join(held)
    n_bytes = len(held_out.encode("utf-8"))
    print("| vocab | HF (reference) | gigatoken | rustbpe | rustbpe vs HF |")
    print("|---|---|---|---|---|")
    for size in sizes:
        got = {e: n_bytes / len(train_from_texts(train, size, engine=e).vocabulary.encode(held_out))
               for e in ("reference", "gigatoken", "rustbpe")}
        print(f"| {size} | {got['reference']:.4f} | {got['gigatoken']:.4f} | {got['rustbpe']:.4f} | "
              f"{(got['rustbpe'] / got['reference'] - 1) * 100:+.3f}% |", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--quick", action="store_true",
                        help="corpora x1, a 2 MB line, vocab 8000, one repeat (a minute or two)")
    parser.add_argument("--only", choices=("train", "encode", "heldout"),
                        help="run one part (heldout: compression on held-out text, not timed)")
    args = parser.parse_args()
    repeats = 1 if args.quick else args.repeats
    if args.only == "heldout":
        heldout_compression()
        return
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, {repeats} interleaved repeats "
          "(median, range)\n")
    with tempfile.TemporaryDirectory(prefix="tokenkit-engines-") as tmp:
        # built in a child: a child's peak RSS counts the parent's memory at fork
        subprocess.run([sys.executable, "-c", "import sys; from pathlib import Path; "
                        "from bench.tokenkit_engines import build_inputs; "
                        "build_inputs(Path(sys.argv[1]), sys.argv[2] == 'quick')", tmp,
                        "quick" if args.quick else "full"], check=True, cwd=ROOT)
        inputs = input_paths(Path(tmp), args.quick)
        if args.only != "encode":
            bench_training({k: v for k, v in inputs.items() if "repeated" not in k}, repeats,
                           args.quick, Path(tmp))
            print()
        if args.only != "train":
            bench_encoding(inputs, repeats)


if __name__ == "__main__":
    main()
