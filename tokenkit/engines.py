"""Fast BPE engines behind the trainer and :class:`~tokenkit.vocabulary.Vocabulary`.

The reference libraries (HF ``tokenizers`` for training, tiktoken for encoding a byte-level
BPE) stay the fallback and the test oracle; an engine only runs where it is proven to give the
reference's result, and the name of the one that ran is recorded (``tokenkit.json``'s
``training.engine``, :attr:`Vocabulary.encode_engine`). Measurements behind the choices:
``docs/engines.md``.

* ``gigatoken`` trains with HF's tie-breaking: the same merges, in the same order, as HF's
  ``BpeTrainer`` (checked on every shipped corpus). It is faster than HF while the merges'
  counts stay high, and slows down as they reach low, heavily tied counts (vocab 32000 on the
  shipped corpora x1: 5x slower than HF; on 100 MB of ``bench/make_big_corpus.py`` text: 3x
  faster, in half HF's memory). So ``auto`` trains with it up to
  :data:`AUTO_GIGATOKEN_MAX_VOCAB`, and above that when the corpus has at least
  :data:`AUTO_GIGATOKEN_BYTES_PER_TOKEN` bytes per token asked for. It also encodes a
  GPT-2-regex byte-level BPE with tiktoken's ids, several times faster: ``auto``'s encoder.
* ``rustbpe`` trains fastest but breaks ties between equally frequent pairs in byte order,
  not HF's: the merges differ after a few hundred, held-out compression stays within 0.1%
  (asserted by the tests). Only when asked for by name.
"""

from __future__ import annotations

import base64
import importlib.util
import os
import re
import sys
import tempfile
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from tokenkit.backends.tiktoken import GPT2_PATTERN
from tokenkit.bytelevel import bytes_to_token
from tokenkit.errors import TokenkitError
from tokenkit.exporters import merges_from_ranks
from tokenkit.vocabulary import NO_SPECIALS, split_on_specials

if TYPE_CHECKING:
    import tiktoken

#: Names accepted by ``--engine``: ``auto`` picks the first installed engine that fits.
ENGINES = ("auto", "reference", "gigatoken", "rustbpe")
TRAIN_ENGINES = ("gigatoken", "rustbpe")
ENCODE_ENGINES = ("gigatoken",)
AUTO_TRAIN = ("gigatoken",)  # rustbpe's merges differ from HF's: never picked silently
#: Largest vocabulary ``auto`` always trains with gigatoken; above it HF was faster on small
#: corpora (bench/tokenkit_engines.py).
AUTO_GIGATOKEN_MAX_VOCAB = 8192
#: Above that vocabulary, ``auto`` trains with gigatoken when the corpus has at least this many
#: UTF-8 bytes per token asked for (32000 tokens: 32.8 MB). Measured at vocab 32000 on
#: make_big_corpus text: 10 MB, gigatoken 0.78x HF's wall; 32 MB, 0.38x; 100 MB, 0.34x.
AUTO_GIGATOKEN_BYTES_PER_TOKEN = 1024
AUTO_ENCODE = ("gigatoken",)


class EngineMismatch(TokenkitError):
    """An engine's result fails a check that HF's would pass: the caller uses HF instead."""


@dataclass(frozen=True)
class EngineChoice:
    """Which engine runs, and why the one asked for does not (empty when it does)."""

    name: str
    reason: str = ""

    @property
    def is_reference(self) -> bool:
        return self.name == "reference"


def check_engine(name: str) -> str:
    """``name`` if it is an engine name, else a one-line error listing them."""
    if name not in ENGINES:
        raise TokenkitError(f"--engine must be one of {', '.join(ENGINES)}, got {name!r}")
    return name


def installed(name: str) -> bool:
    """True when the engine's package imports here."""
    return importlib.util.find_spec(name) is not None


def choose_train_engine(requested: str, *, backend: str, alphabet: str, min_frequency: int,
                        vocab_size: int = 0, text_bytes: int | None = None) -> EngineChoice:
    """The training engine for these options: the one asked for when it can train them with
    the reference's semantics, else the reference (the reason says why). ``text_bytes`` (the
    corpus's size, when known) lets ``auto`` pick gigatoken for a large vocabulary on a corpus
    big enough for it to be the faster one."""
    check_engine(requested)
    if requested == "reference":
        return EngineChoice("reference")
    why = None
    if backend != "hf":
        why = f"the {backend} backend trains with its own library"
    elif alphabet != "bytes":
        why = "--alphabet observed needs HF's alphabet handling"
    elif min_frequency > 0:
        why = "--min-frequency is HF's option"
    if why:
        return EngineChoice("reference", why)
    if requested == "auto" and vocab_size > AUTO_GIGATOKEN_MAX_VOCAB and (
            text_bytes is None or text_bytes < AUTO_GIGATOKEN_BYTES_PER_TOKEN * vocab_size):
        need = AUTO_GIGATOKEN_BYTES_PER_TOKEN * vocab_size
        return EngineChoice("reference", f"--vocab over {AUTO_GIGATOKEN_MAX_VOCAB} on a corpus under "
                                         f"{need / 1e6:,.1f} MB: HF is faster there than the "
                                         "engines with HF's merges")
    candidates = AUTO_TRAIN if requested == "auto" else (requested,)
    for name in candidates:
        if installed(name):
            return EngineChoice(name)
    return EngineChoice("reference", f"{' or '.join(candidates)} is not installed")


# -- training ---------------------------------------------------------------------------------
Merge = tuple[bytes, bytes]

#: Between two lines of a :class:`LineCorpus`: 0xFF never occurs in UTF-8, so no text holds it.
LINE_SEPARATOR = b"\xff"
#: Line boundaries as ``str.splitlines`` sees them (what HF's trainer is fed), in UTF-8.
_RARE_BREAKS = re.compile(rb"[\r\x0b\x0c\x1c-\x1e]|\xc2\x85|\xe2\x80[\xa8\xa9]")
_ANY_BREAK = re.compile(rb"\r\n|[\n\r\x0b\x0c\x1c-\x1e]|\xc2\x85|\xe2\x80[\xa8\xa9]")


#: Bytes per spool file. gigatoken reads a file whole and works on one per thread, so beyond
#: its table of distinct pre-tokens it holds about two of these, whatever the corpus's size.
SPOOL_PART_BYTES = 16 << 20


class LineCorpus:
    """A corpus spooled to temporary files whose lines (``str.splitlines`` boundaries, line
    ends kept) are separated by :data:`LINE_SEPARATOR`: gigatoken trains on each line as a
    document, as HF's trainer pre-tokenizes each line alone, and reads the files itself, so
    the corpus never sits in memory (1 GB of text trains in the memory its pre-token table
    needs, not 1 GB more). The files live in a folder of their own made by :mod:`tempfile`
    (``TMPDIR``) and go with it on :meth:`close` (or the ``with`` block's end): the spool
    costs the corpus's size on disk while training runs.
    """

    def __init__(self, part_bytes: int = SPOOL_PART_BYTES) -> None:
        try:
            self._folder = tempfile.TemporaryDirectory(prefix="tokenkit-spool-")
        except OSError as e:
            raise TokenkitError(f"cannot make a spool folder for the corpus in "
                                f"{tempfile.gettempdir()} ({e.strerror}): set TMPDIR to a "
                                "writable folder, or use --engine reference") from None
        self.parts: list[Path] = []
        self.separator = LINE_SEPARATOR
        self._part_bytes = part_bytes
        self._file: BinaryIO | None = None
        self._size = 0  # bytes in the open file

    @classmethod
    def from_texts(cls, texts: Iterable[str], part_bytes: int = SPOOL_PART_BYTES) -> LineCorpus:
        corpus = cls(part_bytes)
        try:
            for text in texts:
                corpus.add(text)
            corpus.flush()
        except BaseException:
            corpus.close()
            raise
        return corpus

    def add(self, text: str) -> None:
        """Append ``text``'s lines (a text ends a line, as HF's trainer sees it). A file ends
        at a line's end: a line longer than a file gets a file of its own."""
        raw = text.encode("utf-8", "surrogatepass")
        if _RARE_BREAKS.search(raw):
            raw = _ANY_BREAK.sub(lambda m: m.group(0) + LINE_SEPARATOR, raw)
        else:  # the common case, one fast replace
            raw = raw.replace(b"\n", b"\n" + LINE_SEPARATOR)
        raw += LINE_SEPARATOR
        view, start = memoryview(raw), 0
        while self._size + len(raw) - start > self._part_bytes:
            cut = raw.rfind(LINE_SEPARATOR, start, start + self._part_bytes - self._size) + 1
            if cut <= start:  # no line ends in the room left
                if self._size:
                    self.flush()
                    continue
                cut = raw.find(LINE_SEPARATOR, start) + 1
            self._write(view[start:cut])
            start = cut
            self.flush()
        if start < len(raw):
            self._write(view[start:])

    def _write(self, data: memoryview) -> None:
        try:
            if self._file is None:
                path = Path(self._folder.name) / f"part-{len(self.parts):06d}.txt"
                self._file = open(path, "wb")  # noqa: SIM115 - closed by flush()
                self.parts.append(path)
            self._file.write(data)
        except OSError as e:
            raise TokenkitError(f"cannot spool the corpus to {self._folder.name} ({e.strerror}): "
                                "set TMPDIR to a disk with room for the corpus, or use "
                                "--engine reference") from None
        self._size += len(data)

    def flush(self) -> None:
        """Close the file being written: the next text starts a new one."""
        if self._file is not None:
            self._file.close()
            self._file, self._size = None, 0

    def chunks(self, block_bytes: int = 1 << 19) -> Iterator[bytes]:
        """The spool again in blocks of about ``block_bytes`` holding whole lines (a longer
        line comes whole), so a pass over it holds one block at a time."""
        for path in self.parts:
            with open(path, "rb") as f:
                pending = bytearray()
                while block := f.read(block_bytes):
                    searched = len(pending)  # a long line's start holds no separator
                    pending += block
                    cut = pending.rfind(self.separator, searched) + 1
                    if cut:
                        yield bytes(pending[:cut])
                        del pending[:cut]
                if pending:  # never: every file ends with a separator
                    yield bytes(pending)

    def lines(self) -> Iterator[str]:
        """The lines again, as text (for the reference trainer when the engine's result fails)."""
        for chunk in self.chunks():
            for line in chunk.split(self.separator):
                if line:
                    yield line.decode("utf-8", "surrogatepass")

    def close(self) -> None:
        """Remove the spool folder (made by this object, holding only its files)."""
        if self._file is not None:
            self._file.close()
            self._file = None
        self._folder.cleanup()

    def __enter__(self) -> LineCorpus:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def train_merges(engine: str, texts: Iterable[str] | LineCorpus, n_tokens: int) -> list[Merge]:
    """Merges (in order) that ``engine`` learns from ``texts`` for ``n_tokens`` ordinary tokens
    (256 bytes + merges), each line pre-tokenized alone with GPT-2's regex as HF's trainer does.
    ``texts`` are read once; rustbpe streams them, gigatoken reads them from a
    :class:`LineCorpus` spool."""
    if engine == "gigatoken":
        if isinstance(texts, LineCorpus):
            return _gigatoken_merges(texts, n_tokens)
        with LineCorpus.from_texts(texts) as corpus:
            return _gigatoken_merges(corpus, n_tokens)
    if engine == "rustbpe":
        lines = texts.lines() if isinstance(texts, LineCorpus) else \
            (line for text in texts for line in text.splitlines(keepends=True))
        return _rustbpe_merges(lines, n_tokens)
    raise TokenkitError(f"{engine!r} is not a training engine ({', '.join(TRAIN_ENGINES)})")


def _gigatoken_merges(corpus: LineCorpus, n_tokens: int) -> list[Merge]:
    import gigatoken  # heavy: the Rust extension loads on first use

    source = gigatoken.TextFileSource([str(p) for p in corpus.parts], separator=corpus.separator)
    with _quiet(1), _quiet(2):  # gigatoken prints its progress to stdout and stderr
        _, found = gigatoken.train_bpe(source, max(n_tokens, 256), [], "huggingface")
    merges = [(bytes(a), bytes(b)) for a, b in found]
    if _may_have_run_dry(corpus, len(merges)):
        merges = _without_unused_tail(merges, corpus)
    check_merge_order(merges)
    return merges


def _may_have_run_dry(corpus: LineCorpus, n_merges: int) -> bool:
    """Whether the corpus may have run out of pairs before ``n_merges`` merges.

    Were every pair used up, each distinct multi-byte pre-token would be one token, all
    different, each made by a merge: so a corpus with more distinct multi-byte pre-tokens than
    merges cannot have run dry, and the zero-count tail (:func:`_without_unused_tail`) cannot
    exist. Counting them stops as soon as there are more (usually within the first spool
    file); the encode pass it saves is slower.
    """
    import gigatoken  # heavy: the Rust extension loads on first use

    distinct: set[bytes] = set()
    for chunk in corpus.chunks():
        with _quiet(1), _quiet(2):
            words = gigatoken.gigatoken_rs.pretokenized_counts(chunk, separator=corpus.separator)
        distinct.update(word for word, _ in words if len(word) > 1)
        if len(distinct) > n_merges:
            return False
    return True


def check_merge_order(merges: Sequence[Merge]) -> None:
    """Refuse merges that use a token before a merge made it, or repeat a merge (gigatoken's
    zero-count tail does, e.g. on ``ababab``; the tail is trimmed first): the trainer then
    falls back to HF, whose file could not hold them."""
    known = {bytes([b]) for b in range(256)}
    seen: set[Merge] = set()
    for i, (a, b) in enumerate(merges):
        if a not in known or b not in known:
            raise EngineMismatch(f"merge {i} ({a!r} + {b!r}) uses a token no earlier merge made")
        if (a, b) in seen:
            raise EngineMismatch(f"merge {i} ({a!r} + {b!r}) repeats an earlier merge")
        seen.add((a, b))
        known.add(a + b)


def _without_unused_tail(merges: list[Merge], corpus: LineCorpus,
                         batch_bytes: int = 1 << 22) -> list[Merge]:
    """``merges`` less the trailing ones no pre-token of the corpus ever used.

    HF's trainer stops when no pair is left to merge; gigatoken goes on with pairs whose count
    fell to zero. A merge with a count builds a token of the corpus's own encoding (training
    replays as encoding), so the tail that builds none is exactly what HF never made. One
    encode pass over the corpus, spool file by spool file, tells.
    """
    import awkward  # heavy: gigatoken's batch results are awkward arrays
    import gigatoken  # heavy: the Rust extension loads on first use
    import numpy

    tokenizer = hf_tokenizer_from_merges(merges, [], 256 + len(merges) + 1)
    tok = gigatoken.Tokenizer.from_json(tokenizer.to_str())
    seen = numpy.zeros(tokenizer.get_vocab_size(), dtype=bool)
    for chunk in corpus.chunks():
        data = [line for line in chunk.split(corpus.separator) if line]
        start = 0
        while start < len(data):  # batches keep the ids (4 bytes each, never Python ints) small
            end, size = start, 0
            while end < len(data) and size < batch_bytes:
                size += len(data[end])
                end += 1
            ids = tok.encode_batch(list(data[start:end]))
            seen[numpy.asarray(awkward.flatten(ids), dtype=numpy.int64)] = True
            start = end
    used = numpy.flatnonzero(seen).tolist()
    needed = {tokenizer.id_to_token(i) for i in used}
    last = -1
    for i in range(len(merges) - 1, -1, -1):
        left, right = bytes_to_token(merges[i][0]), bytes_to_token(merges[i][1])
        if left + right in needed:
            needed.update((left, right))
            last = max(last, i)
    return merges[:last + 1]


@contextmanager
def _quiet(fd: int) -> Iterator[None]:
    """Send ``fd`` to /dev/null for the duration: library code must not print to the CLI's
    streams (only CLIs print)."""
    for stream in (sys.stdout, sys.stderr):  # what Python buffered goes out before, not lost
        if stream is not None:
            stream.flush()
    try:
        saved = os.dup(fd)
    except OSError:  # no such stream at all
        yield
        return
    null = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(null, fd)
        yield
    finally:
        os.dup2(saved, fd)
        os.close(saved)
        os.close(null)


def _rustbpe_merges(lines: Iterable[str], n_tokens: int) -> list[Merge]:
    import rustbpe  # heavy: the Rust extension loads on first use

    tok = rustbpe.Tokenizer()
    tok.train_from_iterator(iter(lines), max(n_tokens, 256), pattern=GPT2_PATTERN)
    return merges_from_ranks({bytes(k): v for k, v in tok.get_mergeable_ranks()})


def hf_tokenizer_from_merges(merges: Sequence[Merge], specials: Sequence[str], vocab_size: int
                             ) -> Any:
    """The ``tokenizers.Tokenizer`` HF's ``BpeTrainer`` would have built from these merges:
    specials first, the 256 byte characters in code-point order, then one id per new token
    (a merge whose result exists already adds no id), stopping at ``vocab_size``."""
    from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers  # heavy

    vocab: dict[str, int] = {}
    for s in specials:
        vocab.setdefault(s, len(vocab))
    for ch in sorted(pre_tokenizers.ByteLevel.alphabet()):
        vocab.setdefault(ch, len(vocab))
    kept: list[tuple[str, str]] = []
    for a, b in merges:
        if len(vocab) >= vocab_size:
            break
        left, right = bytes_to_token(a), bytes_to_token(b)
        vocab.setdefault(left + right, len(vocab))
        kept.append((left, right))
    tokenizer = Tokenizer(models.BPE(vocab=vocab, merges=kept))
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    tokenizer.decoder = decoders.ByteLevel()
    if specials:
        tokenizer.add_special_tokens([AddedToken(s, special=True) for s in specials])
    return tokenizer


# -- encoding ---------------------------------------------------------------------------------
def choose_encode_engine(requested: str) -> EngineChoice:
    """The encoding engine asked for, or the reference when it is not installed."""
    check_engine(requested)
    if requested == "reference":
        return EngineChoice("reference")
    candidates = AUTO_ENCODE if requested == "auto" else (requested,)
    for name in candidates:
        if name not in ENCODE_ENGINES:
            return EngineChoice("reference", f"{name} does not encode")
        if installed(name):
            return EngineChoice(name)
    return EngineChoice("reference", f"{' or '.join(candidates)} is not installed")


def _ordinary(text: str) -> str:
    """``text`` with lone surrogates replaced by U+FFFD exactly as tiktoken does it."""
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")


#: Characters a gigatoken tokenizer object encodes before tokenkit starts a fresh one, which
#: bounds its pre-token cache (see :meth:`GigatokenEncoder._count`). Measured on 400-700 MB of
#: make_big_corpus text, one thread: with the default corpus (40% Japanese) the process grows
#: ~210 MiB per 100 MB without it (1.6 GiB at 700 MB) and stays at 694 MiB with it (-6% MB/s);
#: without the novel it stays at ~200 MiB either way (a fresh cache every 2^26 characters cost
#: 25% there, so not less).
GIGATOKEN_CACHE_CHARS = 1 << 27


class GigatokenEncoder:
    """A tiktoken encoding's ids computed by gigatoken (specials never read from text by it:
    it is built without them and tokenkit splits allowed specials out itself).

    One call at a time: gigatoken's tokenizer object refuses a second concurrent call
    (``RuntimeError: Already borrowed``, seen with two threads encoding), so a lock guards it.
    Its ``encode`` holds the GIL anyway, so the lock costs threads nothing they had.
    """

    name = "gigatoken"

    def __init__(self, encoding: tiktoken.Encoding) -> None:
        import numpy

        if encoding._pat_str != GPT2_PATTERN:
            raise TokenkitError(f"gigatoken: encoding {encoding.name} does not split with "
                                "GPT-2's regex")
        self.encoding = encoding
        self._lock = threading.Lock()
        self._specials = dict(encoding._special_tokens)
        # gigatoken wants dense ranks 0..n-1: give it the rank order, map back to the ids
        ranked = sorted(encoding._mergeable_ranks.items(), key=lambda kv: kv[1])
        ids = [r for _, r in ranked]
        self._ids = None if ids == list(range(len(ids))) else numpy.array(ids, dtype=numpy.int64)
        self._ranks = b"".join(base64.b64encode(t) + b" %d\n" % i for i, (t, _) in enumerate(ranked))
        self._tok = self._build()
        self._since_build = 0  # characters encoded by this tokenizer object

    def _build(self) -> Any:
        import gigatoken  # heavy: the Rust extension loads on first use

        with tempfile.TemporaryDirectory(prefix="tokenkit-engine-") as tmp:
            path = Path(tmp) / "ranks.tiktoken"
            path.write_bytes(self._ranks)
            return gigatoken.Tokenizer.from_tiktoken(path, pretokenizer="gpt2", special_tokens={})

    def _count(self, chars: int) -> None:
        """Start a fresh tokenizer object after :data:`GIGATOKEN_CACHE_CHARS` characters (under
        the lock): gigatoken caches every pre-token it meets and never lets go, so on text whose
        words keep coming memory would grow with the corpus (``gptcore prepare`` on 1 GB, a
        long-running ``serve``). Building one takes ~0.07 s, and its cache warms up again."""
        self._since_build += chars
        if self._since_build >= GIGATOKEN_CACHE_CHARS:
            self._tok, self._since_build = None, 0  # the old one (and its cache) goes first
            self._tok = self._build()

    def encode_to_numpy(self, text: str, allowed: frozenset[str] = NO_SPECIALS) -> Any:
        """The ids as gigatoken computes them, a ``uint32`` array (no Python list)."""
        import numpy

        if allowed:
            return numpy.asarray(self.encode(text, allowed), dtype=numpy.uint32)
        if not text:
            return numpy.zeros(0, dtype=numpy.uint32)
        with self._lock:
            try:
                ids = self._tok.encode(text)
            except TypeError:  # a lone surrogate: gigatoken refuses the str
                ids = self._tok.encode(_ordinary(text))
            self._count(len(text))
        return numpy.asarray(ids if self._ids is None else self._ids[ids], dtype=numpy.uint32)

    def encode_ordinary(self, text: str) -> list[int]:
        return self.encode_to_numpy(text).tolist()

    def encode(self, text: str, allowed: frozenset[str] = NO_SPECIALS) -> list[int]:
        if not allowed:
            return self.encode_ordinary(text)
        ids: list[int] = []
        for piece, special in split_on_specials(text, allowed):
            ids.extend([self._specials[piece]] if special else self.encode_ordinary(piece))
        return ids

    def encode_batch(self, texts: Sequence[str],
                     allowed: frozenset[str] = NO_SPECIALS) -> list[list[int]]:
        if allowed:
            return [self.encode(t, allowed) for t in texts]
        with self._lock:
            try:
                rows = self._tok.encode_batch_list(list(texts))  # str is its fastest input
            except TypeError:  # a lone surrogate somewhere: gigatoken refuses the str
                rows = self._tok.encode_batch_list([_ordinary(t) for t in texts])
            self._count(sum(map(len, texts)))
        return rows if self._ids is None else [self._ids[row].tolist() for row in rows]


def gigatoken_encoder(encoding: tiktoken.Encoding, probe: str) -> GigatokenEncoder | None:
    """gigatoken for ``encoding`` when it gives tiktoken's ids on ``probe``, else None."""
    try:
        fast = GigatokenEncoder(encoding)
    except (TokenkitError, ValueError, OSError, RuntimeError):  # gigatoken refuses: tiktoken
        return None
    if fast.encode_ordinary(probe) != encoding.encode_ordinary(probe):
        return None
    return fast
