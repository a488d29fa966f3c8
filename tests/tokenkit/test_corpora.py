"""Corpus resolution order and verified, atomic download."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from tokenkit import corpora
from tokenkit.corpora import fetch_corpus, find_corpus, resolve_corpus
from tokenkit.errors import TokenkitError


def test_manifest_lists_the_required_corpora() -> None:
    names = set(corpora.manifest())
    assert {"the-verdict", "wagahai", "tinyshakespeare", "taylorswift", "emoji-test", "multilingual",
            "gpt2"} <= names
    for c in corpora.manifest().values():
        assert c.licence and c.cleaning
        for f in c.files:
            assert len(f.sha256) == 64 and f.url.startswith("https://") and f.bytes > 0


def test_env_var_wins(tmp_path: Path, monkeypatch) -> None:
    (tmp_path / "the-verdict.txt").write_text("my own copy")
    monkeypatch.setenv("TOKENKIT_CORPORA", str(tmp_path))
    assert resolve_corpus("the-verdict") == tmp_path / "the-verdict.txt"


def test_shared_copy_matches_manifest() -> None:
    """The shared copies are what the manifest describes (sha256 and size)."""
    checked = 0
    for name, c in corpora.manifest().items():
        found = find_corpus(name)
        if found is None:
            continue
        root = found.parent  # a file or the gpt2 folder sits directly under its root
        for f in c.files:
            path = root / f.path
            assert path.stat().st_size == f.bytes, path
            assert corpora.sha256_file(path) == f.sha256, path
            checked += 1
    if not checked:
        pytest.skip("no corpus available locally")


def _fake_manifest(monkeypatch, source: Path, sha: str) -> None:
    entry = corpora.Corpus(name="fake", description="d", language="en", licence="l", cleaning="c",
                           files=(corpora.CorpusFile(path="fake.txt", url=source.as_uri(), sha256=sha,
                                                     bytes=source.stat().st_size),))
    monkeypatch.setattr(corpora, "manifest", lambda: {"fake": entry})


def test_fetch_verifies_sha256_and_is_atomic(tmp_path: Path, monkeypatch) -> None:
    source = tmp_path / "source.txt"
    source.write_text("corpus text\n")
    cache = tmp_path / "cache"
    _fake_manifest(monkeypatch, source, "0" * 64)
    with pytest.raises(TokenkitError, match="sha256"):
        fetch_corpus("fake", cache)
    assert not (cache / "fake.txt").exists()
    assert not cache.exists() or not list(cache.iterdir())

    _fake_manifest(monkeypatch, source, hashlib.sha256(source.read_bytes()).hexdigest())
    assert fetch_corpus("fake", cache) == cache / "fake.txt"
    assert (cache / "fake.txt").read_text() == "corpus text\n"


def test_resolve_downloads_into_user_cache(tmp_path: Path, monkeypatch) -> None:
    source = tmp_path / "source.txt"
    source.write_text("hello\n")
    _fake_manifest(monkeypatch, source, hashlib.sha256(b"hello\n").hexdigest())
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.delenv("TOKENKIT_CORPORA", raising=False)
    path = resolve_corpus("fake")
    assert path == tmp_path / "xdg" / "tokenkit" / "corpora" / "fake.txt" and path.read_text() == "hello\n"
    assert find_corpus("fake") == path  # now found in the cache without downloading


def test_unreachable_source_is_one_line(tmp_path: Path, monkeypatch) -> None:
    missing = tmp_path / "missing.txt"
    missing.write_text("x")
    _fake_manifest(monkeypatch, missing, "0" * 64)
    missing.unlink()
    with pytest.raises(TokenkitError, match="cannot download corpus fake"):
        fetch_corpus("fake", tmp_path / "c")


def test_multilingual_conversion() -> None:
    raw = "<?php\nexit;\n?>\n\n# comment\n\naf:Alle mense. \nar:يولد\n\nbe:Усе\n".encode()
    assert corpora.CONVERTERS["lang-colon-lines-to-tsv"](raw).decode() == "af\tAlle mense.\nar\tيولد\nbe\tУсе\n"
