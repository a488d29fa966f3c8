"""GPT-2's original vocabulary files (``encoder.json`` + ``vocab.bpe``) as either byte-level backend.

:func:`gpt2_encoding` builds tiktoken's ``gpt2`` encoding offline and
:func:`gpt2_hf_vocabulary` the HF tokenizer ``GPT2TokenizerFast`` is; both give identical
ids. Without a directory the files come from the ``gpt2`` corpus entry (never downloaded here).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

from tokenkit.backends.hf import HFVocabulary
from tokenkit.backends.tiktoken import ENDOFTEXT, GPT2_PATTERN
from tokenkit.corpora import resolve_corpus
from tokenkit.errors import TokenkitError, one_line
from tokenkit.filecheck import checked_file

if TYPE_CHECKING:
    import tiktoken

#: Names accepted for GPT-2, built locally from encoder.json + vocab.bpe.
GPT2_NAMES = ("gpt2", "r50k_base")


def gpt2_files(directory: Path | None = None) -> tuple[Path, Path]:
    """``encoder.json`` and ``vocab.bpe`` from ``directory`` or the ``gpt2`` corpus entry."""
    if directory is None:
        directory = resolve_corpus("gpt2", download=False)
    encoder, merges = directory / "encoder.json", directory / "vocab.bpe"
    for p in (encoder, merges):
        if not p.exists() and not p.is_symlink():
            raise TokenkitError(f"GPT-2 vocabulary file {p} not found")
        checked_file(p, "GPT-2 vocabulary file", inside=directory)
    return encoder, merges


def gpt2_encoding(directory: Path | None = None) -> tiktoken.Encoding:
    """tiktoken's ``gpt2`` encoding, built offline from GPT-2's original files."""
    import tiktoken  # heavy: the Rust extension loads on first use
    from tiktoken.load import data_gym_to_mergeable_bpe_ranks

    encoder, merges = gpt2_files(directory)
    try:
        ranks = data_gym_to_mergeable_bpe_ranks(str(merges), str(encoder))
    except (AssertionError, ValueError, KeyError, TypeError, AttributeError, IndexError,
            OSError) as e:
        raise TokenkitError(f"GPT-2 files in {encoder.parent} do not match each other: "
                            f"{one_line(e)}") from e
    return tiktoken.Encoding("gpt2", pat_str=GPT2_PATTERN, mergeable_ranks=ranks,
                             special_tokens={ENDOFTEXT: 50256}, explicit_n_vocab=50257)


def gpt2_hf_vocabulary(directory: Path | None = None) -> HFVocabulary:
    """GPT-2 as an HF byte-level BPE tokenizer from the same files (what GPT2TokenizerFast is)."""
    from tokenizers import (  # heavy: the Rust extension loads on first use
        AddedToken,
        Tokenizer,
        decoders,
        models,
        pre_tokenizers,
    )

    encoder, merges_path = gpt2_files(directory)
    try:
        vocab = json.loads(encoder.read_text(encoding="utf-8"))
        lines = merges_path.read_text(encoding="utf-8").split("\n")
    except (ValueError, OSError) as e:
        raise TokenkitError(f"GPT-2 files in {encoder.parent} cannot be read: {one_line(e)}") from e
    merges = [tuple(line.split()) for line in lines if line and not line.startswith("#version")]
    if not isinstance(vocab, dict) or not all(isinstance(k, str) and type(v) is int
                                              for k, v in vocab.items()):
        raise TokenkitError(f"{encoder} must map token strings to ids")
    if any(len(m) != 2 for m in merges):
        raise TokenkitError(f"{merges_path}: every merge line must hold two tokens")
    try:
        tok = Tokenizer(models.BPE(vocab=vocab, merges=merges))
    except Exception as e:  # tokenizers raises bare Exceptions
        raise TokenkitError(f"GPT-2 files in {encoder.parent} do not match each other: "
                            f"{one_line(e)}") from e
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.add_special_tokens([AddedToken(ENDOFTEXT, special=True)])
    return HFVocabulary(tok, {"name": "hf:gpt2"})
