"""Build a realistic big corpus (100 MB, 1 GB, ...) offline from the shipped corpora.

Repeating the shipped corpora (~3.5 MB of English, Japanese and 71 languages) makes a big file
whose vocabulary stops growing after the first copy, which flatters every tokenizer benchmark
(pre-token counts, caches, merges). Real text keeps meeting new words as it grows, following
Heaps' law ``distinct words ~ K * words**beta`` with beta around 0.4-0.6. This script keeps that
property:

* Documents are passages of consecutive lines of the shipped corpora (so sentences, punctuation,
  scripts and line lengths are real), picked in proportion to each corpus's bytes.
* Each word (``\\w+``) of a passage is kept with probability ``1 - substitute`` or replaced by a
  word drawn from an unbounded vocabulary whose ranks follow a Zipf law (exponent ``zipf``):
  rank r, variant v -> word id; a Zipf law with exponent a gives Heaps' beta = 1/a.
* A word id's spelling comes from a character-level trigram Markov model trained on the words
  of the shipped corpora of the same kind (Latin letters, kanji runs, katakana runs; hiragana,
  which carries Japanese grammar, and other scripts keep their words), seeded by the id, so the same id is always the same new word form and new forms look
  like words of that script; case follows the word it replaces.

Everything is deterministic from ``--seed``. The script writes the corpus as text (documents
separated by a blank line) and JSONL compressed with zstd (``{"text": ...}`` per document),
optionally Parquet, plus the growth curve (distinct words against bytes) as CSV, JSON and a PNG,
with the fitted Heaps exponent for the synthetic corpus and for the shipped corpora themselves.
Output goes to ``bench/results/`` (git-ignored) unless ``--out`` says otherwise. Run:

    python -m bench.make_big_corpus --size 100MB
    python -m bench.make_big_corpus --size 1GB --formats txt,jsonl.zst,parquet
"""

from __future__ import annotations

import argparse
import bisect
import csv
import functools
import json
import math
import random
import re
import sys
import time
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tokenkit.corpora import find_corpus  # noqa: E402

SOURCES = ("tinyshakespeare", "taylorswift", "the-verdict", "wagahai", "multilingual")
FORMATS = ("txt", "jsonl.zst", "parquet")
_KANJI = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\u3005\u3006\u30f6"
_KATAKANA = "\u30a0-\u30ff"
_HIRAGANA = "\u3040-\u309f"
#: Words: runs of letters of one kind. Japanese has no spaces, so a run of kanji, of katakana or
#: of hiragana counts as a word (a crude but standard segmentation); elsewhere a run of letters.
WORD = re.compile(f"[{_KANJI}]+|[{_KATAKANA}]+|[{_HIRAGANA}]+|[^\\W\\d_{_KANJI}{_KATAKANA}{_HIRAGANA}]+")
SPLIT = re.compile(f"({WORD.pattern})")
_LATIN = re.compile(r"[A-Za-z\u00c0-\u024f]+")
_SCRIPTS = {"kanji": re.compile(f"[{_KANJI}]+"), "katakana": re.compile(f"[{_KATAKANA}]+"),
            "latin": _LATIN}
MAX_LEN = {"latin": 20, "kanji": 6, "katakana": 12}
UNITS = {"": 1, "B": 1, "KB": 10**3, "MB": 10**6, "GB": 10**9, "KIB": 1 << 10, "MIB": 1 << 20,
         "GIB": 1 << 30}


def parse_size(text: str) -> int:
    """``100MB`` -> 100_000_000 (decimal units; KiB/MiB/GiB binary)."""
    m = re.fullmatch(r"\s*([0-9.]+)\s*([A-Za-z]*)\s*", text)
    if not m or m.group(2).upper() not in UNITS:
        raise argparse.ArgumentTypeError(f"size must look like 100MB or 1GB, got {text!r}")
    return int(float(m.group(1)) * UNITS[m.group(2).upper()])


def label_for(size: int) -> str:
    for unit, factor in (("GB", 10**9), ("MB", 10**6), ("KB", 10**3)):
        if size >= factor and size % factor == 0:
            return f"{size // factor}{unit}"
    return f"{size}B"


# -- the shipped text -----------------------------------------------------------------------------
def load_lines(sources: tuple[str, ...] = SOURCES) -> tuple[list[str], list[str]]:
    """Every non-empty line of the shipped corpora, and its source's name."""
    lines: list[str] = []
    origin: list[str] = []
    for name in sources:
        path = find_corpus(name)
        if path is None:
            raise SystemExit(f"corpus {name} not found (looked in $TOKENKIT_CORPORA and ../shared/corpora)")
        text = path.read_text(encoding="utf-8")
        for line in text.splitlines():
            if name == "multilingual":
                line = line.split("\t", 1)[-1]
            if line.strip():
                lines.append(line)
                origin.append(name)
    return lines, origin


@functools.lru_cache(maxsize=None)
def script_of(word: str) -> str:
    """Which character model spells replacements for ``word``; "other" words are kept."""
    for script, pattern in _SCRIPTS.items():
        if pattern.fullmatch(word):
            return script
    return "other"


class CharModel:
    """A character trigram model of word spellings: ``^^`` starts a word, ``$`` ends it; the
    length is capped by the length of a real word drawn at random."""

    def __init__(self, words: list[str], max_len: int) -> None:
        counts: dict[str, Counter[str]] = defaultdict(Counter)
        for w in words:
            padded = "^^" + w + "$"
            for i in range(2, len(padded)):
                counts[padded[i - 2:i]][padded[i]] += 1
        self.table: dict[str, tuple[list[str], list[int]]] = {}
        for ctx, c in counts.items():
            chars = list(c)
            cum, total = [], 0
            for ch in chars:
                total += c[ch]
                cum.append(total)
            self.table[ctx] = (chars, cum)
        self.max_len = max_len
        self.lengths = [len(w) for w in words]

    def spell(self, rng: random.Random) -> str:
        """A word at most as long as a randomly chosen real word (a trigram chain alone runs
        on into 15-20 letter words far more often than real text does)."""
        limit = min(self.max_len, self.lengths[int(rng.random() * len(self.lengths))])
        out, ctx = [], "^^"
        while len(out) < limit:
            chars, cum = self.table[ctx]
            ch = chars[bisect.bisect_right(cum, rng.random() * cum[-1])]
            if ch == "$":
                if out:
                    break
                continue
            out.append(ch)
            ctx = ctx[1] + ch
        return "".join(out)


@dataclass
class Template:
    parts: list[str]  # SPLIT's output: even items between words, odd items words
    slots: list[tuple[int, str, bool]]  # (index in parts, script, capitalised) of each word


def make_templates(lines: list[str]) -> list[Template]:
    out = []
    for line in lines:
        parts = SPLIT.split(line)
        slots = [(i, script_of(parts[i]), parts[i][:1].isupper()) for i in range(1, len(parts), 2)]
        out.append(Template(parts, [s for s in slots if s[1] != "other"]))
    return out


@functools.lru_cache(maxsize=1)
def shipped_models(sources: tuple[str, ...] = SOURCES) -> tuple[list[str], list[Template],
                                                                dict[str, CharModel]]:
    """The shipped lines, their templates and the spelling models (seed-independent)."""
    lines, _ = load_lines(sources)
    words = defaultdict(set)
    for line in lines:
        for w in WORD.findall(line):
            script = script_of(w)
            words[script].add(w.lower() if script == "latin" else w)
    models = {script: CharModel(sorted(words[script]) or ["a"], MAX_LEN[script]) for script in _SCRIPTS}
    return lines, make_templates(lines), models


# -- the generator --------------------------------------------------------------------------------
class Generator:
    """Documents of passages with Zipf-distributed new words, deterministic from ``seed``."""

    def __init__(self, seed: int, substitute: float, zipf: float, offset: int,
                 doc_bytes: int, sources: tuple[str, ...] = SOURCES) -> None:
        self.seed = seed
        self.substitute = substitute
        self.zipf = zipf
        self.offset = offset
        self.doc_bytes = doc_bytes
        self.lines, self.templates, self.models = shipped_models(tuple(sources))
        self.spelled: dict[tuple[str, int], str] = {}
        self.taken: set[str] = set()
        weights = np.array([len(line.encode("utf-8")) + 1 for line in self.lines], dtype=np.float64)
        self.cum = np.cumsum(weights / weights.sum())
        self.rng = np.random.default_rng(seed)
        self.source_bytes = int(weights.sum())
        self._u: list[float] = []
        self._ids: list[int] = []

    def _uniform(self) -> float:
        if not self._u:
            self._u = self.rng.random(1 << 16).tolist()
        return self._u.pop()

    def _word_id(self) -> int:
        if not self._ids:
            # Zipf-Mandelbrot: P(id) ~ (id + offset) ** -zipf, drawn by inverting a Pareto tail
            u = 1.0 - self.rng.random(1 << 16)
            x = (self.offset + 1) * u ** (-1.0 / (self.zipf - 1.0))
            self._ids = (np.minimum(x, 2.0 ** 62).astype(np.int64) - self.offset - 1).tolist()
        return self._ids.pop()

    def _spell(self, script: str, word_id: int) -> str:
        key = (script, word_id)
        word = self.spelled.get(key)
        if word is None:
            # a new id is a new word: respell on a clash with an earlier new word (so rare
            # words come out longer, as in real text), keep a clash after 50 tries
            rng = random.Random(f"{self.seed}:{script}:{word_id}")
            for _ in range(50):
                word = self.models[script].spell(rng)
                if word not in self.taken:
                    break
            self.taken.add(word)
            self.spelled[key] = word
        return word

    def document(self) -> str:
        """A passage of consecutive lines, about ``doc_bytes`` long (geometric), words replaced."""
        start = int(np.searchsorted(self.cum, self._uniform()))
        want = max(1, int(-math.log(1.0 - self._uniform()) * self.doc_bytes))
        out, size, i = [], 0, start
        sub = self.substitute
        while size < want and i < len(self.templates):
            t = self.templates[i]
            parts = t.parts
            if t.slots:
                parts = parts.copy()
                for index, script, upper in t.slots:
                    if self._uniform() < sub:
                        w = self._spell(script, self._word_id())
                        parts[index] = w.capitalize() if upper and script == "latin" else w
            line = "".join(parts)
            out.append(line)
            size += len(line) + 1
            i += 1
        return "\n".join(out)


# -- growth curve ---------------------------------------------------------------------------------
class Growth:
    """Distinct words against bytes and words, sampled at log-spaced points."""

    def __init__(self) -> None:
        self.seen: set[str] = set()
        self.words = 0
        self.bytes = 0
        self.points: list[dict[str, int]] = []
        self.next_at = 1 << 14

    def add(self, text: str, n_bytes: int) -> None:
        found = WORD.findall(text)
        self.words += len(found)
        self.seen.update(found)
        self.bytes += n_bytes
        if self.bytes >= self.next_at:
            self.record()
            self.next_at = int(self.next_at * 2 ** 0.5)

    def record(self) -> None:
        if not self.points or self.points[-1]["bytes"] != self.bytes:
            self.points.append({"bytes": self.bytes, "words": self.words, "distinct": len(self.seen)})


def heaps_beta(points: list[dict[str, int]], min_words: int = 10_000) -> tuple[float, float]:
    """(beta, K) of distinct = K * words**beta, least squares in log-log space."""
    use = [p for p in points if p["words"] >= min_words]
    if len(use) < 2:
        return float("nan"), float("nan")
    x = np.log([p["words"] for p in use])
    y = np.log([p["distinct"] for p in use])
    beta, logk = np.polyfit(x, y, 1)
    return float(beta), float(math.exp(logk))


def shipped_growth(lines: list[str], seed: int) -> list[dict[str, int]]:
    """The shipped corpora's own curve, passages in a seeded random order (real text)."""
    order = list(range(0, len(lines), 50))
    random.Random(seed).shuffle(order)
    g = Growth()
    for start in order:
        chunk = "\n".join(lines[start:start + 50])
        g.add(chunk, len(chunk.encode("utf-8")) + 1)
    g.record()
    return g.points


# -- writing --------------------------------------------------------------------------------------
class Writers:
    def __init__(self, base: Path, formats: list[str]) -> None:
        self.paths: dict[str, Path] = {}
        self._close: list[Any] = []
        self.txt = self.jsonl = self.parquet = None
        self.batch: list[str] = []
        if "txt" in formats:
            self.paths["txt"] = base.with_name(base.name + ".txt")
            self.txt = open(self.paths["txt"], "w", encoding="utf-8", newline="")  # noqa: SIM115
            self._close.append(self.txt)
        if "jsonl.zst" in formats:
            import zstandard

            self.paths["jsonl.zst"] = base.with_name(base.name + ".jsonl.zst")
            raw = open(self.paths["jsonl.zst"], "wb")  # noqa: SIM115
            self.jsonl = zstandard.ZstdCompressor(level=3, threads=-1).stream_writer(raw)
            self._close += [self.jsonl, raw]
        if "parquet" in formats:
            import pyarrow as pa
            import pyarrow.parquet as pq

            self.pa = pa
            self.paths["parquet"] = base.with_name(base.name + ".parquet")
            self.parquet = pq.ParquetWriter(self.paths["parquet"], pa.schema([("text", pa.string())]),
                                            compression="zstd")

    def write(self, doc: str, first: bool) -> None:
        if self.txt is not None:
            self.txt.write(doc if first else "\n\n" + doc)
        if self.jsonl is not None:
            self.jsonl.write(json.dumps({"text": doc}, ensure_ascii=False).encode("utf-8") + b"\n")
        if self.parquet is not None:
            self.batch.append(doc)
            if len(self.batch) >= 20_000:
                self._flush()

    def _flush(self) -> None:
        if self.parquet is not None and self.batch:
            self.parquet.write_table(self.pa.table({"text": self.pa.array(self.batch, self.pa.string())}))
            self.batch = []

    def close(self) -> None:
        self._flush()
        if self.parquet is not None:
            self.parquet.close()
        for f in self._close:
            f.close()


def plot(points: list[dict[str, int]], real: list[dict[str, int]], beta: float, beta_big: float,
         real_beta: float, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5), dpi=120)
    ax.loglog([p["bytes"] / 1e6 for p in points], [p["distinct"] for p in points], "o-", ms=3,
              label=f"synthetic (Heaps beta = {beta:.3f}; {beta_big:.3f} above 1 MB)")
    ax.loglog([p["bytes"] / 1e6 for p in real], [p["distinct"] for p in real], "s-", ms=3,
              label=f"shipped corpora, real text (beta = {real_beta:.3f})")
    repeated = real[-1]
    ax.loglog([repeated["bytes"] / 1e6, points[-1]["bytes"] / 1e6], [repeated["distinct"]] * 2, "--",
              color="grey", label="shipped corpora repeated (flat)")
    ax.set_xlabel("corpus size (MB)")
    ax.set_ylabel("distinct words")
    ax.set_title("Vocabulary growth: distinct words vs corpus size")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def build(size: int, out: Path, *, seed: int = 0, formats: tuple[str, ...] = ("txt", "jsonl.zst"),
          substitute: float = 0.4, zipf: float = 2.0, offset: int = 10000, doc_bytes: int = 3000,
          name: str | None = None, quiet: bool = False,
          sources: tuple[str, ...] = SOURCES) -> dict[str, Any]:
    """Write the corpus and its growth curve under ``out``; return the summary (also saved)."""
    started = time.perf_counter()
    out.mkdir(parents=True, exist_ok=True)
    base = out / (name or f"big-{label_for(size)}")
    gen = Generator(seed, substitute, zipf, offset, doc_bytes, sources)
    writers = Writers(base, list(formats))
    growth = Growth()
    docs = 0
    try:
        while growth.bytes < size:
            doc = gen.document()
            n = len(doc.encode("utf-8")) + (2 if docs else 0)
            writers.write(doc, first=docs == 0)
            growth.add(doc, n)
            docs += 1
            if not quiet and docs % 20000 == 0:
                print(f"  {growth.bytes / 1e6:8.1f} MB  {len(growth.seen):>10,} distinct words  "
                      f"{time.perf_counter() - started:6.1f} s", file=sys.stderr)
    finally:
        writers.close()
    growth.record()
    real = shipped_growth(gen.lines, seed)
    beta, k = heaps_beta(growth.points)
    big = [p for p in growth.points if p["bytes"] >= 10**6]
    beta_big, _ = heaps_beta(big, 0) if len(big) >= 2 else (float("nan"), 0)
    real_beta, real_k = heaps_beta(real)
    summary = {
        "size": growth.bytes, "documents": docs, "words": growth.words, "distinct_words": len(growth.seen),
        "seed": seed, "sources": list(sources), "substitute": substitute, "zipf": zipf, "offset": offset,
        "heaps_beta": round(beta, 4), "heaps_k": round(k, 2), "heaps_beta_above_1MB": round(beta_big, 4),
        "shipped_bytes": real[-1]["bytes"], "shipped_distinct_words": real[-1]["distinct"],
        "shipped_heaps_beta": round(real_beta, 4), "shipped_heaps_k": round(real_k, 2),
        "files": {fmt: str(p) for fmt, p in writers.paths.items()},
        "file_bytes": {fmt: p.stat().st_size for fmt, p in writers.paths.items()},
        "seconds": round(time.perf_counter() - started, 1),
        "growth": growth.points, "shipped_growth": real,
    }
    with open(base.with_name(base.name + "-growth.csv"), "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, ["bytes", "words", "distinct"])
        w.writeheader()
        w.writerows(growth.points)
    base.with_name(base.name + "-growth.json").write_text(json.dumps(summary, indent=1), encoding="utf-8")
    png = base.with_name(base.name + "-growth.png")
    plot(growth.points, real, beta, beta_big, real_beta, png)
    summary["png"] = str(png)
    return summary


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--size", type=parse_size, default=parse_size("100MB"), help="e.g. 100MB, 1GB")
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "big-corpus",
                    help="output folder (default: bench/results/big-corpus, git-ignored)")
    ap.add_argument("--formats", default="txt,jsonl.zst",
                    help=f"comma-separated, from {', '.join(FORMATS)}")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--sources", default=",".join(SOURCES),
                    help="shipped corpora to draw passages from (e.g. tinyshakespeare,taylorswift,"
                         "the-verdict for English only; wagahai is ~43%% of the default's bytes)")
    ap.add_argument("--name", help="file name stem (default: big-SIZE)")
    ap.add_argument("--substitute", type=float, default=0.4, help="share of words replaced")
    ap.add_argument("--zipf", type=float, default=2.0, help="Zipf exponent of new words (beta ~ 1/zipf)")
    ap.add_argument("--offset", type=int, default=10000, help="Zipf-Mandelbrot offset of new words")
    ap.add_argument("--quiet", action="store_true")
    args = ap.parse_args(argv)
    formats = tuple(f.strip() for f in args.formats.split(",") if f.strip())
    unknown = [f for f in formats if f not in FORMATS]
    if unknown or not formats:
        ap.error(f"--formats: unknown {unknown}; choose from {', '.join(FORMATS)}")
    if not (0 <= args.substitute <= 1) or args.zipf <= 1 or args.offset < 0:
        ap.error("need 0 <= --substitute <= 1, --zipf > 1, --offset >= 0")
    sources = tuple(x.strip() for x in args.sources.split(",") if x.strip())
    if not sources or set(sources) - set(SOURCES):
        ap.error(f"--sources: choose from {', '.join(SOURCES)}")
    s = build(args.size, args.out, seed=args.seed, formats=formats, substitute=args.substitute,
              zipf=args.zipf, offset=args.offset, quiet=args.quiet, sources=sources, name=args.name)
    print(f"{'MB':>9} {'words':>13} {'distinct words':>15}")
    for p in s["growth"]:
        print(f"{p['bytes'] / 1e6:9.2f} {p['words']:13,} {p['distinct']:15,}")
    print(f"synthetic: {s['size']:,} bytes, {s['documents']:,} documents, {s['distinct_words']:,} distinct "
          f"words; Heaps beta {s['heaps_beta']} (K {s['heaps_k']}), {s['heaps_beta_above_1MB']} above 1 MB")
    print(f"shipped corpora (real text): {s['shipped_bytes']:,} bytes, {s['shipped_distinct_words']:,} "
          f"distinct words; Heaps beta {s['shipped_heaps_beta']} (K {s['shipped_heaps_k']})")
    for fmt, path in s["files"].items():
        print(f"wrote {path} ({s['file_bytes'][fmt]:,} bytes)")
    print(f"wrote {s['png']} ({s['seconds']} s)")


if __name__ == "__main__":
    main()
