"""Train a vocabulary with Hugging Face ``tokenizers`` or ``sentencepiece``, losslessly by default.

Defaults are chosen so that no input can be lost:

* ``hf`` (default): byte-level BPE whose initial alphabet is all 256 bytes, so every string
  has an encoding. ``alphabet="observed"`` reproduces the textbook's vocabulary, whose
  alphabet is only the bytes seen in the corpus: unseen characters vanish on encode.
* ``sentencepiece``: byte fallback on, identity normalisation, whitespace kept as is, and
  ``max_sentence_length`` raised to the longest line, because sentencepiece's defaults
  (NFKC, whitespace collapsing, skipping lines over 4192 bytes) silently rewrite or drop text.
"""

from __future__ import annotations

import io
import json
import re
import time
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime, timezone
from typing import Any

from tokenkit.backends.hf import HFVocabulary
from tokenkit.backends.sentencepiece import SentencePieceVocabulary
from tokenkit.corpusreader import DEFAULT_TEXT_FIELD, Corpus, open_corpus
from tokenkit.engines import (EngineChoice, EngineMismatch, LineCorpus, choose_train_engine,
                              hf_tokenizer_from_merges, train_merges)
from tokenkit.errors import TokenkitError
from tokenkit.fastpath import apply_fast_path
from tokenkit.textio import Document, document_from_bytes
from tokenkit.version import package_version
from tokenkit.vocabulary import Vocabulary

BACKENDS = ("hf", "sentencepiece")
ALPHABETS = ("bytes", "observed")
SP_MODEL_TYPES = ("bpe", "unigram")
SP_NORMALIZATIONS = ("identity", "nfkc", "nmt_nfkc", "nfkc_cf", "nmt_nfkc_cf")
SP_DEFAULT_MAX_SENTENCE = 4192  # sentencepiece's default; longer lines are skipped silently
SP_MAX_SENTENCE_CAP = 1 << 20  # lines longer than this (bytes) are split on whitespace
MAX_VOCAB_SIZE = (1 << 31) - 1  # ids are int32 in sentencepiece and in the saved files
#: The cap on --vocab when the input's size is unknown (a stream from stdin): far above any
#: vocabulary a corpus gives, far below what would make the trainers' allocation abort.
UNSIZED_VOCAB_CAP = 1 << 21


@dataclass(frozen=True)
class TrainOptions:
    """Everything that decides what vocabulary comes out (recorded in tokenkit.json)."""

    vocab_size: int
    backend: str = "hf"
    alphabet: str = "bytes"  # hf only
    model_type: str = "bpe"  # sentencepiece only
    special_tokens: tuple[str, ...] = ()
    min_frequency: int = 0  # hf only
    byte_fallback: bool = True  # sentencepiece only
    character_coverage: float = 0.9995  # sentencepiece only
    normalization: str = "identity"  # sentencepiece only
    keep_whitespace: bool = True  # sentencepiece only: no collapsing of runs of spaces

    def validate(self) -> None:
        if self.backend not in BACKENDS:
            raise TokenkitError(f"--backend must be one of {', '.join(BACKENDS)}, got {self.backend!r}")
        if self.alphabet not in ALPHABETS:
            raise TokenkitError(f"--alphabet must be one of {', '.join(ALPHABETS)}, got {self.alphabet!r}")
        if self.model_type not in SP_MODEL_TYPES:
            raise TokenkitError(f"--model-type must be one of {', '.join(SP_MODEL_TYPES)}, "
                                f"got {self.model_type!r}")
        if self.normalization not in SP_NORMALIZATIONS:
            raise TokenkitError(f"--normalization must be one of {', '.join(SP_NORMALIZATIONS)}, "
                                f"got {self.normalization!r}")
        if type(self.vocab_size) is not int or not 1 <= self.vocab_size <= MAX_VOCAB_SIZE:
            raise TokenkitError(f"--vocab must be an integer from 1 to {MAX_VOCAB_SIZE}, "
                                f"got {self.vocab_size!r}")
        if not 0 < self.character_coverage <= 1:  # also refuses nan
            raise TokenkitError(f"--character-coverage must be in (0, 1], got {self.character_coverage}")
        if self.min_frequency < 0:
            raise TokenkitError(f"--min-frequency must be >= 0, got {self.min_frequency}")
        if len(set(self.special_tokens)) != len(self.special_tokens) or "" in self.special_tokens:
            raise TokenkitError(f"--special-tokens must be distinct and non-empty: {list(self.special_tokens)}")
        for token in self.special_tokens:
            try:
                token.encode("utf-8")
            except (UnicodeEncodeError, AttributeError):
                raise TokenkitError(f"--special-tokens {token!r} is not valid Unicode text (a lone "
                                    "surrogate?)") from None
        if self.backend == "sentencepiece" and self.alphabet != "bytes":
            raise TokenkitError("--alphabet observed applies to the hf backend; use --no-byte-fallback "
                                "for a lossy sentencepiece vocabulary")

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["special_tokens"] = list(self.special_tokens)
        return d


@dataclass
class TrainResult:
    vocabulary: Vocabulary
    summary: dict[str, Any] = field(default_factory=dict)

    @property
    def warnings(self) -> list[str]:
        return list(self.summary.get("warnings", []))


def default_output_name(sources: Sequence[str], options: TrainOptions) -> str:
    """The directory ``tokenkit train`` writes when no ``-o`` is given.

    >>> default_output_name(["wagahai"], TrainOptions(vocab_size=5000, alphabet="observed"))
    'wagahai-observed-5000'
    >>> default_output_name(["data/books.txt"], TrainOptions(5000, backend="sentencepiece"))
    'books-sp-bpe-5000'
    >>> default_output_name(["crawl/part-01.jsonl.zst"], TrainOptions(32000))
    'part-01-32000'
    """
    first = sources[0] if sources else "stdin"
    stem = "stdin" if first == "-" else \
        re.sub(r"(\.[A-Za-z0-9]+)?\.(gz|gzip|zst|zstd)$|\.[A-Za-z0-9]+$", "", first.rstrip("/").split("/")[-1])
    parts = [stem or "vocab"]
    if options.backend == "hf" and options.alphabet == "observed":
        parts.append("observed")
    if options.backend == "sentencepiece":
        parts.append(f"sp-{options.model_type}")
    parts.append(str(options.vocab_size))
    return "-".join(parts)


def train(sources: Sequence[str], vocab_size: int, *, errors: str = "strict",
          progress: bool = False, text_field: str = DEFAULT_TEXT_FIELD, engine: str = "auto",
          **options: Any) -> TrainResult:
    """Train on files, directories, corpus names or ``-`` (stdin), streamed from disk: text,
    JSONL and Parquet (text in ``text_field``), plain or ``.gz``/``.zst``."""
    opts = TrainOptions(vocab_size=vocab_size, **_normalise(options))
    opts.validate()
    return train_corpus(open_corpus(sources, text_field=text_field, errors=errors), opts,
                        progress=progress, engine=engine)


def train_from_texts(texts: Iterable[str], vocab_size: int, *, progress: bool = False,
                     engine: str = "auto", **options: Any) -> TrainResult:
    """Train on strings, each one a document named ``text-<i>``.

    A list is trained on as before; any other iterable (a generator) is read once, in order,
    and never held whole by this layer.
    """
    opts = TrainOptions(vocab_size=vocab_size, **_normalise(options))
    opts.validate()
    if isinstance(texts, (list, tuple)):
        docs = [document_from_bytes(t.encode("utf-8"), f"text-{i}") for i, t in enumerate(texts)]
        return train_documents(docs, opts, progress=progress, engine=engine)
    return train_texts(texts, opts, progress=progress, name="texts", engine=engine)


def train_documents(docs: Sequence[Document], options: TrainOptions, *,
                    progress: bool = False, engine: str = "auto") -> TrainResult:
    """Train on already-read documents (each described in the vocabulary's metadata)."""
    options.validate()
    names = ", ".join(d.name for d in docs) or "(no input)"
    if not docs or all(not d.text.strip() for d in docs):
        raise TokenkitError(f"corpus {names} is empty: nothing to train on")
    name = docs[0].name if len(docs) == 1 else f"{docs[0].name}+{len(docs) - 1}"
    return _train((d.text for d in docs), options, progress=progress,
                  reachable=reachable_vocab_size(docs, options),
                  describe=lambda: [d.describe() for d in docs], name=name, names=names,
                  engine=engine, text_bytes=sum(d.n_bytes for d in docs))


def train_corpus(corpus: Corpus, options: TrainOptions, *, progress: bool = False,
                 engine: str = "auto") -> TrainResult:
    """Train on a corpus streamed from disk (:func:`tokenkit.corpusreader.open_corpus`); each
    source's sha256 and sizes go into the vocabulary's metadata."""
    names = corpus.names
    name = names[0] if len(names) == 1 else f"{names[0]}+{len(names) - 1}" if names else "(no input)"
    bound = corpus.max_text_bytes()
    if bound is not None and not corpus.tight_bound:  # a worst case: cap as for unknown sizes
        bound = min(bound, UNSIZED_VOCAB_CAP)
    return train_texts(corpus.texts(), options, progress=progress,
                       max_text_bytes=bound, describe=corpus.describe,
                       name=name, names=", ".join(names) or "(no input)", engine=engine,
                       text_bytes=corpus.max_text_bytes() if corpus.tight_bound else None)


def train_texts(texts: Iterable[str], options: TrainOptions, *, progress: bool = False,
                max_text_bytes: int | None = None,
                describe: Callable[[], list[dict[str, Any]]] | None = None,
                name: str = "texts", names: str | None = None, engine: str = "auto",
                text_bytes: int | None = None) -> TrainResult:
    """Train on ``texts`` read once, in order: the streaming entry point.

    ``max_text_bytes`` (an upper bound on the text's UTF-8 bytes; None: unknown, then
    :data:`UNSIZED_VOCAB_CAP`) caps an absurd ``vocab_size`` before the trainer allocates for
    it; ``describe`` gives the metadata's per-source records once the texts are consumed;
    ``text_bytes`` (the size when known exactly) lets a fast in-memory engine train a corpus
    small enough to hold (:func:`training_engine`).
    """
    options.validate()
    reachable = UNSIZED_VOCAB_CAP if max_text_bytes is None else \
        256 + len(options.special_tokens) + max_text_bytes
    return _train(texts, options, progress=progress, reachable=reachable,
                  describe=describe or (lambda: []), name=name, names=names or name,
                  engine=engine, text_bytes=text_bytes)


class _Tally:
    """Counts what a trainer consumes from a one-pass stream of texts."""

    def __init__(self, texts: Iterable[str], observe_bytes: bool) -> None:
        self.texts = texts
        self.bytes = self.characters = self.lines = 0
        self.nonblank = False
        self.seen: set[int] | None = set() if observe_bytes else None

    def __iter__(self) -> Iterator[str]:
        for text in self.texts:
            raw = text.encode("utf-8")
            self.bytes += len(raw)
            self.characters += len(text)
            self.lines += text.count("\n") + (1 if text and not text.endswith("\n") else 0)
            if not self.nonblank and text.strip():
                self.nonblank = True
            if self.seen is not None:
                self.seen.update(raw)
            yield text


def training_engine(options: TrainOptions, engine: str = "auto",
                    text_bytes: int | None = None) -> EngineChoice:
    """The engine that will train ``options`` when ``engine`` is asked for (see
    :mod:`tokenkit.engines`); the CLI prints it before training starts. gigatoken reads the
    corpus from a spool on disk (:class:`tokenkit.engines.LineCorpus`), so no size is too big
    for it; ``text_bytes`` (None: unknown, e.g. stdin) only matters for ``auto``'s choice."""
    return choose_train_engine(engine, backend=options.backend, alphabet=options.alphabet,
                               min_frequency=options.min_frequency, vocab_size=options.vocab_size,
                               text_bytes=text_bytes)


def _train(texts: Iterable[str], options: TrainOptions, *, progress: bool, reachable: int | None,
           describe: Callable[[], list[dict[str, Any]]], name: str, names: str,
           engine: str = "auto", text_bytes: int | None = None) -> TrainResult:
    """The one code path behind every entry point: ``texts`` are consumed once."""
    choice = training_engine(options, engine, text_bytes)
    requested = options
    if reachable is not None and options.vocab_size > reachable:
        # the trainers allocate for the size asked: cap it first
        options = replace(options, vocab_size=reachable)
    tally = _Tally(texts, observe_bytes=options.backend == "hf" and options.alphabet == "observed")
    started = time.perf_counter()
    if options.backend == "hf" and choice.name == "gigatoken":
        # gigatoken reads the corpus from a spool on disk, removed when training ends
        with LineCorpus.from_texts(tally) as corpus:
            _check_nonempty(tally, names)  # before the engine sees an empty corpus
            try:
                vocab, stats = _train_engine(corpus, options, choice.name)
            except EngineMismatch as e:  # the engine's merges fail a check: HF trains instead
                choice = EngineChoice("reference", f"{choice.name} failed a check ({e}); HF trained")
                vocab, stats = _train_hf(_Tally(corpus.lines(), observe_bytes=False), options,
                                         progress)
    elif options.backend == "hf" and not choice.is_reference:  # rustbpe streams the texts
        vocab, stats = _train_engine(tally, options, choice.name)
        _check_nonempty(tally, names)
    elif options.backend == "hf":
        vocab, stats = _train_hf(tally, options, progress)
        _check_nonempty(tally, names)  # known only once the stream has been read
    else:
        vocab, stats = _train_sentencepiece(tally, options, names=names)
    seconds = time.perf_counter() - started
    options = requested

    warnings = list(stats.pop("warnings", []))
    if vocab.vocab_size < options.vocab_size:
        warnings.append(f"--vocab {options.vocab_size} is more than this corpus can reach: "
                        f"the vocabulary has {vocab.vocab_size} tokens")
    summary: dict[str, Any] = {
        "requested_vocab_size": options.vocab_size,
        "vocab_size": vocab.vocab_size,
        "corpus_bytes": tally.bytes,
        "corpus_characters": tally.characters,
        "corpus_lines": tally.lines,
        "training_seconds": round(seconds, 3),
        "engine": choice.name,
        **({"engine_note": choice.reason} if choice.reason else {}),
        **stats,
        "warnings": warnings,
    }
    vocab.metadata.update({
        "name": name,
        "tokenkit_version": package_version(),
        "options": options.to_dict(),
        "corpus": describe(),
        "training": {k: v for k, v in summary.items() if k != "warnings"},
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    })
    if options.backend == "sentencepiece":
        vocab.metadata["special_tokens"] = {t: vocab.token_to_id(t) for t in options.special_tokens}
    return TrainResult(vocabulary=apply_fast_path(vocab), summary=summary)


def _check_nonempty(tally: _Tally, names: str) -> None:
    if not tally.nonblank:
        raise TokenkitError(f"corpus {names} is empty: nothing to train on")


def reachable_vocab_size(docs: Sequence[Document], options: TrainOptions) -> int:
    """An upper bound on the vocabulary the corpus can give: the byte alphabet, the specials
    and at most one new token per corpus byte (each merge or piece needs text to come from).

    Asking more makes no bigger vocabulary, only a bigger allocation (HF's trainer reserves
    memory for the size asked: ``--vocab 1000000000`` aborted the process), so training is
    capped here and the run warns with the size it got.
    """
    return 256 + len(options.special_tokens) + sum(d.n_bytes for d in docs)


def _normalise(options: dict[str, Any]) -> dict[str, Any]:
    if "special_tokens" in options and options["special_tokens"] is not None:
        options = {**options, "special_tokens": tuple(options["special_tokens"])}
    return {k: v for k, v in options.items() if v is not None}


# -- Hugging Face tokenizers -----------------------------------------------------------------
#: Characters per batch handed to train_from_iterator: batches save Python<->Rust calls, and
#: HF buffers up to 256 items of its iterator, so a batch this size keeps that buffer ~8 MiB.
HF_BATCH_CHARS = 1 << 15


#: Lines longer than this (characters) reach HF's trainer in pieces cut where GPT-2's
#: pre-tokenizer cuts anyway (:func:`split_at_pretoken_boundaries`): HF keeps per-byte offsets
#: for every item it pre-tokenizes, ~75 bytes of memory per byte (1.5 GB for one 20 MB line).
HF_MAX_ITEM_CHARS = 1 << 16


def _hf_batches(texts: Iterable[str]) -> Iterator[list[str]]:
    """Each text's lines (line ends kept), in batches: HF pre-tokenizes every item apart, so
    the batching does not change what it counts. A long line goes in pieces that pre-tokenize
    to the same words (:func:`split_at_pretoken_boundaries`), so the counts do not change."""
    batch: list[str] = []
    size = 0
    for text in texts:
        lines = text.splitlines(keepends=True)
        if len(text) > HF_MAX_ITEM_CHARS and max(map(len, lines)) > HF_MAX_ITEM_CHARS:
            lines = [piece for line in lines
                     for piece in split_at_pretoken_boundaries(line, HF_MAX_ITEM_CHARS)]
        batch.extend(lines)
        size += len(text)
        if size >= HF_BATCH_CHARS:
            yield batch
            batch, size = [], 0
    if batch:
        yield batch


def split_at_pretoken_boundaries(line: str, target: int) -> list[str]:
    """``line`` in pieces of at least ``target // 2`` characters (about ``target`` or less where
    text allows) whose GPT-2 pre-tokens, piece by piece, are the line's own: a piece ends only
    where the pre-tokenizer would end a word whatever follows (:func:`_is_safe_cut`). A line
    without such a place stays whole."""
    pieces, start = [], 0
    while len(line) - start > target:
        cut = _safe_cut_after(line, start + max(1, target // 2))
        if cut is None:
            break
        pieces.append(line[start:cut])
        start = cut
    pieces.append(line[start:])
    return pieces


#: Every safe cut has a space or punctuation on one side, both outside ``\w``: a run of
#: letters and digits without them (``"a" * 20_000_000``) is skipped at C speed.
_CUT_NEIGHBOUR = re.compile(r"\W")


def _safe_cut_after(line: str, start: int) -> int | None:
    """The first safe cut at or after ``start``, or None."""
    for match in _CUT_NEIGHBOUR.finditer(line, start):
        for i in (match.start(), match.start() + 1):
            if i >= start and _is_safe_cut(line, i):
                return i
    return None


def _is_safe_cut(line: str, i: int) -> bool:
    r"""Whether GPT-2's regex (``'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+|
    ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+``) ends a word between ``line[i-1]`` and ``line[i]``
    and matches the text before ``i`` the same without what follows. It has no look-behind, so
    the text after ``i`` pre-tokenizes alone as it does in the line; the only look-ahead is
    after white space, never the character before a cut here. Safe: a letter or digit before a
    space (U+0020); a letter before punctuation (category P), punctuation other than ``'``
    (which starts ``'s``...) before a letter. Each ends a run the next character cannot extend.
    """
    if i <= 0 or i >= len(line):
        return False
    before, after = unicodedata.category(line[i - 1])[0], line[i]
    if after == " ":
        return before in "LN"
    after_kind = unicodedata.category(after)[0]
    if before == "L":
        return after_kind == "P"
    if before == "P":
        return after_kind == "L" and line[i - 1] != "'"
    return False


def _train_engine(texts: Iterable[str] | LineCorpus, options: TrainOptions,
                  engine: str) -> tuple[Vocabulary, dict[str, Any]]:
    """A fast engine's merges in the tokenizer.json HF's trainer would write (same checks)."""
    specials = list(options.special_tokens)
    _check_minimum(options, 256)
    merges = train_merges(engine, texts, options.vocab_size - len(specials))
    tokenizer = hf_tokenizer_from_merges(merges, specials, options.vocab_size)
    kept = len(json.loads(tokenizer.to_str())["model"]["merges"])
    return HFVocabulary(tokenizer), {"merges": kept, "alphabet_size": 256}


def _train_hf(texts: _Tally, options: TrainOptions,
              progress: bool) -> tuple[Vocabulary, dict[str, Any]]:
    from tokenizers import (  # heavy: the Rust extension loads on first use
        Tokenizer,
        decoders,
        models,
        pre_tokenizers,
        trainers,
    )

    specials = list(options.special_tokens)
    observed = options.alphabet != "bytes"
    initial = [] if observed else pre_tokenizers.ByteLevel.alphabet()
    if not observed:
        _check_minimum(options, 256)
    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=options.vocab_size, min_frequency=options.min_frequency,
                                  special_tokens=specials, initial_alphabet=initial,
                                  show_progress=progress)
    tokenizer.train_from_iterator(_hf_batches(texts), trainer=trainer)
    alphabet_size = len(texts.seen) if texts.seen is not None else 256
    if observed:  # known only once the corpus has been read
        _check_minimum(options, alphabet_size)
    merges = len(json.loads(tokenizer.to_str())["model"]["merges"])
    return HFVocabulary(tokenizer), {"merges": merges, "alphabet_size": alphabet_size}


def _check_minimum(options: TrainOptions, alphabet_size: int) -> None:
    minimum = alphabet_size + len(options.special_tokens)
    if options.vocab_size < minimum:
        what = "the 256-byte alphabet" if options.alphabet == "bytes" else \
            f"the {alphabet_size} bytes seen in the corpus"
        raise TokenkitError(f"--vocab {options.vocab_size} is smaller than {what} plus "
                            f"{len(options.special_tokens)} special tokens: the minimum is {minimum}")


# -- sentencepiece ---------------------------------------------------------------------------
_SP_TOO_HIGH = re.compile(r"Vocabulary size too high \((\d+)\)\. Please set it to a value <= (\d+)")
_SP_TOO_SMALL = re.compile(r"Vocabulary size is smaller than required_chars\. (\d+) vs (\d+)")


def _split_long(line: str, limit: int) -> list[str]:
    """Split a line longer than ``limit`` UTF-8 bytes into chunks, preferring spaces."""
    out, start = [], 0
    while len(line[start:].encode("utf-8")) > limit:
        end = start + limit // 4  # a character is at most 4 bytes: this slice always fits
        cut = line.rfind(" ", start + 1, end)
        end = cut if cut > start else end
        out.append(line[start:end])
        start = end
    out.append(line[start:])
    return out


def _sp_sentences(texts: Iterable[str]) -> tuple[list[str], dict[str, Any]]:
    """Every non-empty line: sentencepiece holds all sentences in memory while it trains, and
    needs the longest one's length before it starts."""
    lines = [line for t in texts for line in t.splitlines() if line]
    longest = max((len(line.encode("utf-8")) for line in lines), default=0)
    stats: dict[str, Any] = {"warnings": []}
    limit = max(SP_DEFAULT_MAX_SENTENCE, min(longest, SP_MAX_SENTENCE_CAP))
    n_long = sum(1 for line in lines if len(line.encode("utf-8")) > SP_DEFAULT_MAX_SENTENCE)
    if n_long:
        stats["notes"] = [f"max_sentence_length raised from {SP_DEFAULT_MAX_SENTENCE} to {limit} bytes "
                          f"so that {n_long} long lines are trained on instead of skipped"]
    if longest > SP_MAX_SENTENCE_CAP:
        split = [part for line in lines for part in _split_long(line, SP_MAX_SENTENCE_CAP)]
        stats.setdefault("notes", []).append(
            f"lines over {SP_MAX_SENTENCE_CAP} bytes were split on spaces "
            f"({len(split) - len(lines)} extra pieces)")
        lines = split
    stats["max_sentence_length"] = limit
    return lines, stats


def _train_sentencepiece(texts: _Tally, options: TrainOptions,
                         names: str = "(no input)") -> tuple[Vocabulary, dict[str, Any]]:
    import sentencepiece as spm  # heavy: the C++ extension loads on first use

    sentences, stats = _sp_sentences(texts)
    _check_nonempty(texts, names)
    if not sentences:
        raise TokenkitError("corpus is empty after splitting into lines: nothing to train on")
    kwargs: dict[str, Any] = dict(
        vocab_size=options.vocab_size,
        model_type=options.model_type,
        byte_fallback=options.byte_fallback,
        character_coverage=options.character_coverage,
        normalization_rule_name=options.normalization,
        remove_extra_whitespaces=not options.keep_whitespace,
        add_dummy_prefix=False,
        allow_whitespace_only_pieces=True,
        split_digits=False,
        max_sentence_length=stats["max_sentence_length"],
        input_sentence_size=0,
        user_defined_symbols=list(options.special_tokens),
        bos_id=-1,
        eos_id=-1,
        unk_id=0,
        minloglevel=2,
        num_threads=2,
    )
    proto = _run_sp_trainer(spm, sentences, kwargs, stats)
    if proto is None:  # vocabulary was too large for this corpus: retry at the maximum
        requested = options.vocab_size
        kwargs["vocab_size"] = stats.pop("_max_vocab")
        stats["warnings"].append(f"sentencepiece can reach at most {kwargs['vocab_size']} pieces "
                                 f"on this corpus, not {requested}")
        proto = _run_sp_trainer(spm, sentences, kwargs, stats=None)
    vocab = SentencePieceVocabulary(proto, {"special_tokens": list(options.special_tokens)})
    return vocab, {k: v for k, v in stats.items() if not k.startswith("_")} | {"merges": None}


def _run_sp_trainer(spm: Any, sentences: list[str], kwargs: dict[str, Any],
                    stats: dict[str, Any] | None = None) -> bytes | None:
    model = io.BytesIO()
    try:
        spm.SentencePieceTrainer.train(sentence_iterator=iter(sentences), model_writer=model, **kwargs)
    except RuntimeError as e:
        message = str(e)
        if (m := _SP_TOO_HIGH.search(message)) and stats is not None:
            stats["_max_vocab"] = int(m.group(2))
            return None
        if m := _SP_TOO_SMALL.search(message):
            raise TokenkitError(f"--vocab {kwargs['vocab_size']} is too small for sentencepiece: "
                                f"{m.group(2)} characters must be kept (lower --character-coverage "
                                "or raise --vocab)") from e
        first = message.strip().splitlines()[-1] if message.strip() else type(e).__name__
        raise TokenkitError(f"sentencepiece training failed: {first}") from e
    return model.getvalue()
