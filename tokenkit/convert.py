"""An HF byte-level BPE as a ``tiktoken.Encoding``, or one line saying why it cannot be one.

Used by the fast path (:mod:`tokenkit.fastpath`), by ``tiktoken:PATH`` specs and by
``tokenkit export --format tiktoken``. The other direction (tiktoken -> HF) is
:func:`tokenkit.exporters.hf_from_tiktoken`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tokenkit.backends.hf import HFVocabulary
from tokenkit.backends.tiktoken import GPT2_PATTERN, TiktokenVocabulary
from tokenkit.bytelevel import bytes_to_token, token_to_bytes
from tokenkit.errors import TokenkitError
from tokenkit.vocabulary import Vocabulary

if TYPE_CHECKING:
    import tiktoken


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
    spec = vocab.tokenizer_spec()
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

    added_ids = {a["id"] for a in spec.get("added_tokens") or []}
    ranks: dict[bytes, int] = {}
    for token, tid in model.get("vocab", {}).items():
        if tid in added_ids:
            continue
        try:
            data = token_to_bytes(token)
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
        data = token_to_bytes(left + right)
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
    import tiktoken  # heavy: the Rust extension loads on first use

    return tiktoken.Encoding(f"tokenkit-{name}", pat_str=GPT2_PATTERN, mergeable_ranks=ranks,
                             special_tokens=specials,
                             explicit_n_vocab=vocab.vocab_size
                             if len(ranks) + len(specials) == vocab.vocab_size else None)
