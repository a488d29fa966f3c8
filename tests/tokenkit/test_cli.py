"""The command line as a user runs it: train, report, oov, encode/decode, and every bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.tokenkit.helpers import MIXED_TEXT
from tokenkit.cli import main


def run(*args: str, input: str | bytes | None = None):
    return CliRunner().invoke(main, list(args), input=input, catch_exceptions=False)


@pytest.fixture(scope="module")
def vocab_dir(corpus: Path, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("vocabs") / "mixed-400"
    result = run("train", "--vocab", "400", "--special-tokens", "<|endoftext|>,<bos>", str(corpus),
                 "-o", str(out), "-q")
    assert result.exit_code == 0, result.output
    return out


def error_line(result) -> str:
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert lines, "expected an error message"
    return lines[-1]


def test_train_writes_backend_file_and_metadata(vocab_dir: Path, corpus: Path) -> None:
    assert (vocab_dir / "tokenizer.json").is_file()
    meta = json.loads((vocab_dir / "tokenkit.json").read_text(encoding="utf-8"))
    assert meta["backend"] == "hf" and meta["vocab_size"] == 400
    assert meta["special_tokens"] == {"<|endoftext|>": 0, "<bos>": 1}
    assert meta["options"]["alphabet"] == "bytes"
    [doc] = meta["corpus"]
    import hashlib

    assert doc["sha256"] == hashlib.sha256(corpus.read_bytes()).hexdigest()
    assert doc["bytes"] == corpus.stat().st_size and doc["lines"] == MIXED_TEXT.count("\n") + 1
    assert meta["training"]["training_seconds"] >= 0 and meta["tokenkit_version"]
    assert not [p for p in vocab_dir.parent.iterdir() if p.name.startswith(".")], "temp dir left behind"


def test_train_summary_line(corpus: Path, tmp_path: Path) -> None:
    result = run("train", "--vocab", "300", str(corpus), "-o", str(tmp_path / "v"))
    assert result.exit_code == 0
    assert "300 tokens" in result.output and f"{len(MIXED_TEXT.encode()):,} bytes" in result.output
    assert str(tmp_path / "v") in result.output


def test_report_text_and_json(vocab_dir: Path) -> None:
    text = "The quick brown fox"
    result = run("report", str(vocab_dir), "--text", text, "--json")
    data = json.loads(result.output)
    assert data["utf8_bytes"] == 19 and data["utf8_bits"] == 152 and data["bits_per_token"] == 9
    assert data["bpe_bits"] == 9 * data["n_tokens"]
    assert "".join(data["tokens"]).replace("␣", " ") == text
    plain = run("report", str(vocab_dir), "--text", text).output
    assert "UTF-8 bits         152" in plain and f"{data['ratio']:.2f}" in plain


def test_report_file(vocab_dir: Path, corpus: Path) -> None:
    data = json.loads(run("report", str(vocab_dir), "--file", str(corpus), "--json").output)
    assert data["utf8_bytes"] == len(MIXED_TEXT.encode()) and data["ratio"] > 1.5


def test_encode_decode_roundtrip(vocab_dir: Path) -> None:
    text = "猫 <|endoftext|> 🥺 naïve"
    plain = json.loads(run("encode", str(vocab_dir), "--text", text).output)
    assert 0 not in plain["ids"] and "<|endoftext|>" not in plain["tokens"]  # ordinary text
    enc = json.loads(run("encode", str(vocab_dir), "--text", text, "--allow-special", "all").output)
    assert 0 in enc["ids"] and len(enc["ids"]) == len(enc["tokens"])
    assert json.loads(run("encode", str(vocab_dir), "--text", text, "--allow-special",
                          "<|endoftext|>").output) == enc
    assert run("decode", str(vocab_dir), *map(str, plain["ids"])).output == text
    assert run("decode", str(vocab_dir), *map(str, enc["ids"])).output == text
    assert run("decode", str(vocab_dir), "-", input=json.dumps(enc)).output == text
    assert json.loads(run("decode", str(vocab_dir), "--json", ",".join(map(str, enc["ids"]))).output) == \
        {"text": text}


def test_oov_strict(vocab_dir: Path, corpus: Path, tmp_path: Path) -> None:
    ok = run("oov", str(vocab_dir), "--text", "El Psy Congroo 🥺", "--strict")
    assert ok.exit_code == 0 and "lossless" in ok.output
    lossy_dir = tmp_path / "observed"
    assert run("train", "--vocab", "300", "--alphabet", "observed", str(corpus), "-o", str(lossy_dir)).exit_code == 0
    bad = run("oov", str(lossy_dir), "--text", "El Psy Congroo 🥺", "--strict")
    assert bad.exit_code != 0 and "lost" in bad.output and "replacement" in bad.output
    data = json.loads(run("oov", str(lossy_dir), "--text", "x🥺", "--json").output)
    assert data["lossless"] is False and data["groups"]["emoji"]["lost"] == 1


def test_sentencepiece_backend(corpus: Path, tmp_path: Path) -> None:
    out = tmp_path / "sp"
    result = run("train", "--backend", "sentencepiece", "--vocab", "500", "--special-tokens", "<eos>",
                 str(corpus), "-o", str(out))
    assert result.exit_code == 0, result.output
    assert (out / "spm.model").is_file()
    meta = json.loads((out / "tokenkit.json").read_text(encoding="utf-8"))
    assert meta["backend"] == "sentencepiece" and "<eos>" in meta["special_tokens"]
    enc = json.loads(run("encode", str(out), "--text", "a <eos> b", "--allow-special", "<eos>").output)
    assert meta["special_tokens"]["<eos>"] in enc["ids"]


def test_stdin_and_directory_sources(tmp_path: Path) -> None:
    d = tmp_path / "texts"
    d.mkdir()
    (d / "a.txt").write_text("hello world " * 50, encoding="utf-8")
    (d / "b.txt").write_text("goodbye moon " * 50, encoding="utf-8")
    r = run("train", "--vocab", "270", str(d), "-o", str(tmp_path / "dir"))
    assert r.exit_code == 0
    meta = json.loads((tmp_path / "dir" / "tokenkit.json").read_text())
    assert len(meta["corpus"]) == 2
    r = run("train", "--vocab", "270", "-", "-o", str(tmp_path / "stdin"), input="from stdin " * 30)
    assert r.exit_code == 0 and (tmp_path / "stdin" / "tokenizer.json").exists()


# -- bad input: one line, non-zero exit, nothing written ---------------------------------------
def assert_failed_cleanly(result, out: Path, *needles: str) -> None:
    assert result.exit_code != 0
    line = error_line(result)
    assert line.startswith("Error: ")
    for needle in needles:
        assert needle in line, line
    assert not out.exists()
    assert not [p for p in out.parent.iterdir() if p.name.startswith(f".{out.name}")]


def test_missing_file(tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert_failed_cleanly(run("train", "--vocab", "300", str(tmp_path / "nope.txt"), "-o", str(out)),
                          out, "nope.txt", "not found")


def test_empty_corpus(tmp_path: Path) -> None:
    empty = tmp_path / "empty.txt"
    empty.write_bytes(b"")
    out = tmp_path / "out"
    assert_failed_cleanly(run("train", "--vocab", "300", str(empty), "-o", str(out)), out, "empty")


def test_invalid_utf8_names_the_byte_offset(tmp_path: Path) -> None:
    bad = tmp_path / "latin1.txt"
    bad.write_bytes(b"hello caf\xe9 world")
    out = tmp_path / "out"
    assert_failed_cleanly(run("train", "--vocab", "300", str(bad), "-o", str(out)), out,
                          "latin1.txt", "offset 9", "--errors replace")
    ok = run("train", "--vocab", "300", "--errors", "replace", str(bad), "-o", str(out))
    assert ok.exit_code == 0 and out.exists()


def test_binary_input(tmp_path: Path) -> None:
    binary = tmp_path / "blob.bin"
    binary.write_bytes(b"abc\x00\x01\x02")
    out = tmp_path / "out"
    assert_failed_cleanly(run("train", "--vocab", "300", str(binary), "-o", str(out)), out,
                          "blob.bin", "binary", "offset 3")


def test_vocab_smaller_than_alphabet_says_minimum(corpus: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert_failed_cleanly(run("train", "--vocab", "200", "--special-tokens", "<a>,<b>", str(corpus),
                              "-o", str(out)), out, "minimum is 258")


def test_vocab_larger_than_reachable_warns(tmp_path: Path) -> None:
    tiny = tmp_path / "tiny.txt"
    tiny.write_text("abab abab abab", encoding="utf-8")
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["train", "--vocab", "5000", str(tiny), "-o", str(out)])
    assert result.exit_code == 0
    assert "warning" in result.output and "more than this corpus can reach" in result.output
    meta = json.loads((out / "tokenkit.json").read_text())
    assert meta["vocab_size"] < 5000 and f"{meta['vocab_size']} tokens" in result.output


def test_sentencepiece_vocab_too_large_retries_at_maximum(tmp_path: Path) -> None:
    tiny = tmp_path / "tiny.txt"
    tiny.write_text("abab abab abab\nbaba\n", encoding="utf-8")
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["train", "--backend", "sentencepiece", "--vocab", "5000", str(tiny),
                                       "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert "can reach at most" in result.output
    assert json.loads((out / "tokenkit.json").read_text())["vocab_size"] < 5000


def test_existing_output_needs_force(corpus: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert run("train", "--vocab", "300", str(corpus), "-o", str(out)).exit_code == 0
    result = run("train", "--vocab", "300", str(corpus), "-o", str(out))
    line = error_line(result)
    assert result.exit_code != 0 and "already exists" in line and "tokenkit vocabulary" in line
    assert "--force" in line
    forced = run("train", "--vocab", "280", str(corpus), "-o", str(out), "--force")
    assert forced.exit_code == 0 and json.loads((out / "tokenkit.json").read_text())["vocab_size"] <= 280


def test_force_never_replaces_files_tokenkit_did_not_write(corpus: Path, tmp_path: Path) -> None:
    """The refusal names what is there and does not push the user to --force (issue 20)."""
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("precious")
    for flags in ((), ("--force",)):
        result = run("train", "--vocab", "300", str(corpus), "-o", str(out), *flags)
        line = error_line(result)
        assert result.exit_code != 0 and "keep.txt" in line and "did not write" in line
        assert "use --force" not in line
        assert (out / "keep.txt").read_text() == "precious"


def test_unwritable_output(corpus: Path, tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    result = run("train", "--vocab", "300", str(corpus), "-o", str(blocker / "out"))
    assert result.exit_code != 0 and "cannot write output" in error_line(result)
    assert blocker.read_text() == "x"


def test_unknown_corpus_lists_known(tmp_path: Path) -> None:
    result = run("train", "--vocab", "300", "no-such-corpus", "-o", str(tmp_path / "o"))
    line = error_line(result)
    assert result.exit_code != 0 and "no-such-corpus" in line and "wagahai" in line and "the-verdict" in line
    result = run("corpora", "path", "no-such-corpus")
    assert result.exit_code != 0 and "wagahai" in error_line(result)


def test_missing_vocabulary(tmp_path: Path) -> None:
    result = run("report", str(tmp_path / "none"), "--text", "x")
    assert result.exit_code != 0 and "not found" in error_line(result)


def test_bad_token_id(vocab_dir: Path) -> None:
    result = run("decode", str(vocab_dir), "99999")
    assert result.exit_code != 0 and "99999" in error_line(result)
    result = run("decode", str(vocab_dir), "abc")
    assert result.exit_code != 0 and "'abc'" in error_line(result)


def test_failed_save_leaves_nothing(corpus: Path, tmp_path: Path, monkeypatch) -> None:
    from tokenkit.backends.hf import HFVocabulary

    def boom(self, directory):
        (directory / "tokenizer.json").write_text("half")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(HFVocabulary, "_write_backend_file", boom)
    out = tmp_path / "out"
    result = run("train", "--vocab", "300", str(corpus), "-o", str(out))
    assert result.exit_code != 0 and "No space left on device" in error_line(result)
    assert not out.exists() and list(tmp_path.iterdir()) == []
