"""The corpus manifest, and where a corpus is found: env var, shared folder, user cache, download.

Corpus files are never part of the repository: ``manifest.json`` (package data beside this
module) records where each one comes from, its size, sha256 and licence. A corpus name
resolves, in order, to ``$TOKENKIT_CORPORA``, then ``../shared/corpora`` beside the project
(or the current directory), then the user cache (``$XDG_CACHE_HOME/tokenkit/corpora``), then a
verified download from its source into that cache: :func:`fetch` downloads, converts when the
source needs it, checks the sha256 and only then moves the file into place.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from tokenkit.atomic import atomic_file
from tokenkit.errors import TokenkitError

MANIFEST = Path(__file__).with_name("manifest.json")
PROJECT_ROOT = Path(__file__).resolve().parents[1]  # corpora/ sits at the top of the checkout


class CorpusError(TokenkitError):
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


# -- the manifest ----------------------------------------------------------------------------
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


def known_corpora() -> dict[str, Corpus]:
    return manifest()


def is_corpus_name(spec: str) -> bool:
    return spec in manifest()


def _lookup(name: str) -> Corpus:
    corpus = manifest().get(name)
    if corpus is None:
        raise CorpusError(f"unknown corpus {name!r} (known: {', '.join(manifest())})")
    return corpus


# -- where a corpus is found -----------------------------------------------------------------
def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "tokenkit" / "corpora"


def search_roots() -> list[Path]:
    """Folders looked in, in order, before a download."""
    roots = []
    if env := os.environ.get("TOKENKIT_CORPORA"):
        roots.append(Path(env))
    for shared in (PROJECT_ROOT.parent / "shared" / "corpora", Path.cwd().parent / "shared" / "corpora"):
        if shared not in roots:
            roots.append(shared)
    roots.append(cache_dir())
    return roots


def find_corpus(name: str) -> Path | None:
    """The local path of corpus ``name``, or None when it must be downloaded."""
    corpus = _lookup(name)
    for root in search_roots():
        if all((root / f.path).is_file() for f in corpus.files):
            return root / corpus.relpath
    return None


def resolve_corpus(name: str, *, download: bool = True) -> Path:
    """The local path of corpus ``name``, fetching it into the user cache if needed."""
    found = find_corpus(name)
    if found is not None:
        return found
    if not download:
        raise CorpusError(f"corpus {name} is not available locally "
                          f"(looked in {', '.join(str(r) for r in search_roots())})")
    return fetch_corpus(name)


# -- download --------------------------------------------------------------------------------
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


def where_to_put(corpus: Corpus) -> str:
    """What to do when a corpus cannot be downloaded (offline): where a copy is looked for."""
    env = os.environ.get("TOKENKIT_CORPORA")
    shared = PROJECT_ROOT.parent / "shared" / "corpora"
    return (f"to work offline, put {corpus.relpath} in the folder named by $TOKENKIT_CORPORA"
            f"{f' ({env})' if env else ''}, in {shared} or in the cache {cache_dir()}, "
            f"or run `tokenkit corpora fetch {corpus.name}` once online")


def fetch(name: str, root: Path, *, timeout: float = 60.0) -> Path:
    """Download corpus ``name`` into ``root`` (verified, atomic) and return its path."""
    corpus = _lookup(name)
    for spec in corpus.files:
        target = root / spec.path
        if target.exists() and sha256_file(target) == spec.sha256:
            continue
        import urllib.request  # heavy: http.client, email and ssl cost ~15 ms at start-up

        try:
            with urllib.request.urlopen(spec.url, timeout=timeout) as response:
                raw = response.read()
        except OSError as e:
            raise CorpusError(f"cannot download corpus {name} from {spec.url}: {e}; "
                              f"{where_to_put(corpus)}") from e
        data = CONVERTERS[spec.convert](raw) if spec.convert else raw
        digest = hashlib.sha256(data).hexdigest()
        if digest != spec.sha256:
            raise CorpusError(f"corpus {name}: {spec.url} has sha256 {digest}, "
                              f"the manifest expects {spec.sha256}; nothing was written")
        with atomic_file(target) as tmp:
            tmp.write_bytes(data)
    return root / corpus.relpath


def fetch_corpus(name: str, root: Path | None = None) -> Path:
    """Download ``name`` into ``root`` (default: the user cache), verifying its sha256."""
    return fetch(name, root or cache_dir())
