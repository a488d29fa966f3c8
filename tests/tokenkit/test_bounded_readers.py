"""Vocabulary files are bounded and contained: crafted directories are refused fast and small.

A vocabulary directory is data someone handed us. Each row is a directory an attacker could
build: a file that links out of it, a FIFO that would block a reader forever, a file far larger
than any vocabulary, a manifest of many megabytes. Each must be refused by
:func:`tokenkit.load` within :data:`TIME_LIMIT` seconds and :data:`MEMORY_LIMIT` bytes
(tracemalloc), with one line naming the file; and ``Vocabulary.save(force=True)`` replaces only
a vocabulary directory tokenkit wrote.
"""

from __future__ import annotations

import json
import os
import shutil
import time
import tracemalloc
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path

import pytest

from tokenkit.errors import TokenkitError
from tokenkit.filecheck import MAX_MANIFEST, MAX_VOCAB_FILE
from tokenkit.specs import load_vocabulary
from tokenkit.training import train_from_texts
from tokenkit.ownership import check_replaceable, describe_output
from tokenkit.vocabulary import Vocabulary

from tests.disk import snapshot
from tests.tokenkit.helpers import MIXED_TEXT

TIME_LIMIT = 2.0
MEMORY_LIMIT = 8 * 1024 * 1024


@lru_cache(maxsize=None)
def trained(backend: str) -> Vocabulary:
    return train_from_texts([MIXED_TEXT], 400 if backend == "hf" else 600, backend=backend).vocabulary


def sparse(path: Path, size: int, head: bytes = b"") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as f:
        f.write(head)
        f.truncate(size)


def saved(tmp: Path, name: str, backend: str = "hf") -> Path:
    return trained(backend).save(tmp / name)


def rows() -> dict[str, tuple[Callable[[Path], str], str]]:
    """case -> (setup(tmp) returning the spec to load, a word the one-line error must hold)."""
    def hf_link_out(tmp: Path) -> str:
        secret = saved(tmp, "secret")
        (tmp / "bad").mkdir()
        (tmp / "bad" / "tokenizer.json").symlink_to(secret / "tokenizer.json")
        return str(tmp / "bad")

    def meta_file_link_out(tmp: Path) -> str:
        secret = saved(tmp, "secret")
        bad = saved(tmp, "bad")
        (bad / "tokenizer.json").unlink()
        (bad / "tokenizer.json").symlink_to(secret / "tokenizer.json")
        return str(bad)

    def manifest_link_out(tmp: Path) -> str:
        secret = saved(tmp, "secret")
        bad = saved(tmp, "bad")
        (bad / "tokenkit.json").unlink()
        (bad / "tokenkit.json").symlink_to(secret / "tokenkit.json")
        return str(bad)

    def sp_link_out(tmp: Path) -> str:
        secret = saved(tmp, "secret", "sentencepiece")
        (tmp / "bad").mkdir()
        (tmp / "bad" / "x.model").symlink_to(secret / "spm.model")
        return str(tmp / "bad")

    def tiktoken_link_out(tmp: Path) -> str:
        from tokenkit.exporters import export

        export(trained("hf"), tmp / "secret", "tiktoken")
        bad = tmp / "bad"
        bad.mkdir()
        shutil.copy(tmp / "secret" / "tiktoken.json", bad / "tiktoken.json")
        (bad / "tokenizer.tiktoken").symlink_to(tmp / "secret" / "tokenizer.tiktoken")
        return str(bad)

    def fifo(tmp: Path) -> str:
        bad = saved(tmp, "bad")
        (bad / "tokenizer.json").unlink()
        os.mkfifo(bad / "tokenizer.json")  # reading it would block forever
        return str(bad)

    def huge_tokenizer(tmp: Path) -> str:
        sparse(tmp / "bad" / "tokenizer.json", MAX_VOCAB_FILE + 1, b'{"version":')
        return str(tmp / "bad")

    def huge_model(tmp: Path) -> str:
        sparse(tmp / "big.model", MAX_VOCAB_FILE + 1, b"\x0a\x05")
        return str(tmp / "big.model")

    def huge_manifest(tmp: Path) -> str:
        bad = saved(tmp, "bad")
        sparse(bad / "tokenkit.json", MAX_MANIFEST + 1, b'{"backend": "hf", "file": "tokenizer.json", "x": "')
        return str(bad)

    def huge_tiktoken_meta(tmp: Path) -> str:
        sparse(tmp / "bad" / "tiktoken.json", MAX_MANIFEST + 1, b'{"pat_str": "')
        (tmp / "bad" / "tokenizer.tiktoken").write_text("IQ== 0\n")
        return str(tmp / "bad")

    return {
        "tokenizer.json links out": (hf_link_out, "outside"),
        "tokenkit.json's file links out": (meta_file_link_out, "outside"),
        "tokenkit.json links out": (manifest_link_out, "outside"),
        "a .model links out": (sp_link_out, "outside"),
        "tokenizer.tiktoken links out": (tiktoken_link_out, "outside"),
        "tokenizer.json is a FIFO": (fifo, "not a regular file"),
        "tokenizer.json over 1 GiB": (huge_tokenizer, "bytes, more than"),
        "a .model over 1 GiB": (huge_model, "bytes, more than"),
        "tokenkit.json over 16 MiB": (huge_manifest, "bytes, more than"),
        "tiktoken.json over 16 MiB": (huge_tiktoken_meta, "bytes, more than"),
    }


ROWS = rows()


@pytest.mark.parametrize("case", sorted(ROWS))
def test_crafted_vocabulary_directories_are_refused_fast_and_small(case, tmp_path):
    setup, word = ROWS[case]
    spec = setup(tmp_path)
    tracemalloc.start()
    started = time.perf_counter()
    try:
        with pytest.raises(TokenkitError) as info:
            load_vocabulary(spec)
        seconds = time.perf_counter() - started
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    message = str(info.value)
    assert seconds < TIME_LIMIT and peak < MEMORY_LIMIT, (seconds, peak, message)
    assert word in message and "\n" not in message
    assert spec in message or Path(spec).name in message


def test_a_link_inside_the_directory_is_fine(tmp_path):
    good = saved(tmp_path, "good")
    (good / "real.json").write_bytes((good / "tokenizer.json").read_bytes())
    (good / "tokenizer.json").unlink()
    (good / "tokenizer.json").symlink_to("real.json")
    assert load_vocabulary(str(good)).encode("hello") == trained("hf").encode("hello")


# -- Vocabulary.save(force=True) replaces only what tokenkit wrote ------------------------------
def test_save_force_replaces_a_vocabulary_tokenkit_wrote(tmp_path):
    saved(tmp_path, "v", "sentencepiece")
    trained("hf").save(tmp_path / "v", force=True)
    assert json.loads((tmp_path / "v" / "tokenkit.json").read_text())["backend"] == "hf"
    assert sorted(p.name for p in (tmp_path / "v").iterdir()) == ["tokenizer.json", "tokenkit.json"]


@pytest.mark.parametrize("extra", [{"thesis.txt": "mine"}, {"src/main.c": "int x;"}])
def test_save_force_refuses_a_directory_with_files_it_cannot_account_for(tmp_path, extra):
    for target in (tmp_path / "foreign", saved(tmp_path, "ours-plus")):
        for name, text in extra.items():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            (target / name).write_text(text)
        before = snapshot(tmp_path)
        with pytest.raises(TokenkitError, match=next(iter(extra)).split("/")[0]):
            trained("hf").save(target, force=True)
        assert snapshot(tmp_path) == before


def test_save_force_refuses_cwd_parents_and_home(tmp_path, monkeypatch):
    work = saved(tmp_path, "work")  # even one that looks like ours
    monkeypatch.chdir(work)
    monkeypatch.setenv("HOME", str(saved(tmp_path, "home")))
    before = snapshot(tmp_path)
    for target, why in ((work, "the working directory"), (tmp_path, "a parent"),
                        (tmp_path / "home", "the home directory"), (Path("."), "working directory")):
        with pytest.raises(TokenkitError, match=why):
            trained("hf").save(target, force=True)
    assert snapshot(tmp_path) == before


def test_describe_output_says_what_is_there(tmp_path):
    ours = saved(tmp_path, "ours")
    assert describe_output(ours) == ("a tokenkit vocabulary (hf, 400 tokens)", [])
    (tmp_path / "empty").mkdir()
    assert describe_output(tmp_path / "empty") == ("nothing (an empty directory)", [])
    check_replaceable(tmp_path / "empty")
    check_replaceable(tmp_path / "missing")
    (tmp_path / "file.txt").write_text("x")
    with pytest.raises(TokenkitError, match="a file"):
        check_replaceable(tmp_path / "file.txt")
