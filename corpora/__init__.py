"""The corpus manifest and the logic that fetches a corpus from its original source.

Corpus files are never part of the repository: ``manifest.json`` records where each one
comes from, its size, sha256 and licence, and :func:`fetch` downloads it, converts it when
the source needs it, checks the sha256 and only then moves it into place.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
import urllib.request
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

MANIFEST = Path(__file__).with_name("manifest.json")


class CorpusError(Exception):
    """A corpus cannot be found, fetched or verified (one-line message)."""


@dataclass(frozen=True)
class CorpusFile:
    path: str  # relative to the corpora root, e.g. "gpt2/vocab.bpe"
    url: str
    sha256: str
    bytes: int
    convert: str | None = None


@dataclass(frozen=True)
class Corpus:
    name: str
    description: str
    language: str
    licence: str
    cleaning: str
    files: tuple[CorpusFile, ...]
    directory: bool = False

    @property
    def relpath(self) -> str:
        """Where the corpus lives under a corpora root: its file, or its folder."""
        first = self.files[0].path
        return first.split("/")[0] if self.directory else first


@lru_cache(maxsize=1)
def manifest() -> dict[str, Corpus]:
    data: dict[str, Any] = json.loads(MANIFEST.read_text(encoding="utf-8"))
    out = {}
    for name, entry in data["corpora"].items():
        files = tuple(CorpusFile(**f) for f in entry["files"])
        out[name] = Corpus(name=name, description=entry["description"],
                           language=entry["language"], licence=entry["licence"],
                           cleaning=entry["cleaning"], files=files,
                           directory=bool(entry.get("directory", False)))
    return out


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _lang_colon_lines_to_tsv(raw: bytes) -> bytes:
    """texts.php holds ``xx:sentence`` lines between comments; keep those as ``xx<TAB>sentence``."""
    out = []
    for line in raw.decode("utf-8").splitlines():
        m = re.match(r"^([a-z]{2,3}):(.+)$", line)
        if m:
            out.append(f"{m.group(1)}\t{m.group(2).strip()}\n")
    return "".join(out).encode("utf-8")


CONVERTERS = {"lang-colon-lines-to-tsv": _lang_colon_lines_to_tsv}


def fetch(name: str, root: Path, *, timeout: float = 60.0) -> Path:
    """Download corpus ``name`` into ``root`` (verified, atomic) and return its path."""
    corpus = manifest().get(name)
    if corpus is None:
        raise CorpusError(f"unknown corpus {name!r} (known: {', '.join(manifest())})")
    for spec in corpus.files:
        target = root / spec.path
        if target.exists() and sha256_file(target) == spec.sha256:
            continue
        try:
            with urllib.request.urlopen(spec.url, timeout=timeout) as response:
                raw = response.read()
        except OSError as e:
            raise CorpusError(f"cannot download corpus {name} from {spec.url}: {e}") from e
        data = CONVERTERS[spec.convert](raw) if spec.convert else raw
        digest = hashlib.sha256(data).hexdigest()
        if digest != spec.sha256:
            raise CorpusError(f"corpus {name}: {spec.url} has sha256 {digest}, "
                              f"the manifest expects {spec.sha256}; nothing was written")
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    return root / corpus.relpath
