"""What a vocabulary cannot represent: per character, does it come back, and how?

Each distinct character of a text is encoded on its own and decoded again. It either comes
back from *whole* tokens, comes back only through *byte* pieces (byte-level tokens that split
its UTF-8 sequence, or sentencepiece ``<0xNN>`` byte fallback), or is *lost*: dropped,
mapped to ``<unk>``, decoded to U+FFFD, or changed (e.g. by normalisation).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from tokenkit.htmltables import oov_html
from tokenkit.vocabulary import NO_SPECIALS, AllowedSpecial, Vocabulary

WHOLE, BYTES, LOST = "whole", "bytes", "lost"
GROUPS = ("Latin upper", "Latin lower", "digits", "Hiragana", "Katakana", "Han", "Hangul",
          "emoji", "other")
_EMOJI_RANGES = ((0x1F000, 0x1FAFF), (0x2600, 0x27BF), (0x2B00, 0x2BFF), (0x1FC00, 0x1FFFD),
                 (0xE0020, 0xE007F))


def char_group(ch: str) -> str:
    """The script / category bucket the OOV summary uses for one code point."""
    cp = ord(ch)
    if any(lo <= cp <= hi for lo, hi in _EMOJI_RANGES):
        return "emoji"
    name = unicodedata.name(ch, "")
    if "LATIN CAPITAL LETTER" in name:
        return "Latin upper"
    if "LATIN SMALL LETTER" in name:
        return "Latin lower"
    if unicodedata.category(ch) == "Nd":
        return "digits"
    if name.startswith("HIRAGANA"):
        return "Hiragana"
    if "KATAKANA" in name:
        return "Katakana"
    if name.startswith(("CJK UNIFIED IDEOGRAPH", "CJK COMPATIBILITY IDEOGRAPH")):
        return "Han"
    if name.startswith("HANGUL"):
        return "Hangul"
    return "other"


@dataclass(frozen=True)
class UnitResult:
    """The fate of one character (or one emoji sequence) encoded on its own."""

    text: str
    codepoints: str
    group: str
    fate: str  # whole | bytes | lost
    how_lost: str | None  # dropped | unk | replacement | changed
    n_tokens: int
    decoded: str


def classify(vocab: Vocabulary, unit: str, ids: list[int] | None = None) -> UnitResult:
    """Encode ``unit`` alone, decode it, and say whether and how it survives."""
    ids = vocab.encode(unit) if ids is None else ids
    decoded = vocab.decode(ids)
    how_lost = None
    if decoded == unit:
        pieces = [vocab.token_bytes(i) for i in ids]
        whole = all(p is not None and not vocab.is_byte_fallback(i) and is_utf8(p)
                    for i, p in zip(ids, pieces))
        fate = WHOLE if whole else BYTES
    else:
        fate = LOST
        if not ids or not decoded:
            how_lost = "dropped"
        elif vocab.unk_id is not None and vocab.unk_id in ids:
            how_lost = "unk"
        elif "\ufffd" in decoded and "\ufffd" not in unit:
            how_lost = "replacement"
        else:
            how_lost = "changed"
    return UnitResult(text=unit, codepoints=" ".join(f"U+{ord(c):04X}" for c in unit),
                      group=char_group(unit[0]) if unit else "other", fate=fate,
                      how_lost=how_lost, n_tokens=len(ids), decoded=decoded)


def is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


@dataclass
class GroupSummary:
    whole: int = 0
    bytes: int = 0
    lost: int = 0
    examples: dict[str, list[str]] = field(default_factory=lambda: {WHOLE: [], BYTES: [], LOST: []})

    def add(self, r: UnitResult, max_examples: int = 8) -> None:
        setattr(self, r.fate, getattr(self, r.fate) + 1)
        if len(self.examples[r.fate]) < max_examples:
            self.examples[r.fate].append(r.text)

    @property
    def total(self) -> int:
        return self.whole + self.bytes + self.lost


@dataclass
class OOVReport:
    """Per-character results, a summary per group, and the text's own round trip."""

    text: str
    decoded: str
    units: list[UnitResult]
    groups: dict[str, GroupSummary]

    @property
    def lost(self) -> list[UnitResult]:
        return [u for u in self.units if u.fate == LOST]

    @property
    def lossless(self) -> bool:
        return not self.lost and self.decoded == self.text

    def to_dict(self) -> dict[str, Any]:
        return {"text": self.text, "decoded": self.decoded, "lossless": self.lossless,
                "units": [asdict(u) for u in self.units],
                "groups": {g: {**asdict(s), "total": s.total} for g, s in self.groups.items()}}

    def _repr_html_(self) -> str:  # notebooks: the per-group table
        return oov_html(self)


def _summarise(results: Iterable[UnitResult]) -> dict[str, GroupSummary]:
    groups: dict[str, GroupSummary] = {}
    for r in results:
        groups.setdefault(r.group, GroupSummary()).add(r)
    return {g: groups[g] for g in GROUPS if g in groups}


def oov_report(vocab: Vocabulary, text: str, *,
               allowed_special: AllowedSpecial = NO_SPECIALS) -> OOVReport:
    """Classify every distinct character of ``text`` (in order of first appearance); the
    whole-text round trip reads ``allowed_special`` specials from the text."""
    chars = list(dict.fromkeys(text))
    results = [classify(vocab, c, ids) for c, ids in zip(chars, vocab.encode_batch(chars))]
    decoded = vocab.decode(vocab.encode(text, allowed_special=allowed_special))
    return OOVReport(text=text, decoded=decoded, units=results,
                     groups=_summarise(results))


# -- the whole emoji list -------------------------------------------------------------------
def parse_emoji_test(path: Path, status: str = "fully-qualified") -> list[str]:
    """Emoji strings of ``emoji-test.txt`` lines (``1F600 ; fully-qualified # 😀 ...``)."""
    emoji = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line or line.startswith("#") or ";" not in line:
            continue
        points, rest = line.split(";", 1)
        if rest.split("#", 1)[0].strip() != status:
            continue
        emoji.append("".join(chr(int(p, 16)) for p in points.split()))
    return emoji


@dataclass
class EmojiReport:
    n: int
    whole: int
    bytes: int
    lost: int
    tokens_per_emoji: float
    max_tokens: int
    lost_examples: list[str]

    @property
    def roundtrip_fraction(self) -> float:
        return (self.whole + self.bytes) / self.n if self.n else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "roundtrip_fraction": self.roundtrip_fraction}


def emoji_report(vocab: Vocabulary, emoji: list[str]) -> EmojiReport:
    """Round-trip every emoji sequence on its own: how many survive, at how many tokens."""
    results = [classify(vocab, e, ids) for e, ids in zip(emoji, vocab.encode_batch(emoji))]
    counts = {WHOLE: 0, BYTES: 0, LOST: 0}
    for r in results:
        counts[r.fate] += 1
    n_tokens = [r.n_tokens for r in results]
    return EmojiReport(n=len(results), whole=counts[WHOLE], bytes=counts[BYTES], lost=counts[LOST],
                       tokens_per_emoji=sum(n_tokens) / len(n_tokens) if n_tokens else 0.0,
                       max_tokens=max(n_tokens, default=0),
                       lost_examples=[r.text for r in results if r.fate == LOST][:20])
