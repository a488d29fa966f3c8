"""Faults and garbage: a full disk, a kill during a vocabulary save, an absurd --vocab, and
hypothesis-generated garbage for every metadata reader. Only TokenkitError ever comes out,
the old output survives, and nothing is left behind."""

from __future__ import annotations

import errno
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import tokenkit.training as training
from tokenkit.atomic import recover
from tokenkit.backends.hf import HFVocabulary
from tokenkit.cli import main
from tokenkit.cli.codec import ids_from_json
from tokenkit.errors import TokenkitError
from tokenkit.specs import load_vocabulary
from tokenkit.training import train_from_texts

from tests.tokenkit.helpers import MIXED_TEXT

JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
                    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                                                 max_size=4),
                    max_leaves=12)
#: tokenkit.json-shaped garbage: the right keys with wrong values, plus anything at all.
META = st.one_of(JSON, st.fixed_dictionaries(
    {"backend": st.sampled_from(["hf", "sentencepiece", "tiktoken"]) | JSON,
     "file": st.sampled_from(["tokenizer.json", "spm.model", "/etc/passwd", "../x", "", "."]) | JSON},
    optional={"special_tokens": JSON, "name": JSON, "vocab_size": JSON}))


def small(size: int = 300) -> HFVocabulary:
    return train_from_texts([MIXED_TEXT], size).vocabulary


def listing(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir())


class FullDiskTokenizer:
    """A tokenizer whose save fails the way tokenizers' Rust code reports ENOSPC."""

    def __init__(self, inner) -> None:
        self.inner = inner

    def save(self, path: str) -> None:
        Path(path).write_text("partial")
        raise Exception("No space left on device (os error 28)")

    def __getattr__(self, name):
        return getattr(self.inner, name)


def test_full_disk_in_tokenizers_save_is_one_line_and_old_output_survives(tmp_path: Path) -> None:
    old = small(300).save(tmp_path / "v")
    new = small(320)
    new.tokenizer = FullDiskTokenizer(new.tokenizer)
    with pytest.raises(TokenkitError) as info:
        new.save(old, force=True)
    assert str(info.value) == f"cannot write output {old}: No space left on device"
    assert load_vocabulary(str(old)).vocab_size == 300
    assert listing(tmp_path) == ["v"]


def test_full_disk_in_metadata_write_is_one_line(tmp_path: Path, monkeypatch) -> None:
    old = small(300).save(tmp_path / "v")
    real = Path.write_text

    def full(self, *args, **kwargs):
        if self.name == "tokenkit.json":
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(self, *args, **kwargs)

    monkeypatch.setattr(Path, "write_text", full)
    with pytest.raises(TokenkitError, match="No space left on device"):
        small(320).save(old, force=True)
    monkeypatch.undo()
    assert load_vocabulary(str(old)).vocab_size == 300 and listing(tmp_path) == ["v"]


def test_cli_train_on_a_full_disk(tmp_path: Path, monkeypatch) -> None:
    corpus = tmp_path / "c.txt"
    corpus.write_text(MIXED_TEXT, encoding="utf-8")
    runner = CliRunner()
    assert runner.invoke(main, ["train", "--vocab", "300", str(corpus), "-o", str(tmp_path / "v")]).exit_code == 0
    before = (tmp_path / "v" / "tokenizer.json").read_bytes()

    def full(self, directory: Path) -> str:
        raise Exception("No space left on device (os error 28)")

    monkeypatch.setattr(HFVocabulary, "_write_backend_file", full)
    result = runner.invoke(main, ["train", "--vocab", "320", str(corpus), "-o", str(tmp_path / "v"), "--force"])
    assert result.exit_code == 1
    assert result.stderr.strip().splitlines() == [
        f"Error: cannot write output {tmp_path / 'v'}: No space left on device"]
    assert (tmp_path / "v" / "tokenizer.json").read_bytes() == before
    assert listing(tmp_path) == ["c.txt", "v"]


def test_absurd_vocab_is_capped_before_the_trainer_and_recorded(monkeypatch) -> None:
    asked: list[int] = []
    real = training._train_hf

    def spy(docs, options, progress):
        asked.append(options.vocab_size)
        return real(docs, options, progress)

    monkeypatch.setattr(training, "_train_hf", spy)
    result = train_from_texts(["abc abd abe " * 20], 1_000_000_000)
    n_bytes = len(("abc abd abe " * 20).encode())
    assert asked == [256 + n_bytes]  # what the corpus can reach, never the billion
    assert result.summary["requested_vocab_size"] == 1_000_000_000
    assert result.summary["vocab_size"] == result.vocabulary.vocab_size < 1000
    assert any("more than this corpus can reach" in w for w in result.warnings)
    assert result.vocabulary.metadata["training"]["vocab_size"] == result.vocabulary.vocab_size


def test_cli_absurd_vocab_warns_with_the_actual_size(tmp_path: Path) -> None:
    corpus = tmp_path / "c.txt"
    corpus.write_text("abc abd abe\n" * 20, encoding="utf-8")
    result = CliRunner().invoke(main, ["train", "--vocab", "1000000000", str(corpus), "-o", str(tmp_path / "v")])
    assert result.exit_code == 0, result.output
    assert "warning: --vocab 1000000000 is more than this corpus can reach" in result.stderr
    meta = json.loads((tmp_path / "v" / "tokenkit.json").read_text())
    assert meta["options"]["vocab_size"] == 1_000_000_000 and meta["vocab_size"] < 1000


# -- a kill at every step of a vocabulary save ---------------------------------------------------
CHILD = textwrap.dedent("""
    import os, sys
    from tokenkit.training import train_from_texts
    target, k = sys.argv[1], int(sys.argv[2])
    vocab = train_from_texts([open(sys.argv[3], encoding="utf-8").read()], 320).vocabulary
    from tests.killswitch import die_at_kth_replace
    die_at_kth_replace(k)
    if k == 0:
        from tokenkit.backends.hf import HFVocabulary
        HFVocabulary._write_backend_file = lambda self, d: os._exit(9)
    vocab.save(target, force=True)
    """)


@pytest.mark.parametrize("kill_at", [0, 1, 2, 3, 4])
def test_kill_at_each_step_of_a_vocabulary_save_is_recovered_by_the_next_load(tmp_path: Path,
                                                                             kill_at: int) -> None:
    corpus = tmp_path / "c.txt"
    corpus.write_text(MIXED_TEXT, encoding="utf-8")
    target = small(300).save(tmp_path / "v")
    proc = subprocess.run([sys.executable, "-c", CHILD, str(target), str(kill_at), str(corpus)])
    died = proc.returncode == 9
    before = listing(tmp_path)
    vocab = load_vocabulary(str(target))  # the loader reads the newest complete copy ...
    assert vocab.vocab_size == (300 if died and kill_at in (0, 1) else 320)
    assert listing(tmp_path) == before  # ... and renames or deletes nothing
    recover(target)  # what the next writer does first
    assert listing(tmp_path) == ["c.txt", "v"]
    assert load_vocabulary(str(target)).vocab_size == vocab.vocab_size


# -- garbage for every reader -------------------------------------------------------------------------
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(meta=META)
def test_garbage_tokenkit_json_only_raises_tokenkit_error(tmp_path_factory, meta) -> None:
    directory = tmp_path_factory.mktemp("g")
    (directory / "tokenkit.json").write_text(json.dumps(meta), encoding="utf-8")
    (directory / "spm.model").write_bytes(b"\x0a\x03abc")
    (directory / "tokenizer.json").write_text("{}", encoding="utf-8")
    try:
        load_vocabulary(str(directory))
    except TokenkitError:
        pass


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(meta=JSON | st.fixed_dictionaries({"pat_str": JSON | st.text(max_size=10),
                                          "special_tokens": JSON}),
       ranks=st.binary(max_size=60) | st.just(b"IQ== 0\n"))
def test_garbage_tiktoken_files_only_raise_tokenkit_error(tmp_path_factory, meta, ranks) -> None:
    directory = tmp_path_factory.mktemp("t")
    (directory / "tiktoken.json").write_text(json.dumps(meta), encoding="utf-8")
    (directory / "tokenizer.tiktoken").write_bytes(ranks)
    try:
        load_vocabulary(str(directory)).encode("ab")
    except TokenkitError:
        pass


@settings(max_examples=300, deadline=None)
@given(data=JSON)
def test_garbage_ids_json_only_raises_tokenkit_error(data) -> None:
    try:
        ids = ids_from_json(data)
    except TokenkitError:
        return
    assert all(type(i) is int for i in ids)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(raw=st.binary(max_size=40) | JSON.map(lambda d: json.dumps(d).encode()))
def test_garbage_on_decode_stdin_is_one_line(tmp_path_factory, raw) -> None:
    directory = tmp_path_factory.mktemp("d")
    vocab = _decode_vocab(directory)
    result = CliRunner().invoke(main, ["decode", vocab, "-"], input=raw)
    if result.exit_code != 0:
        assert result.exception is None or isinstance(result.exception, SystemExit)
        assert len(result.stderr.strip().splitlines()) == 1 and "--debug" not in result.stderr


_DECODE_VOCAB: list[str] = []


def _decode_vocab(directory: Path) -> str:
    if not _DECODE_VOCAB:
        _DECODE_VOCAB.append(str(small(300).save(directory / "v")))
    return _DECODE_VOCAB[0]
