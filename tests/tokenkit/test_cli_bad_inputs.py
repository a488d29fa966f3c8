"""Every bad input to the tokenkit command line: one line on stderr naming the culprit, a
non-zero exit, no traceback, and nothing new (or changed) on disk.

Each row is (id, argv, setup, stdin, culprit): ``setup(tmp)`` writes the bad files into a fresh
directory that is also the working directory; ``{v}``, ``{sp}``, ``{corpus}`` name a good HF
vocabulary, a good sentencepiece vocabulary and a good corpus shared by every row, and ``{tmp}``
the row's own directory. The whole tree (shared and own) is snapshotted before and after.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from tokenkit.cli import main
from tokenkit.training import train_from_texts

from tests.disk import snapshot
from tests.tokenkit.helpers import MIXED_TEXT

Setup = Callable[[Path], None] | None


def write(name: str, content: str | bytes) -> Callable[[Path], None]:
    def setup(tmp: Path) -> None:
        path = tmp / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
    return setup


def both(*setups: Callable[[Path], None]) -> Callable[[Path], None]:
    def setup(tmp: Path) -> None:
        for s in setups:
            s(tmp)
    return setup


def meta(data: object, **files: str | bytes) -> Callable[[Path], None]:
    """A vocabulary directory ``bad/`` whose tokenkit.json is ``data`` (plus extra files)."""
    text = data if isinstance(data, str) else json.dumps(data)
    return both(write("bad/tokenkit.json", text), *(write(f"bad/{k}", v) for k, v in files.items()))


def tiktoken_dir(meta_data: object, ranks: str | bytes = "IQ== 0\n") -> Callable[[Path], None]:
    text = meta_data if isinstance(meta_data, str) else json.dumps(meta_data)
    return both(write("bad/tiktoken.json", text), write("bad/tokenizer.tiktoken", ranks))


def existing_dir(name: str) -> Callable[[Path], None]:
    return write(f"{name}/keep.txt", "keep")


def link(name: str, target: str, *extra: Callable[[Path], None]) -> Callable[[Path], None]:
    """A symbolic link ``name`` -> ``target`` (relative to the row's directory), after ``extra``."""
    def setup(tmp: Path) -> None:
        for s in extra:
            s(tmp)
        path = tmp / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.symlink_to(tmp / target)
    return setup


def copy_vocab(name: str, key: str = "v", *extra: Callable[[Path], None]) -> Callable[[Path], None]:
    """A copy of the shared vocabulary ``key`` at ``name`` (a directory tokenkit wrote)."""
    def setup(tmp: Path) -> None:
        import shutil

        shutil.copytree(Path(SHARED_ROOT[0]) / key, tmp / name)
        for s in extra:
            s(tmp)
    return setup


SHARED_ROOT: list[str] = []


HF = {"backend": "hf", "file": "tokenizer.json"}
LONG = "x" * 6000

CASES: list[tuple[str, list[str], Setup, str | bytes | None, str]] = [
    # -- malformed vocabulary directories and files -------------------------------------------
    ("meta-list", ["report", "bad", "--text", "a"], meta([]), None, "tokenkit.json"),
    ("meta-file-int", ["report", "bad", "--text", "a"], meta({"backend": "hf", "file": 5}), None, "file"),
    ("meta-file-absolute", ["encode", "bad", "--text", "a"],
     meta({"backend": "hf", "file": "/etc/passwd"}), None, "/etc/passwd"),
    ("meta-file-parent", ["encode", "bad", "--text", "a"],
     both(meta({"backend": "hf", "file": "../outside/tokenizer.json"}), write("outside/tokenizer.json", "{}")),
     None, "../outside/tokenizer.json"),
    ("meta-file-dotdot-inside", ["encode", "bad", "--text", "a"],
     meta({"backend": "sentencepiece", "file": "sub/../../spm.model"}), None, "sub/../../spm.model"),
    ("meta-invalid-json", ["encode", "bad", "--text", "a"], meta("{"), None, "tokenkit.json"),
    ("meta-invalid-utf8", ["encode", "bad", "--text", "a"], meta(b"\xff\xfe{}".decode("latin-1")),
     None, "tokenkit.json"),
    ("meta-binary", ["encode", "bad", "--text", "a"], write("bad/tokenkit.json", b"\xff\x00\x81"), None,
     "tokenkit.json"),
    ("meta-unknown-backend", ["encode", "bad", "--text", "a"], meta({"backend": "nope", "file": "x"}),
     None, "nope"),
    ("meta-backend-list", ["encode", "bad", "--text", "a"], meta({"backend": [1], "file": "x"}), None,
     "backend"),
    ("meta-missing-file", ["encode", "bad", "--text", "a"], meta(HF), None, "tokenizer.json"),
    ("meta-garbage-tokenizer", ["encode", "bad", "--text", "a"], meta(HF, **{"tokenizer.json": "garbage"}),
     None, "tokenizer.json"),
    ("meta-tokenizer-is-list", ["encode", "bad", "--text", "a"], meta(HF, **{"tokenizer.json": "[]"}),
     None, "tokenizer.json"),
    ("meta-specials-string", ["encode", "bad", "--text", "a"],
     meta({"backend": "sentencepiece", "file": "spm.model", "special_tokens": 7}, **{"spm.model": b"x"}),
     None, "bad"),
    ("meta-is-directory", ["encode", "bad", "--text", "a"], write("bad/tokenkit.json/x", "x"), None,
     "tokenkit.json"),
    ("sp-empty-model-in-dir", ["encode", "bad", "--text", "a"],
     meta({"backend": "sentencepiece", "file": "spm.model"}, **{"spm.model": b""}), None, "spm.model"),
    ("sp-empty-model-file", ["report", "empty.model", "--text", "a"], write("empty.model", b""), None,
     "empty.model"),
    ("sp-garbage-model-file", ["report", "junk.model", "--text", "a"], write("junk.model", b"\x0a\x05junk"),
     None, "junk.model"),
    ("hf-json-empty", ["encode", "t.json", "--text", "a"], write("t.json", ""), None, "t.json"),
    ("hf-json-list", ["encode", "t.json", "--text", "a"], write("t.json", "[]"), None, "t.json"),
    ("tiktoken-meta-list", ["encode", "bad", "--text", "a"], tiktoken_dir([]), None, "tiktoken.json"),
    ("tiktoken-pat-int", ["encode", "bad", "--text", "a"],
     tiktoken_dir({"pat_str": 5, "special_tokens": {}}), None, "bad"),
    ("tiktoken-bad-regex", ["encode", "bad", "--text", "a"],
     tiktoken_dir({"pat_str": "(", "special_tokens": {}}), None, "bad"),
    ("tiktoken-specials-str", ["encode", "bad", "--text", "a"],
     tiktoken_dir({"pat_str": "\\w+", "special_tokens": "x"}), None, "bad"),
    ("tiktoken-ranks-garbage", ["encode", "bad", "--text", "a"],
     tiktoken_dir({"pat_str": "\\w+", "special_tokens": {}}, "zzz not base64\n"), None, "bad"),
    ("tiktoken-ranks-binary", ["encode", "bad", "--text", "a"],
     tiktoken_dir({"pat_str": "\\w+", "special_tokens": {}}, b"\xff\xfe\x00"), None, "bad"),
    ("gpt2-files-garbage", ["encode", "bad", "--text", "a"],
     both(write("bad/encoder.json", "[]"), write("bad/vocab.bpe", "x y\n")), None, "bad"),
    ("empty-vocab-dir", ["encode", "bad", "--text", "a"], write("bad/readme.txt", "x"), None, "bad"),
    # -- vocabulary specs ---------------------------------------------------------------------
    ("spec-too-long", ["encode", LONG, "--text", "a"], None, None, "xxxxxxxx"),
    ("spec-nul", ["encode", "a\x00b", "--text", "a"], None, None, "NUL"),
    ("spec-tiktoken-empty", ["encode", "tiktoken:", "--text", "a"], None, None, "tiktoken:"),
    ("spec-tiktoken-unknown", ["encode", "tiktoken:nope", "--text", "a"], None, None, "nope"),
    ("spec-hf-empty", ["encode", "hf:", "--text", "a"], None, None, "hf:"),
    ("spec-missing", ["report", "no-such-vocab", "--text", "a"], None, None, "no-such-vocab"),
    ("spec-empty", ["report", "", "--text", "a"], None, None, "empty"),
    ("spec-text-file", ["report", "{corpus}", "--text", "a"], None, None, "corpus.txt"),
    ("spec-tiktoken-long", ["encode", "tiktoken:" + LONG, "--text", "a"], None, None, "xxxxxxxx"),
    # -- text input ---------------------------------------------------------------------------
    ("surrogate-encode-sp", ["encode", "{sp}", "--text", "a\ud800b"], None, None, "surrogate"),
    ("surrogate-encode-hf", ["encode", "{v}", "--text", "a\udcffb"], None, None, "surrogate"),
    ("surrogate-report", ["report", "{v}", "--text", "\ud83d"], None, None, "surrogate"),
    ("surrogate-report-sp", ["report", "{sp}", "--text", "\ud83d"], None, None, "surrogate"),
    ("surrogate-oov", ["oov", "{v}", "--text", "x\ud800"], None, None, "surrogate"),
    ("no-text-or-file", ["encode", "{v}"], None, None, "--text"),
    ("text-and-file", ["encode", "{v}", "--text", "a", "--file", "{corpus}"], None, None, "--text"),
    ("file-missing", ["report", "{v}", "--file", "missing.txt"], None, None, "missing.txt"),
    ("file-binary", ["report", "{v}", "--file", "bin.txt"], write("bin.txt", b"ab\x00cd"), None, "bin.txt"),
    ("file-invalid-utf8", ["oov", "{v}", "--file", "bad.txt"], write("bad.txt", b"ok \xff no"), None,
     "bad.txt"),
    ("file-is-dir-of-two", ["encode", "{v}", "--file", "d"], both(write("d/a.txt", "a"), write("d/b.txt", "b")),
     None, "d"),
    ("file-name-too-long", ["encode", "{v}", "--file", LONG], None, None, "xxxxxxxx"),
    ("allow-special-unknown", ["encode", "{v}", "--text", "a", "--allow-special", "<nope>"], None, None,
     "<nope>"),
    ("oov-emoji-and-text", ["oov", "{v}", "--emoji", "--text", "a"], None, None, "--emoji"),
    # -- decode ---------------------------------------------------------------------------------
    ("decode-float-bool", ["decode", "{v}", "-"], None, "[72.9, true]", "72.9"),
    ("decode-bool", ["decode", "{v}", "-"], None, "[true]", "True"),
    ("decode-ids-null", ["decode", "{v}", "-"], None, '{"ids": null}', "ids"),
    ("decode-ids-string", ["decode", "{v}", "-"], None, '{"ids": "12"}', "ids"),
    ("decode-ids-nested", ["decode", "{v}", "-"], None, "[[1, 2]]", "[1, 2]"),
    ("decode-object-without-ids", ["decode", "{v}", "-"], None, '{"text": 1}', "ids"),
    ("decode-infinity", ["decode", "{v}", "-"], None, "[1e400]", "inf"),
    ("decode-nan", ["decode", "{v}", "-"], None, "[NaN]", "nan"),
    ("decode-negative", ["decode", "{v}", "-1"], None, None, "-1"),
    ("decode-huge", ["decode", "{v}", "9" * 30], None, None, "9" * 30),
    ("decode-word", ["decode", "{v}", "abc"], None, None, "abc"),
    ("decode-fraction", ["decode", "{v}", "1.5"], None, None, "1.5"),
    ("decode-no-ids", ["decode", "{v}"], None, None, "ids"),
    ("decode-empty-stdin", ["decode", "{v}", "-"], None, "", "ids"),
    ("decode-stdin-invalid-utf8", ["decode", "{v}", "-"], None, b"[1, \xff]", "UTF-8"),
    # -- train ----------------------------------------------------------------------------------
    ("train-vocab-zero", ["train", "--vocab", "0", "{corpus}", "-o", "out"], None, None, "--vocab"),
    ("train-vocab-negative", ["train", "--vocab", "-5", "{corpus}", "-o", "out"], None, None, "--vocab"),
    ("train-vocab-word", ["train", "--vocab", "x", "{corpus}", "-o", "out"], None, None, "--vocab"),
    ("train-vocab-below-alphabet", ["train", "--vocab", "10", "{corpus}", "-o", "out"], None, None, "minimum"),
    ("train-missing-source", ["train", "--vocab", "300", "nope.txt", "-o", "out"], None, None, "nope.txt"),
    ("train-jsonl-lone-surrogate", ["train", "--vocab", "300", "d.jsonl", "-o", "out"],
     write("d.jsonl", '{"text": "fine"}\n{"text": "a\\ud800b"}\n'), None, "d.jsonl line 2"),
    ("train-jsonl-not-json", ["train", "--vocab", "300", "d.jsonl", "-o", "out"],
     write("d.jsonl", '{"text": "fine"}\n{"text": \n'), None, "d.jsonl line 2"),
    ("train-jsonl-no-field", ["train", "--vocab", "300", "d.jsonl", "--text-field", "body", "-o", "out"],
     write("d.jsonl", '{"text": "fine"}\n'), None, "'body'"),
    ("train-text-field-empty", ["train", "--vocab", "300", "{corpus}", "--text-field", "", "-o", "out"],
     None, None, "--text-field"),
    ("report-jsonl-gz-not-gzip", ["report", "{v}", "--file", "d.jsonl.gz"], write("d.jsonl.gz", b"not gzip"),
     None, "d.jsonl.gz"),
    ("train-empty-source", ["train", "--vocab", "300", "empty.txt", "-o", "out"], write("empty.txt", ""),
     None, "empty.txt"),
    ("train-binary-source", ["train", "--vocab", "300", "b.bin", "-o", "out"], write("b.bin", b"\x00\x01"),
     None, "b.bin"),
    ("train-invalid-utf8", ["train", "--vocab", "300", "b.txt", "-o", "out"], write("b.txt", b"abc \xc3("),
     None, "b.txt"),
    ("train-empty-dir", ["train", "--vocab", "300", "d", "-o", "out"], write("d/.hidden", "x"), None, "d"),
    ("train-output-exists", ["train", "--vocab", "300", "{corpus}", "-o", "out"], existing_dir("out"),
     None, "out"),
    ("train-output-cwd", ["train", "--vocab", "300", "{corpus}", "-o", ".", "--force"], None, None, "."),
    ("train-output-parent", ["train", "--vocab", "300", "{corpus}", "-o", "..", "--force"], None, None, ".."),
    ("train-output-is-input", ["train", "--vocab", "300", "c.txt", "-o", "c.txt", "--force"],
     write("c.txt", MIXED_TEXT), None, "c.txt"),
    ("train-output-contains-input", ["train", "--vocab", "300", "d/c.txt", "-o", "d", "--force"],
     write("d/c.txt", MIXED_TEXT), None, "d"),
    ("train-output-under-file", ["train", "--vocab", "300", "{corpus}", "-o", "f.txt/out"],
     write("f.txt", "x"), None, "f.txt"),
    ("train-output-name-too-long", ["train", "--vocab", "300", "{corpus}", "-o", LONG], None, None,
     "xxxxxxxx"),
    ("train-coverage", ["train", "--vocab", "300", "{corpus}", "--backend", "sentencepiece",
                        "--character-coverage", "2", "-o", "out"], None, None, "--character-coverage"),
    ("train-coverage-nan", ["train", "--vocab", "300", "{corpus}", "--backend", "sentencepiece",
                            "--character-coverage", "nan", "-o", "out"], None, None, "--character-coverage"),
    ("train-min-frequency", ["train", "--vocab", "300", "{corpus}", "--min-frequency", "-1", "-o", "out"],
     None, None, "--min-frequency"),
    ("train-duplicate-specials", ["train", "--vocab", "300", "{corpus}", "--special-tokens", "a,a",
                                  "-o", "out"], None, None, "--special-tokens"),
    ("train-sp-observed", ["train", "--vocab", "300", "{corpus}", "--backend", "sentencepiece",
                           "--alphabet", "observed", "-o", "out"], None, None, "--alphabet"),
    ("train-normalization", ["train", "--vocab", "300", "{corpus}", "--normalization", "bogus", "-o", "out"],
     None, None, "bogus"),
    ("train-errors-choice", ["train", "--vocab", "300", "{corpus}", "--errors", "ignore", "-o", "out"],
     None, None, "--errors"),
    ("train-backend-choice", ["train", "--vocab", "300", "{corpus}", "--backend", "bpe", "-o", "out"],
     None, None, "--backend"),
    ("train-surrogate-special", ["train", "--vocab", "300", "{corpus}", "--special-tokens", "\ud800",
                                 "-o", "out"], None, None, "surrogate"),
    # -- --force replaces only a vocabulary tokenkit wrote (issue 20, class 1) -------------------
    ("train-force-foreign-dir", ["train", "--vocab", "300", "{corpus}", "-o", "out", "--force"],
     both(write("out/thesis.txt", "my thesis"), write("out/src/main.c", "int main;")), None,
     "thesis.txt"),
    ("train-force-foreign-dir-lists-subdir", ["train", "--vocab", "300", "{corpus}", "-o", "out",
                                              "--force"], write("out/src/main.c", "x"), None, "src/"),
    ("train-force-vocab-plus-notes", ["train", "--vocab", "300", "{corpus}", "-o", "out", "--force"],
     copy_vocab("out", "v", write("out/notes.txt", "mine")), None, "notes.txt"),
    ("train-force-fake-manifest", ["train", "--vocab", "300", "{corpus}", "-o", "out", "--force"],
     both(write("out/tokenkit.json", "{}"), write("out/data.csv", "1,2")), None, "data.csv"),
    ("train-force-symlink-out", ["train", "--vocab", "300", "{corpus}", "-o", "out", "--force"],
     link("out", "elsewhere", write("elsewhere/x.txt", "x")), None, "out"),
    ("train-exists-says-what", ["train", "--vocab", "300", "{corpus}", "-o", "out"],
     copy_vocab("out"), None, "tokenkit vocabulary"),
    ("export-force-foreign-dir", ["export", "{v}", "--format", "hf", "-o", "out", "--force"],
     write("out/thesis.txt", "x"), None, "thesis.txt"),
    ("export-tiktoken-force-foreign", ["export", "{v}", "--format", "tiktoken", "-o", "out", "--force"],
     write("out/thesis.txt", "x"), None, "thesis.txt"),
    ("bench-force-csv-is-corpus", ["bench", "{v}", "--corpus", "c.txt", "--csv", "c.txt", "--force"],
     write("c.txt", MIXED_TEXT), None, "c.txt"),
    ("bench-force-json-is-vocab-file", ["bench", "t/tokenizer.json", "--corpus", "{corpus}", "--json",
                                        "t/tokenizer.json", "--force"], copy_vocab("t"), None, "tokenizer.json"),
    ("sweep-force-csv-is-corpus", ["sweep", "c.txt", "--vocab", "300", "--csv", "c.txt", "--force"],
     write("c.txt", MIXED_TEXT), None, "c.txt"),
    ("sweep-force-plot-is-corpus", ["sweep", "c.png", "--vocab", "300", "--plot", "c.png", "--force"],
     write("c.png", MIXED_TEXT), None, "c.png"),
    # -- vocabulary files must be the directory's own (issue 20, classes 5 and 6) ---------------
    ("link-tokenizer-json-out", ["encode", "bad", "--text", "a"],
     link("bad/tokenizer.json", "secret/tokenizer.json", copy_vocab("secret")), None, "outside"),
    ("link-meta-file-out", ["encode", "bad", "--text", "a"],
     both(meta(HF), link("bad/tokenizer.json", "secret/tokenizer.json", copy_vocab("secret"))), None,
     "outside"),
    ("link-tokenkit-json-out", ["encode", "bad", "--text", "a"],
     link("bad/tokenkit.json", "secret/tokenkit.json", copy_vocab("secret")), None, "tokenkit.json"),
    ("link-sp-model-out", ["encode", "bad", "--text", "a"],
     link("bad/x.model", "secret/spm.model", copy_vocab("secret", "sp")), None, "outside"),
    ("link-tiktoken-ranks-out", ["encode", "bad", "--text", "a"],
     link("bad/tokenizer.tiktoken", "r.tiktoken",
          write("bad/tiktoken.json", json.dumps({"pat_str": "\\w+", "special_tokens": {}})),
          write("r.tiktoken", "IQ== 0\n")), None, "outside"),
    ("link-gpt2-encoder-out", ["encode", "bad", "--text", "a"],
     link("bad/encoder.json", "e.json", write("bad/vocab.bpe", "#version\n"), write("e.json", "{}")),
     None, "outside"),
    ("link-tokenizer-json-dangling", ["encode", "t.json", "--text", "a"],
     link("t.json", "fifo"), None, "t.json"),
    # -- decode ids out of range on every backend -----------------------------------------------
    ("decode-id-too-big-sp", ["decode", "{sp}", "100000"], None, None, "100000"),
    ("decode-id-json-float-hf", ["decode", "{v}", "-"], None, "[1.5]", "1.5"),
    # -- bench, sweep, export, corpora -------------------------------------------------------------
    ("bench-no-corpus", ["bench", "{v}"], None, None, "--corpus"),
    ("bench-missing-vocab", ["bench", "nope", "--corpus", "{corpus}"], None, None, "nope"),
    ("bench-missing-corpus", ["bench", "{v}", "--corpus", "nope.txt"], None, None, "nope.txt"),
    ("bench-csv-is-dir", ["bench", "{v}", "--corpus", "{corpus}", "--csv", "d"], existing_dir("d"), None, "d"),
    ("bench-csv-missing-parent", ["bench", "{v}", "--corpus", "{corpus}", "--csv", "f.txt/x.csv"],
     write("f.txt", "x"), None, "f.txt"),
    ("bench-plot-bad-suffix", ["bench", "{v}", "--corpus", "{corpus}", "--plot", "p.xyz"], None, None,
     "p.xyz"),
    ("bench-allow-unknown", ["bench", "{v}", "--corpus", "{corpus}", "--allow-special", "<nope>"], None,
     None, "<nope>"),
    ("sweep-sizes-words", ["sweep", "{corpus}", "--vocab", "a,b"], None, None, "--vocab"),
    ("sweep-size-zero", ["sweep", "{corpus}", "--vocab", "0"], None, None, "0"),
    ("sweep-heldout-big", ["sweep", "{corpus}", "--vocab", "300", "--heldout", "1.5"], None, None,
     "heldout"),
    ("sweep-heldout-nan", ["sweep", "{corpus}", "--vocab", "300", "--heldout", "nan"], None, None,
     "heldout"),
    ("sweep-missing-corpus", ["sweep", "nope.txt", "--vocab", "300"], None, None, "nope.txt"),
    ("sweep-plot-bad-suffix", ["sweep", "{corpus}", "--vocab", "300", "--plot", "p.xyz"], None, None,
     "p.xyz"),
    ("export-format", ["export", "{v}", "--format", "onnx"], None, None, "--format"),
    ("export-exists", ["export", "{v}", "--format", "hf", "-o", "out"], existing_dir("out"), None, "out"),
    ("export-sp-tiktoken", ["export", "{sp}", "--format", "tiktoken", "-o", "out"], None, None,
     "not a byte-level BPE"),
    ("export-output-cwd", ["export", "{v}", "--format", "hf", "-o", ".", "--force"], None, None, "."),
    ("corpora-path-unknown", ["corpora", "path", "nope"], None, None, "nope"),
    ("corpora-fetch-unknown", ["corpora", "fetch", "nope"], None, None, "nope"),
    ("unknown-command", ["frobnicate"], None, None, "frobnicate"),
    ("unknown-option", ["encode", "{v}", "--txt", "a"], None, None, "--txt"),
]


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    root = tmp_path_factory.mktemp("shared")
    train_from_texts([MIXED_TEXT], 400, special_tokens=["<|endoftext|>", "<eos>"]).vocabulary.save(root / "v")
    train_from_texts([MIXED_TEXT], 600, backend="sentencepiece",
                     special_tokens=["<eos>"]).vocabulary.save(root / "sp")
    (root / "corpus.txt").write_text(MIXED_TEXT, encoding="utf-8")
    SHARED_ROOT[:] = [str(root)]
    return {"v": str(root / "v"), "sp": str(root / "sp"), "corpus": str(root / "corpus.txt"),
            "root": str(root)}




def test_there_are_enough_cases() -> None:
    assert len(CASES) >= 60
    assert len({c[0] for c in CASES}) == len(CASES)
    commands = {c[1][0] for c in CASES}
    assert {"train", "report", "oov", "encode", "decode", "bench", "sweep", "export", "corpora"} <= commands


@pytest.mark.parametrize("case_id,argv,setup,stdin,culprit", CASES, ids=[c[0] for c in CASES])
def test_bad_input_is_one_line(case_id, argv, setup, stdin, culprit, shared, tmp_path, monkeypatch):
    work = tmp_path / "work"
    work.mkdir()
    if setup is not None:
        setup(work)
    monkeypatch.chdir(work)
    monkeypatch.setenv("TOKENKIT_DEBUG", "")
    monkeypatch.setenv("TOKENKIT_CORPORA", str(work / "no-corpora"))
    args = [a.format(tmp=work, **shared) if "{" in a and "\x00" not in a else a for a in argv]
    before = snapshot(work, Path(shared["root"]))
    result = CliRunner().invoke(main, args, input=stdin)
    after = snapshot(work, Path(shared["root"]))
    stderr = result.stderr
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert result.exit_code not in (0, None), (case_id, result.output)
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.output and "Traceback" not in stderr
    assert len(lines) == 1, (case_id, stderr)
    assert lines[0].startswith("Error: "), lines[0]
    assert culprit in lines[0], (case_id, culprit, lines[0])
    assert "--debug" not in lines[0], lines[0]  # not the adapter's "failed unexpectedly" line
    assert after == before, sorted(set(after) ^ set(before))


@pytest.mark.parametrize("argv", [["train", "--vocab", "300", "{corpus}"], ["export", "{v}", "--format", "hf"],
                                  ["export", "{v}", "--format", "tiktoken"]])
def test_force_never_replaces_the_home_directory(argv, shared, tmp_path, monkeypatch):
    """Even a home directory that looks like a vocabulary tokenkit wrote is never replaced."""
    home = tmp_path / "home"
    copy_vocab("home")(tmp_path)
    (tmp_path / "work").mkdir()
    monkeypatch.chdir(tmp_path / "work")
    monkeypatch.setenv("HOME", str(home))
    before = snapshot(tmp_path)
    args = [a.format(**shared) for a in argv] + ["-o", str(home), "--force"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 1 and "home directory" in result.stderr, result.output
    assert snapshot(tmp_path) == before


def test_force_replaces_a_vocabulary_tokenkit_wrote(shared, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    copy_vocab("out")(tmp_path)
    corpus = shared["corpus"]
    result = CliRunner().invoke(main, ["train", "--vocab", "300", corpus, "-o", "out", "--force", "-q"])
    assert result.exit_code == 0, result.output
    assert json.loads((tmp_path / "out" / "tokenkit.json").read_text())["vocab_size"] <= 300
    for fmt in ("hf", "tiktoken"):  # an export, twice: the second --force replaces the first
        for _ in range(2):
            result = CliRunner().invoke(main, ["export", "out", "--format", fmt, "-o", f"x-{fmt}",
                                               "--force"])
            assert result.exit_code == 0, result.output
