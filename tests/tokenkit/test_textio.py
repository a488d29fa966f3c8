"""Reading text: strict UTF-8 with the byte offset at fault, sources expanded in a stable order."""

from __future__ import annotations

import hashlib
import io
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tokenkit.corpora import find_corpus
from tokenkit.errors import TokenkitError
from tokenkit.textio import (
    decode_utf8,
    document_from_bytes,
    expand_sources,
    read_paths,
    read_sources,
    read_text_source,
)


@given(st.text())
def test_valid_utf8_decodes_to_itself_with_its_sha256(text: str) -> None:
    raw = text.encode("utf-8")
    if b"\x00" in raw:
        with pytest.raises(TokenkitError, match="looks binary"):
            document_from_bytes(raw, "t.txt")
        return
    doc = document_from_bytes(raw, "t.txt")
    assert doc.text == text and doc.n_bytes == len(raw) and doc.n_chars == len(text)
    assert doc.sha256 == hashlib.sha256(raw).hexdigest()


@given(st.binary(max_size=64))
def test_strict_error_names_file_and_first_bad_offset(raw: bytes) -> None:
    try:
        raw.decode("utf-8")
        valid = b"\x00" not in raw
    except UnicodeDecodeError as e:
        valid, first_bad = False, e.start
    if valid:
        assert decode_utf8(raw, "f.bin") == raw.decode("utf-8")
        return
    with pytest.raises(TokenkitError) as err:
        decode_utf8(raw, "f.bin")
    message = str(err.value)
    assert message.startswith("f.bin ") and "\n" not in message and "--errors replace" in message
    nul = raw.find(b"\x00")
    if nul >= 0:
        assert f"NUL byte at byte offset {nul}" in message
    else:
        assert f"byte 0x{raw[first_bad]:02x} at byte offset {first_bad}" in message
    # replace never fails, and only touches what strict refused
    replaced = decode_utf8(raw, "f.bin", "replace")
    assert replaced == raw.decode("utf-8", errors="replace")


def test_replace_marks_each_bad_byte_and_keeps_nul() -> None:
    assert decode_utf8(b"caf\xe9 \x00ok", "x", "replace") == "caf\ufffd \x00ok"


def test_unknown_errors_mode_is_refused() -> None:
    with pytest.raises(TokenkitError, match="--errors must be one of strict, replace, got 'ignore'"):
        decode_utf8(b"abc", "x", "ignore")


def test_bom_is_text_not_stripped() -> None:
    """A UTF-8 BOM is kept as U+FEFF: the document is exactly the file's bytes."""
    doc = document_from_bytes(b"\xef\xbb\xbfhello\n", "bom.txt")
    assert doc.text == "\ufeffhello\n" and doc.n_chars == 7


@pytest.mark.parametrize("text, lines", [
    ("", 0), ("a", 1), ("a\n", 1), ("a\nb", 2), ("a\nb\n", 2), ("\n\n", 2), ("a\r\nb\r\n", 2),
])
def test_line_count_counts_an_unterminated_last_line(text: str, lines: int) -> None:
    assert document_from_bytes(text.encode(), "t").n_lines == lines


def test_directories_expand_sorted_without_hidden_files(tmp_path: Path) -> None:
    (tmp_path / "b.txt").write_text("b")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "a.txt").write_text("a")
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "config").write_text("hidden")
    (tmp_path / ".hidden.txt").write_text("hidden")
    pairs = expand_sources([str(tmp_path)])
    assert [p for _, p in pairs] == [tmp_path / "b.txt", tmp_path / "sub" / "a.txt"]
    assert [d.text for d in read_sources([str(tmp_path)])] == ["b", "a"]


def test_empty_directory_and_missing_file_are_one_line(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(TokenkitError, match="holds no files"):
        expand_sources([str(tmp_path / "empty")])
    with pytest.raises(TokenkitError) as err:
        expand_sources([str(tmp_path / "nope.txt")])
    assert "nope.txt not found" in str(err.value) and "wagahai" in str(err.value)


def test_a_path_wins_over_a_corpus_name(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    Path("wagahai").write_text("my own file", encoding="utf-8")
    assert read_text_source("wagahai").text == "my own file"


def test_corpus_name_resolves(tmp_path: Path, monkeypatch) -> None:
    if find_corpus("the-verdict") is None:
        pytest.skip("corpus 'the-verdict' is not available locally")
    monkeypatch.chdir(tmp_path)
    doc = read_text_source("the-verdict")
    assert doc.name == "the-verdict" and doc.n_bytes == find_corpus("the-verdict").stat().st_size


def test_read_text_source_wants_one_file(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("a")
    (tmp_path / "b.txt").write_text("b")
    with pytest.raises(TokenkitError, match="names 2 files; give one text file"):
        read_text_source(str(tmp_path))


def test_stdin_and_progress_in_bytes(tmp_path: Path, monkeypatch) -> None:
    (tmp_path / "f.txt").write_bytes("ü\n".encode())
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"from stdin")))
    seen: list[int] = []
    docs = read_paths(expand_sources(["-", str(tmp_path / "f.txt")]), on_bytes=seen.append)
    assert [d.name for d in docs] == ["-", str(tmp_path / "f.txt")]
    assert docs[0].text == "from stdin" and seen == [10, 3]


def test_unreadable_file_is_one_line(tmp_path: Path) -> None:
    target = tmp_path / "gone.txt"
    with pytest.raises(TokenkitError, match="cannot read gone.txt"):
        read_paths([("gone.txt", target)])


@settings(max_examples=300, deadline=None)
@given(text=st.text(st.characters(blacklist_categories=("Cs",))), cut=st.integers(0, 400))
def test_complete_utf8_prefix_is_the_longest_prefix_that_decodes(text: str, cut: int) -> None:
    from tokenkit.textio import complete_utf8_prefix

    data = text.encode("utf-8")[:cut]
    n = complete_utf8_prefix(data)
    data[:n].decode("utf-8")  # whole characters only
    assert len(data) - n < 4
    if n < len(data):
        with pytest.raises(UnicodeDecodeError):
            data.decode("utf-8")
