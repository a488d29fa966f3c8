"""Write a byte-level BPE vocabulary in another library's format: tiktoken or HF fast tokenizer.

* ``tiktoken``: ``tokenizer.tiktoken`` (base64 token + rank per line, tiktoken's own format)
  and ``tiktoken.json`` (``pat_str``, ``special_tokens``), so
  ``tiktoken.Encoding(name, pat_str=..., mergeable_ranks=load_tiktoken_bpe(...),
  special_tokens=...)`` opens it; a ``tokenkit.json`` lets ``tokenkit`` open it too.
* ``hf``: ``tokenizer.json`` + ``tokenizer_config.json`` + ``special_tokens_map.json``, which
  ``transformers.PreTrainedTokenizerFast.from_pretrained(dir)`` opens. A tiktoken encoding
  becomes an HF BPE whose merges are recovered from the ranks (``ignore_merges`` on, as
  tiktoken takes whole in-vocabulary pieces without merging).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from tokenkit.atomic import atomic_directory
from tokenkit.backends.hf import HFVocabulary
from tokenkit.backends.tiktoken import GPT2_PATTERN, TiktokenVocabulary
from tokenkit.bytelevel import bytes_to_token
from tokenkit.convert import tiktoken_form
from tokenkit.errors import TokenkitError, one_line
from tokenkit.ownership import check_replaceable
from tokenkit.vocabulary import FORMAT_VERSION, HF_FILE, METADATA_FILE, Vocabulary

FORMATS = ("tiktoken", "hf")


def safe_name(name: str) -> str:
    """A vocabulary name usable as a directory name.

    >>> safe_name("tiktoken:cl100k_base"), safe_name("wagahai+2")
    ('tiktoken-cl100k_base', 'wagahai-2')
    """
    return re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-") or "vocab"


def export(vocab: Vocabulary, output: Path, fmt: str, *, force: bool = False) -> Path:
    """Write ``vocab`` to directory ``output`` in format ``fmt``; returns the directory."""
    if fmt == "tiktoken":
        return export_tiktoken(vocab, output, force=force)
    if fmt == "hf":
        return export_hf(vocab, output, force=force)
    raise TokenkitError(f"--format must be one of {', '.join(FORMATS)}, got {fmt!r}")


def export_tiktoken(vocab: Vocabulary, output: Path, *, force: bool = False) -> Path:
    """The tiktoken ranks file + pattern + specials (fails with the reason if impossible)."""
    enc = tiktoken_form(vocab)
    meta = {k: v for k, v in vocab.metadata.items() if k not in ("backend", "file")}
    meta.setdefault("name", vocab.name)
    meta["exported_from"] = vocab.backend
    return TiktokenVocabulary(enc, meta).save(output, force=force)


def export_hf(vocab: Vocabulary, output: Path, *, force: bool = False) -> Path:
    """An HF fast-tokenizer directory for a byte-level BPE (HF or tiktoken backed)."""
    if isinstance(vocab, TiktokenVocabulary):
        hf = hf_from_tiktoken(vocab)
    elif isinstance(vocab, HFVocabulary):
        tiktoken_form(vocab, check_tokens=False)  # byte-level BPE check, one-line reason
        hf = vocab
    else:
        raise TokenkitError(f"vocabulary {vocab.name} ({vocab.backend}) is not a byte-level "
                            "BPE; export --format hf takes HF or tiktoken vocabularies")
    specials = hf.specials
    eot = "<|endoftext|>" if "<|endoftext|>" in specials else None
    config: dict[str, Any] = {"tokenizer_class": "PreTrainedTokenizerFast",
                              "clean_up_tokenization_spaces": False, "add_prefix_space": False}
    special_map: dict[str, Any] = {}
    if eot:
        special_map = {"bos_token": eot, "eos_token": eot, "unk_token": eot}
        config.update(special_map)
    if force:
        check_replaceable(Path(output))
    with atomic_directory(output, force=force) as tmp:
        hf.tokenizer.save(str(tmp / HF_FILE))
        (tmp / "tokenizer_config.json").write_text(json.dumps(config, indent=2) + "\n",
                                                   encoding="utf-8")
        (tmp / "special_tokens_map.json").write_text(json.dumps(special_map, indent=2) + "\n",
                                                     encoding="utf-8")
        meta = {k: v for k, v in vocab.metadata.items() if k not in ("backend", "file", "files")}
        meta.update({"name": meta.get("name", vocab.name), "exported_from": vocab.backend,
                     "format_version": FORMAT_VERSION, "backend": "hf", "file": HF_FILE,
                     "files": [HF_FILE, "tokenizer_config.json", "special_tokens_map.json"],
                     "vocab_size": hf.vocab_size, "special_tokens": specials})
        (tmp / METADATA_FILE).write_text(json.dumps(meta, indent=2, ensure_ascii=False) + "\n",
                                         encoding="utf-8")
    return output


def merges_from_ranks(ranks: dict[bytes, int]) -> list[tuple[bytes, bytes]]:
    """Recover BPE merges from tiktoken ranks: a token of rank r is what BPE restricted to
    ranks below r leaves as exactly two parts."""
    merges = []
    for token, rank in sorted(ranks.items(), key=lambda kv: kv[1]):
        if len(token) < 2:
            continue
        parts = _bpe(ranks, token, rank)
        if len(parts) != 2:
            raise TokenkitError(f"tiktoken token {token!r} (rank {rank}) is not the merge of two "
                                "lower-ranked tokens")
        merges.append((parts[0], parts[1]))
    return merges


def _bpe(ranks: dict[bytes, int], token: bytes, max_rank: int) -> list[bytes]:
    parts = [token[i:i + 1] for i in range(len(token))]
    while len(parts) > 1:
        best, best_rank = -1, max_rank
        for i in range(len(parts) - 1):
            r = ranks.get(parts[i] + parts[i + 1])
            if r is not None and r < best_rank:
                best, best_rank = i, r
        if best < 0:
            break
        parts[best:best + 2] = [parts[best] + parts[best + 1]]
    return parts


def onig_pattern(pat_str: str) -> str:
    """tiktoken's pattern for HF's regex engine (Oniguruma), where ``{1,3}+`` means "one or
    more runs of 1-3", not a possessive ``{1,3}``. tiktoken only puts a bounded quantifier at
    the end of an alternative, where possessive and greedy match the same text."""
    return re.sub(r"(\{\d+(?:,\d*)?\})\+", r"\1", pat_str)


def hf_from_tiktoken(vocab: TiktokenVocabulary) -> HFVocabulary:
    """The HF tokenizer that gives the same ids as a tiktoken encoding."""
    from tokenizers import Tokenizer  # heavy: the Rust extension loads on first use

    enc = vocab.encoding
    ranks: dict[bytes, int] = enc._mergeable_ranks
    missing = [b for b in range(256) if bytes([b]) not in ranks]
    if missing:
        raise TokenkitError(f"tiktoken encoding {enc.name} lacks byte 0x{missing[0]:02x}")
    byte_level = {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": False}
    if enc._pat_str == GPT2_PATTERN:
        pre = {**byte_level, "use_regex": True}
    else:
        pre = {"type": "Sequence", "pretokenizers": [
            {"type": "Split", "pattern": {"Regex": onig_pattern(enc._pat_str)},
             "behavior": "Isolated",
             "invert": False},
            {**byte_level, "use_regex": False}]}
    spec = {
        "version": "1.0", "truncation": None, "padding": None,
        "added_tokens": [{"id": i, "content": s, "single_word": False, "lstrip": False,
                          "rstrip": False, "normalized": False, "special": True}
                         for s, i in sorted(enc._special_tokens.items(), key=lambda kv: kv[1])],
        "normalizer": None, "pre_tokenizer": pre, "post_processor": None,
        "decoder": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True,
                    "use_regex": True},
        "model": {"type": "BPE", "dropout": None, "unk_token": None,
                  "continuing_subword_prefix": None, "end_of_word_suffix": None,
                  "fuse_unk": False, "byte_fallback": False, "ignore_merges": True,
                  # specials sit in the model vocab too, so HF keeps their ids (it would
                  # renumber added tokens past a gap such as cl100k's 100256)
                  "vocab": {**{bytes_to_token(t): r for t, r in ranks.items()},
                            **enc._special_tokens},
                  "merges": [[bytes_to_token(a), bytes_to_token(b)]
                             for a, b in merges_from_ranks(ranks)]},
    }
    try:
        tok = Tokenizer.from_str(json.dumps(spec))
    except Exception as e:  # tokenizers raises a bare Exception (bad regex, bad vocab)
        raise TokenkitError(f"tiktoken encoding {enc.name} cannot become an HF tokenizer: "
                            f"{one_line(e)}") from e
    return HFVocabulary(tok, {"name": vocab.name})
