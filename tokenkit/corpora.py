"""Resolve a corpus name to a local path: env var, shared folder, user cache, then download.

Order: ``$TOKENKIT_CORPORA``, then ``../shared/corpora`` beside the project (or the current
directory), then the user cache (``$XDG_CACHE_HOME/tokenkit/corpora``), then a verified
download from the source URL in ``corpora/manifest.json`` into that cache.
"""

from __future__ import annotations

import os
from pathlib import Path

import corpora
from tokenkit.errors import TokenkitError

PROJECT_ROOT = Path(__file__).resolve().parents[1]


def known_corpora() -> dict[str, corpora.Corpus]:
    return corpora.manifest()


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
        raise TokenkitError(f"corpus {name} is not available locally "
                            f"(looked in {', '.join(str(r) for r in search_roots())})")
    return fetch_corpus(name)


def fetch_corpus(name: str, root: Path | None = None) -> Path:
    """Download ``name`` into ``root`` (default: the user cache), verifying its sha256."""
    _lookup(name)
    try:
        return corpora.fetch(name, root or cache_dir())
    except corpora.CorpusError as e:
        raise TokenkitError(str(e)) from e


def is_corpus_name(spec: str) -> bool:
    return spec in corpora.manifest()


def _lookup(name: str) -> corpora.Corpus:
    corpus = corpora.manifest().get(name)
    if corpus is None:
        raise TokenkitError(f"unknown corpus {name!r} (known: {', '.join(corpora.manifest())})")
    return corpus
