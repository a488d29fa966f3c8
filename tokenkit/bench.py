"""Measure vocabularies x corpora: compression, entropy, fertility, parity, fidelity, speed.

Returns data only (:class:`BenchResult`); the ``bench`` command renders it. Every vocabulary
encodes each whole document once (all counts come from that pass, so they cannot depend on
chunking) and once more as a batch of chunks cut only where GPT-style pre-tokenizers cut
anyway (the batched throughput; its token total is checked against the whole). Round-trip
fidelity encodes and decodes each line on its own, except where it is implied: a byte-level
BPE whose alphabet holds all 256 bytes encodes any text as a segmentation of its UTF-8 bytes,
so every line comes back exactly when the whole text's bytes do (:func:`byte_complete`).
"""

from __future__ import annotations

import csv
import json
import math
import os
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, fields
from typing import Any
from pathlib import Path

from tokenkit import metrics
from tokenkit.atomic import atomic_file
from tokenkit.backends.hf import HFVocabulary
from tokenkit.backends.tiktoken import TiktokenVocabulary
from tokenkit.errors import TokenkitError
from tokenkit.specs import load_vocabulary
from tokenkit.corpusreader import DEFAULT_TEXT_FIELD, read_corpus_text
from tokenkit.results import RENYI_ALPHA, BenchResult, BenchRow
from tokenkit.vocabulary import NO_SPECIALS, AllowedSpecial, Vocabulary

#: Rényi order recommended by Zouhar et al. (2023).
#: UDHR Article 1 in English: the parity reference (multilingual.tsv has no English rows).
ENGLISH_ARTICLE_1 = ("All human beings are born free and equal in dignity and rights.",
                     "They are endowed with reason and conscience and should act towards one "
                     "another in a spirit of brotherhood.")
#: Lines per language that hold Article 1 in multilingual.tsv.
ARTICLE_1_LINES = 2
#: Cut a document only after "<non-space>\n" and before a non-space: no GPT-2 / cl100k split
#: piece crosses such a point, so a batch of units encodes to the same tokens as the whole.
_UNIT_BOUNDARY = re.compile(r"(?<=\S\n)(?=\S)")
#: Texts per batched encode: a few per core keeps every worker busy.
BATCH_CHUNKS = 4 * max(1, os.cpu_count() or 1)
_TSV_LINE = re.compile(r"^[a-z]{2,3}\t.+$")

Progress = Callable[[int, int, str], None]


@dataclass
class Corpus:
    """A text to measure on; ``languages`` holds (lang, line) pairs for a parallel TSV."""

    name: str
    text: str
    languages: list[tuple[str, str]] = field(default_factory=list)


def split_units(text: str) -> list[str]:
    """Cut ``text`` into line-like units at points no GPT-style pre-tokenizer piece crosses."""
    return [u for u in _UNIT_BOUNDARY.split(text) if u]


def group_units(units: Sequence[str], n_chunks: int) -> list[str]:
    """Join consecutive units into about ``n_chunks`` similar-sized texts (batch workers get
    big pieces, not one tiny line each)."""
    total = sum(len(u) for u in units)
    target = max(1, total // max(1, n_chunks))
    chunks, current, size = [], [], 0
    for u in units:
        current.append(u)
        size += len(u)
        if size >= target:
            chunks.append("".join(current))
            current, size = [], 0
    if current:
        chunks.append("".join(current))
    return chunks


def vocab_label(spec: str) -> str:
    """A short column name for a vocabulary spec (a path's last part, else the spec)."""
    path = Path(spec)
    return path.name or spec if path.exists() else spec


def load_corpus(spec: str, text_field: str = DEFAULT_TEXT_FIELD) -> Corpus:
    """Read a corpus name or file; a ``lang<TAB>sentence`` TSV becomes a parallel corpus.

    A JSONL or Parquet file (plain or ``.gz``/``.zst``) is measured as its records' text
    (``text_field``) joined by newlines.
    """
    doc = read_corpus_text(spec, text_field=text_field)
    if not doc.text.strip():
        raise TokenkitError(f"corpus {spec} is empty")
    lines = doc.text.splitlines()
    if spec.endswith(".tsv") or spec == "multilingual":
        if all(_TSV_LINE.match(line) for line in lines if line):
            pairs = [tuple(line.split("\t", 1)) for line in lines if line]
            text = "\n".join(s for _, s in pairs) + "\n"
            return Corpus(spec, text, [(lang, s) for lang, s in pairs])
    return Corpus(spec, doc.text)


def article_1(languages: Sequence[tuple[str, str]]) -> dict[str, str]:
    """Each language's first two lines (UDHR Article 1), plus English as the reference."""
    out: dict[str, list[str]] = {}
    for lang, line in languages:
        out.setdefault(lang, [])
        if len(out[lang]) < ARTICLE_1_LINES:
            out[lang].append(line)
    texts = {lang: "\n".join(ls) for lang, ls in out.items()}
    texts.setdefault("en", "\n".join(ENGLISH_ARTICLE_1))
    return texts


def measure(vocab: Vocabulary, corpus: Corpus, *, label: str, fast_path: bool = False,
            allowed_special: AllowedSpecial = NO_SPECIALS) -> BenchRow:
    """All numbers for ``vocab`` on ``corpus`` (encodes the text twice, decodes it once).

    Special-token strings in the corpus are ordinary text unless ``allowed_special``: the counts
    equal tiktoken's ``encode_ordinary`` and HF's encode with special splitting off.
    """
    text = corpus.text
    allow = {"allowed_special": allowed_special}
    start = time.perf_counter()
    ids = vocab.encode(text, **allow)
    encode_s = time.perf_counter() - start
    units = split_units(text)
    chunks = group_units(units, BATCH_CHUNKS)
    start = time.perf_counter()
    batch = vocab.encode_batch(chunks, **allow)
    batch_s = time.perf_counter() - start
    lines = text.splitlines(keepends=True)
    complete = byte_complete(vocab)
    if complete is not None and complete.decode_bytes(ids) == text.encode("utf-8"):
        rt = metrics.RoundTrip(len(lines), len(lines), 0, ())
    else:
        rt = metrics.round_trip(lines, _decode_batch(vocab, vocab.encode_batch(lines, **allow)))

    bits = metrics.bits_report_from_ids(text, ids, vocab.vocab_size)
    counts = metrics.unigram_counts(ids)
    entropy = metrics.shannon_entropy(counts)
    mb = bits.utf8_bytes / 1e6
    return BenchRow(
        vocab=label, corpus=corpus.name, backend=vocab.backend, vocab_size=vocab.vocab_size,
        utf8_bytes=bits.utf8_bytes, characters=bits.characters, tokens=bits.n_tokens,
        bytes_per_token=bits.bytes_per_token, chars_per_token=bits.chars_per_token,
        utf8_bits=bits.utf8_bits, bits_per_token=bits.bits_per_token, bpe_bits=bits.bpe_bits,
        compression_ratio=bits.ratio, entropy_bits_per_token=entropy,
        entropy_compression_ratio=metrics.entropy_compression_ratio(bits.utf8_bytes,
                                                                    bits.n_tokens, entropy),
        renyi_efficiency=metrics.renyi_efficiency(counts, RENYI_ALPHA, vocab.vocab_size),
        renyi_efficiency_observed=metrics.renyi_efficiency(counts, RENYI_ALPHA),
        distinct_tokens=len(counts), words=metrics.whitespace_words(text),
        fertility=metrics.fertility(bits.n_tokens, text),
        lines=rt.lines, exact_lines=rt.exact_lines, round_trip_fidelity=rt.fidelity,
        lost_characters=rt.lost_characters, lost_examples="".join(rt.lost_examples),
        encode_seconds=encode_s, encode_mb_s=mb / encode_s if encode_s else math.inf,
        encode_batch_seconds=batch_s, encode_batch_mb_s=mb / batch_s if batch_s else math.inf,
        batch_counts_match=sum(map(len, batch)) == bits.n_tokens, fast_path=fast_path,
        encode_engine="" if vocab.encode_engine in ("hf", vocab.backend) else vocab.encode_engine)


def byte_complete(vocab: Vocabulary) -> Any:
    """The tiktoken encoding ``vocab`` encodes through (its own, or its fast path proven to give
    its ids) when it has all 256 one-byte tokens, else None. Such an encoding turns any text
    into a segmentation of its UTF-8 bytes, so each line decodes back exactly whenever the
    whole text's ids give back the whole text's bytes."""
    if isinstance(vocab, TiktokenVocabulary):
        enc = vocab.encoding
    elif isinstance(vocab, HFVocabulary):
        enc = vocab.fast_encoding()
    else:
        return None
    if enc is None or not all(bytes([b]) in enc._mergeable_ranks for b in range(256)):
        return None
    return enc


def measure_parity(vocab: Vocabulary, texts: dict[str, str]) -> tuple[dict[str, int], dict[str, float]]:
    """Token counts of each language's Article 1 and their ratio to English's."""
    langs = list(texts)
    counts = dict(zip(langs, (len(ids) for ids in vocab.encode_batch([texts[k] for k in langs]))))
    return counts, metrics.parity(counts, "en")


def run_bench(vocab_specs: Sequence[str], corpus_specs: Sequence[str], *,
              fast: bool = True, on_progress: Progress | None = None,
              allowed_special: AllowedSpecial = NO_SPECIALS, engine: str = "auto",
              text_field: str = DEFAULT_TEXT_FIELD) -> BenchResult:
    """Load every vocabulary and corpus, then measure the grid (and parity when a corpus is
    the parallel ``multilingual`` TSV). ``fast`` encodes through the tiktoken form where it
    gives identical ids, run by ``engine`` (:mod:`tokenkit.engines`). ``allowed_special``
    (``"all"`` or a set) lets each vocabulary read those of the named specials it has from the
    text; by default none. ``text_field`` names the text of JSONL / Parquet corpora."""
    if not vocab_specs:
        raise TokenkitError("give at least one vocabulary")
    if not corpus_specs:
        raise TokenkitError("give at least one --corpus")
    corpora = [load_corpus(c, text_field) for c in corpus_specs]
    vocabs = [load_vocabulary(s, engine=engine if fast else "reference") for s in vocab_specs]
    if not isinstance(allowed_special, str):
        known = set().union(*(v.specials for v in vocabs))
        unknown = sorted(set(allowed_special) - known)
        if unknown:
            raise TokenkitError(f"--allow-special {unknown[0]!r} is not a special token of any "
                                "of the vocabularies")
    labels = _unique([vocab_label(s) for s in vocab_specs])
    parallel = [c for c in corpora if c.languages]
    total = len(vocab_specs) * (len(corpora) + (1 if parallel else 0))
    done = 0
    rows: list[BenchRow] = []
    parity: dict[str, dict[str, float]] = {}
    parity_tokens: dict[str, dict[str, int]] = {}
    for vocab, label in zip(vocabs, labels):
        if isinstance(vocab, HFVocabulary):
            vocab.use_fast = fast  # --no-fast measures HF's own encoder
        fast_path = isinstance(vocab, HFVocabulary) and vocab.fast_encoding() is not None
        vocab.encode_batch(["warm up", "the encoder"])  # engine set-up and thread pools: not timed
        for corpus in corpora:
            if on_progress:
                on_progress(done, total, f"{label} × {corpus.name}")
            rows.append(measure(vocab, corpus, label=label, fast_path=fast_path,
                                allowed_special=_own_specials(vocab, allowed_special)))
            done += 1
        if parallel:
            if on_progress:
                on_progress(done, total, f"{label} × parity")
            parity_tokens[label], parity[label] = measure_parity(vocab, article_1(parallel[0].languages))
            done += 1
    if on_progress:
        on_progress(done, total, "done")
    return BenchResult(rows, labels, [c.name for c in corpora], parity, parity_tokens)


def write_csv(result: BenchResult, path: Path) -> Path:
    """One row per vocabulary x corpus with every column; parity as ``parity_<lang>`` columns."""
    langs = sorted({lang for p in result.parity.values() for lang in p})
    names = [f.name for f in fields(BenchRow)] + [f"parity_{lang}" for lang in langs]
    with atomic_file(path) as tmp, tmp.open("w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=names)
        w.writeheader()
        for r in result.rows:
            d = asdict(r)
            d.update({f"parity_{lang}": result.parity.get(r.vocab, {}).get(lang)
                      for lang in langs})
            w.writerow(d)
    return path


def write_json(result: BenchResult, path: Path) -> Path:
    with atomic_file(path) as tmp:
        tmp.write_text(json.dumps(result.to_dict(), indent=2, ensure_ascii=False) + "\n",
                       encoding="utf-8")
    return path


def _decode_batch(vocab: Vocabulary, batch: list[list[int]]) -> list[str]:
    """Decode many id lists; uses the backend's batch decoder when it has one (speed only)."""
    inner = getattr(vocab, "inner", vocab)
    fn = getattr(inner, "decode_batch", None)
    if fn is None and getattr(inner, "tokenizer", None) is not None:
        return inner.tokenizer.decode_batch(batch, skip_special_tokens=False)
    if fn is not None:
        return fn(batch)
    return [vocab.decode(ids) for ids in batch]


def _own_specials(vocab: Vocabulary, allowed: AllowedSpecial) -> AllowedSpecial:
    return allowed if isinstance(allowed, str) else frozenset(allowed) & set(vocab.specials)


def _unique(labels: list[str]) -> list[str]:
    seen: dict[str, int] = {}
    out = []
    for lab in labels:
        seen[lab] = seen.get(lab, 0) + 1
        out.append(lab if seen[lab] == 1 else f"{lab}#{seen[lab]}")
    return out
