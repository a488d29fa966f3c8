"""Every bad input to the gptcore command line: one line on stderr naming the culprit, a
non-zero exit, no traceback, and nothing new (or changed) on disk.

Rows are (id, argv, setup, culprit). ``{ckpt}``, ``{hf}``, ``{vocab}``, ``{big}`` and
``{corpus}`` name a good tiny checkpoint, a good HF GPT-2 directory, its vocabulary, a larger
vocabulary and a text shared by every row; ``setup(work, shared)`` writes the row's bad files
(often a broken copy of the checkpoint or HF directory, at ``bad``) into its own working
directory. Both trees are snapshotted before and after. ``pretrain``'s own cases (batch size 0,
``--steps -5``, ``--val-fraction 1.5``, resume) belong to the training rewrite.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner
from safetensors.torch import load_file, save_file

from gptcore.kit import testing
from gptcore.runs.checkpoint import file_record, save_checkpoint
from gptcore.cli import main

from tests.disk import snapshot
from tests.gptcore.helpers import TEXT, save_hf_gpt2, train_vocab

Shared = dict[str, str]
Setup = Callable[[Path, Shared], None] | None


def copy(key: str) -> Callable[[Path, Shared], None]:
    def setup(work: Path, shared: Shared) -> None:
        shutil.copytree(shared[key], work / "bad")
    return setup


def edit_json(key: str, file: str, change: Callable[[dict], object]) -> Callable[[Path, Shared], None]:
    """A copy of ``shared[key]`` at ``bad`` whose ``file`` is ``change(data)`` (or edited in place)."""
    def setup(work: Path, shared: Shared) -> None:
        copy(key)(work, shared)
        path = work / "bad" / file
        data = json.loads(path.read_text())
        new = change(data)
        path.write_text(json.dumps(data if new is None else new) if not isinstance(new, str) else new)
    return setup


def ckpt_config(**values: object) -> Callable[[Path, Shared], None]:
    return edit_json("ckpt", "checkpoint.json", lambda d: d["config"].update(values))


def hf_config(**values: object) -> Callable[[Path, Shared], None]:
    return edit_json("hf", "config.json", lambda d: d.update(values))


def edit_weights(key: str, file: str, change: Callable[[dict], None]) -> Callable[[Path, Shared], None]:
    def setup(work: Path, shared: Shared) -> None:
        copy(key)(work, shared)
        path = work / "bad" / file
        tensors = load_file(str(path))
        change(tensors)
        save_file(tensors, str(path))
        meta_path = work / "bad" / "checkpoint.json"
        if meta_path.is_file():  # a crafted checkpoint records its crafted file: the tensors are judged
            meta = json.loads(meta_path.read_text())
            meta["files"][file] = file_record(path)
            meta_path.write_text(json.dumps(meta))
    return setup


def nan_weights(tensors: dict) -> None:
    name = next(k for k, v in tensors.items() if v.is_floating_point() and v.dim() == 2)
    tensors[name][0, 0] = float("nan")


def int8_weights(tensors: dict) -> None:
    name = next(k for k, v in tensors.items() if v.dim() == 2)
    tensors[name] = tensors[name].to(torch.int8)


def write(name: str, content: str | bytes) -> Callable[[Path, Shared], None]:
    def setup(work: Path, shared: Shared) -> None:
        path = work / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content if isinstance(content, bytes) else content.encode())
    return setup


G = ["generate", "{ckpt}", "--prompt", "the quick"]
N = ["next", "{ckpt}", "--prompt", "the quick"]
D = ["diversity", "{ckpt}", "--prompt", "the quick", "--n", "2", "--max-new-tokens", "2"]
BAD = ["generate", "bad", "--tokenizer", "{vocab}", "--prompt", "the", "--max-new-tokens", "1"]
P = ["prepare", "--tokenizer", "{vocab}", "--data", "{corpus}", "--out", "shards"]
E = ["eval", "{ckpt}", "--data", "{corpus}"]
PRE = ["pretrain", "--preset", "gpt2-tiny", "--set", "emb_dim=32", "--set", "n_layers=1", "--set", "n_heads=2",
       "--set", "context_length=16", "--tokenizer", "{vocab}", "--data", "{corpus}", "--steps", "2",
       "--batch-size", "2", "--sample-tokens", "0"]
PR = PRE + ["--out", "run"]
RESUME = ["pretrain", "--resume", "--out", "run", "--steps", "3"]


def thesis(work: Path, shared: Shared) -> None:
    """A user's own files in the working directory."""
    (work / "thesis.txt").write_text("three years of work")
    (work / "src").mkdir()
    (work / "src" / "main.py").write_text("print('mine')")


def run_copy(*, extra: str | None = None) -> Callable[[Path, Shared], None]:
    """The shared run at ``run`` (plus a user's file ``extra`` inside it)."""
    def setup(work: Path, shared: Shared) -> None:
        shutil.copytree(shared["run"], work / "run")
        if extra:
            (work / "run" / extra).write_text("mine")
    return setup


def lock_symlink(work: Path, shared: Shared) -> None:
    run_copy()(work, shared)
    (work / "target.txt").write_text("not the run's")
    (work / "run" / ".lock").unlink()
    (work / "run" / ".lock").symlink_to(work / "target.txt")


def older_weights(work: Path, shared: Shared) -> None:
    """The newest checkpoint's model.safetensors replaced by the previous step's."""
    run_copy()(work, shared)
    steps = work / "run" / "checkpoints"
    shutil.copy(steps / "step-00000001" / "model.safetensors", steps / "step-00000002" / "model.safetensors")


def shards_copy(change: Callable[[Path], None]) -> Callable[[Path, Shared], None]:
    def setup(work: Path, shared: Shared) -> None:
        shutil.copytree(shared["shards"], work / "bad")
        change(work / "bad")
    return setup


def id_out_of_range(path: Path) -> None:
    import numpy as np

    shard = path / "train-00000.bin"
    ids = np.fromfile(shard, dtype="<u2")
    ids[5] = 60000  # above the 300-id vocabulary (and the model's embedding)
    ids.tofile(shard)


def shard_name(name: str) -> Callable[[Path], None]:
    def change(path: Path) -> None:
        manifest = json.loads((path / "manifest.json").read_text())
        manifest["splits"]["train"]["shards"][0]["file"] = name
        (path / "manifest.json").write_text(json.dumps(manifest))
    return change


def shard_symlink(path: Path) -> None:
    shard = path / "train-00000.bin"
    outside = path.parent / "outside.bin"
    shutil.copy(shard, outside)
    shard.unlink()
    shard.symlink_to(outside)


def an_export(work: Path, shared: Shared) -> None:
    """An earlier export of the checkpoint at ``exp`` (so ``--force`` would recognise it)."""
    done = CliRunner().invoke(main, ["export", shared["ckpt"], str(work / "exp")])
    assert done.exit_code == 0, done.output


def vocab_symlink(work: Path, shared: Shared) -> None:
    run_copy()(work, shared)
    vocab = work / "run" / "vocab"
    target = next(p for p in vocab.iterdir() if p.suffix == ".json" and p.name != "tokenkit.json")
    outside = work / "elsewhere.json"
    shutil.copy(target, outside)
    target.unlink()
    target.symlink_to(outside)

CASES: list[tuple[str, list[str], Setup, str]] = [
    # -- generate: values ------------------------------------------------------------------------
    ("gen-max-new-tokens-negative", G + ["--max-new-tokens", "-1"], None, "--max-new-tokens"),
    ("gen-max-new-tokens-zero", G + ["--max-new-tokens", "0"], None, "--max-new-tokens"),
    ("gen-max-new-tokens-word", G + ["--max-new-tokens", "x"], None, "--max-new-tokens"),
    ("gen-n-zero", G + ["-n", "0"], None, "-n"),
    ("gen-temperature-nan", G + ["--temperature", "nan"], None, "temperature"),
    ("gen-temperature-negative", G + ["--temperature", "-1"], None, "temperature"),
    ("gen-temperature-inf", G + ["--temperature", "inf"], None, "temperature"),
    ("gen-top-k-zero", G + ["--top-k", "0"], None, "top_k"),
    ("gen-top-k-negative", G + ["--top-k", "-3"], None, "top_k"),
    ("gen-top-p-big", G + ["--top-p", "1.5"], None, "top_p"),
    ("gen-top-p-nan", G + ["--top-p", "nan"], None, "top_p"),
    ("gen-min-p-negative", G + ["--min-p", "-0.1"], None, "min_p"),
    ("gen-epsilon-big", G + ["--epsilon", "2"], None, "epsilon"),
    ("gen-repetition-zero", G + ["--repetition-penalty", "0"], None, "repetition_penalty"),
    ("gen-repetition-nan", G + ["--repetition-penalty", "nan"], None, "repetition_penalty"),
    ("gen-prompt-empty", ["generate", "{ckpt}", "--prompt", ""], None, "--prompt"),
    ("gen-prompt-surrogate", ["generate", "{ckpt}", "--prompt", "a\ud800"], None, "surrogate"),
    ("gen-stop-surrogate", G + ["--stop", "\udfff"], None, "--stop"),
    ("gen-eos-negative", G + ["--eos-id", "-1"], None, "--eos-id"),
    ("gen-eos-huge", G + ["--eos-id", "1000000000"], None, "1000000000"),
    ("gen-seed-negative", G + ["--seed", "-1"], None, "--seed"),
    ("gen-seed-huge", G + ["--seed", str(1 << 70)], None, "--seed"),
    ("gen-allow-special-chat", G + ["--chat", "--allow-special", "<eos>"], None, "--allow-special"),
    ("gen-allow-special-unknown", G + ["--allow-special", "<nope>"], None, "<nope>"),
    ("gen-unknown-option", G + ["--temprature", "1"], None, "--temprature"),
    ("gen-no-prompt", ["generate", "{ckpt}"], None, "--prompt"),
    # -- generate: models and vocabularies --------------------------------------------------------
    ("gen-model-missing", ["generate", "nope-model", "--prompt", "a"], None, "nope-model"),
    ("gen-tokenizer-missing", G + ["--tokenizer", "nope-vocab"], None, "nope-vocab"),
    ("gen-tokenizer-too-big", G + ["--tokenizer", "{big}"], None, "vocab"),
    ("gen-loader-unknown", G + ["--loader", "bogus"], None, "bogus"),
    ("ckpt-meta-list", BAD, edit_json("ckpt", "checkpoint.json", lambda d: []), "checkpoint.json"),
    ("ckpt-meta-invalid", BAD, edit_json("ckpt", "checkpoint.json", lambda d: "{not json"), "checkpoint.json"),
    ("ckpt-meta-binary", BAD, None, "checkpoint.json"),
    ("ckpt-emb-dim-word", BAD, ckpt_config(emb_dim="x"), "emb_dim"),
    ("ckpt-context-huge", BAD, ckpt_config(context_length=10 ** 12), "context_length"),
    ("ckpt-context-float", BAD, ckpt_config(context_length=1e12), "context_length"),
    ("ckpt-vocab-huge", BAD, ckpt_config(vocab_size=10 ** 12), "vocab_size"),
    ("ckpt-layers-huge", BAD, ckpt_config(n_layers=10 ** 6), "n_layers"),
    ("ckpt-params-huge", BAD, ckpt_config(emb_dim=65536, n_heads=1, n_layers=1000), "parameters"),
    ("ckpt-dropout-nan", BAD, ckpt_config(dropout=float("nan")), "dropout"),
    ("ckpt-tie-string", BAD, ckpt_config(tie_weights="yes"), "tie_weights"),
    ("ckpt-unknown-field", BAD, ckpt_config(n_experts=8), "n_experts"),
    ("ckpt-architecture", BAD, edit_json("ckpt", "checkpoint.json", lambda d: d.update(architecture="nope-arch")),
     "nope-arch"),
    ("ckpt-version", BAD, edit_json("ckpt", "checkpoint.json", lambda d: d.update(version=99)), "version"),
    ("ckpt-weights-garbage", BAD, None, "model.safetensors"),
    ("ckpt-weights-missing", BAD, None, "model.safetensors"),
    ("ckpt-weights-nan", BAD, edit_weights("ckpt", "model.safetensors", nan_weights), "NaN"),
    ("ckpt-weights-int8", BAD, edit_weights("ckpt", "model.safetensors", int8_weights), "int8"),
    ("ckpt-vocabulary-gone", ["generate", "bad", "--prompt", "a"],
     edit_json("ckpt", "checkpoint.json", lambda d: d.update(vocabulary="gone-vocab")), "gone-vocab"),
    ("hf-n-embd-word", BAD, hf_config(n_embd="x"), "n_embd"),
    ("hf-n-positions-huge", BAD, hf_config(n_positions=1e12), "n_positions"),
    ("hf-n-positions-int-huge", BAD, hf_config(n_positions=10 ** 12), "n_positions"),
    ("hf-config-list", BAD, edit_json("hf", "config.json", lambda d: "[]"), "bad"),
    ("hf-n-head-zero", BAD, hf_config(n_head=0), "n_head"),
    ("hf-n-layer-negative", BAD, hf_config(n_layer=-1), "n_layer"),
    ("hf-vocab-huge", BAD, hf_config(vocab_size=10 ** 12), "vocab_size"),
    ("hf-pdrop-word", BAD, hf_config(resid_pdrop="a"), "resid_pdrop"),
    ("hf-tie-string", BAD, hf_config(tie_word_embeddings="yes"), "tie_word_embeddings"),
    ("hf-activation-int", BAD, hf_config(activation_function=5), "activation_function"),
    ("hf-missing-field", BAD, edit_json("hf", "config.json", lambda d: d.pop("n_embd") and None), "n_embd"),
    ("hf-weights-nan", BAD, edit_weights("hf", "model.safetensors", nan_weights), "NaN"),
    ("hf-weights-int8", BAD, edit_weights("hf", "model.safetensors", int8_weights), "int8"),
    # -- next, diversity ------------------------------------------------------------------------------
    ("next-top-k-zero", N + ["--top-k", "0"], None, "--top-k"),
    ("next-temperature-zero", N + ["--temperature", "0"], None, "--temperature"),
    ("next-temperature-nan", N + ["--temperature", "nan"], None, "--temperature"),
    ("next-prompt-surrogate", ["next", "{ckpt}", "--prompt", "\ud800"], None, "surrogate"),
    ("next-prompt-empty", ["next", "{ckpt}", "--prompt", ""], None, "--prompt"),
    ("next-plot-suffix", N + ["--plot", "p.xyz"], None, "p.xyz"),
    ("next-plot-directory", N + ["--plot", "d"], write("d/keep", "x"), "d"),
    ("next-plot-under-file", N + ["--plot", "f.txt/p.png"], write("f.txt", "x"), "f.txt"),
    ("next-allow-unknown", N + ["--allow-special", "<nope>"], None, "<nope>"),
    ("div-n-one", ["diversity", "{ckpt}", "--prompt", "a", "--n", "1"], None, "--n"),
    ("div-temperature-nan", D + ["--temperature", "nan"], None, "temperature"),
    ("div-top-p-big", D + ["--top-p", "2"], None, "top_p"),
    ("div-max-new-tokens-zero", ["diversity", "{ckpt}", "--prompt", "a", "--max-new-tokens", "0"], None,
     "--max-new-tokens"),
    ("div-prompt-surrogate", ["diversity", "{ckpt}", "--prompt", "\udc00"], None, "surrogate"),
    ("div-seed-negative", D + ["--seed", "-2"], None, "--seed"),
    # -- export ---------------------------------------------------------------------------------------
    ("export-format", ["export", "{ckpt}", "out", "--format", "onnx"], None, "onnx"),
    ("export-model-missing", ["export", "nope-model", "out"], None, "nope-model"),
    ("export-exists", ["export", "{ckpt}", "out"], write("out/keep", "x"), "out"),
    ("export-under-file", ["export", "{ckpt}", "f.txt/out"], write("f.txt", "x"), "f.txt"),
    ("export-nan-model", ["export", "bad", "out"], edit_weights("ckpt", "model.safetensors", nan_weights),
     "NaN"),
    # -- prepare, eval ----------------------------------------------------------------------------------
    ("prepare-val-fraction-big", P + ["--val-fraction", "1.5"], None, "val"),
    ("prepare-val-fraction-nan", P + ["--val-fraction", "nan"], None, "val"),
    ("prepare-context-zero", P + ["--context-length", "0"], None, "context_length"),
    ("prepare-workers-zero", P + ["--workers", "0"], None, "workers"),
    ("prepare-data-missing", ["prepare", "--tokenizer", "{vocab}", "--data", "nope.txt", "--out", "shards"],
     None, "nope.txt"),
    ("prepare-tokenizer-missing", ["prepare", "--tokenizer", "nope-vocab", "--data", "{corpus}", "--out",
                                   "shards"], None, "nope-vocab"),
    ("prepare-out-not-shards", P, write("shards/keep.txt", "x"), "shards"),
    ("prepare-data-invalid-utf8", ["prepare", "--tokenizer", "{vocab}", "--data", "b.txt", "--out", "shards"],
     write("b.txt", b"abc \xff def"), "b.txt"),
    ("eval-batch-size-zero", E + ["--batch-size", "0"], None, "batch"),
    ("eval-max-batches-negative", E + ["--max-batches", "-1"], None, "batches"),
    ("eval-data-missing", ["eval", "{ckpt}", "--data", "nope.txt"], None, "nope.txt"),
    ("eval-context-zero", E + ["--context-length", "0"], None, "context"),
    # -- pretrain: what --force may replace (only a run of gptcore's own) -------------------------------
    ("pretrain-force-cwd-with-thesis", PRE + ["--out", ".", "--force"], thesis, "src/, thesis.txt"),
    ("pretrain-cwd-with-thesis", PRE + ["--out", "."], thesis, "did not write"),
    ("pretrain-force-foreign-dir", PRE + ["--out", "mine", "--force"], write("mine/notes.txt", "x"), "notes.txt"),
    ("pretrain-force-run-with-user-file", PR + ["--force"], run_copy(extra="thesis.txt"), "thesis.txt"),
    ("pretrain-run-without-force", PR, run_copy(), "holds a run (step 2)"),
    ("pretrain-force-parent", PRE + ["--out", "..", "--force"], None, ".."),
    ("pretrain-force-input-inside", ["pretrain", "--preset", "gpt2-tiny", "--set", "context_length=16",
                                     "--set", "emb_dim=32", "--set", "n_layers=1", "--set", "n_heads=2",
                                     "--tokenizer", "{vocab}", "--data", "run/data", "--out", "run", "--force"],
     run_copy(), "input"),
    ("pretrain-out-file", PRE + ["--out", "f.txt"], write("f.txt", "x"), "f.txt"),
    # -- pretrain: every option checked before anything is written ----------------------------------
    ("pretrain-min-lr-above-lr", PR + ["--lr", "1e-4", "--min-lr", "1e-3"], None, "--min-lr"),
    ("pretrain-lr-nan", PR + ["--lr", "nan"], None, "--lr"),
    ("pretrain-lr-inf", PR + ["--lr", "inf"], None, "--lr"),
    ("pretrain-weight-decay-inf", PR + ["--weight-decay", "inf"], None, "--weight-decay"),
    ("pretrain-grad-clip-nan", PR + ["--grad-clip", "nan"], None, "--grad-clip"),
    ("pretrain-beta1-nan", PR + ["--beta1", "nan"], None, "--beta1"),
    ("pretrain-epochs-nan", PRE + ["--out", "run", "--epochs", "nan", "--steps", "2"], None, "--epochs"),
    ("pretrain-seq-len-beyond-context", PR + ["--seq-len", "64"], None, "--seq-len"),
    ("pretrain-checkpoint-every-word", PR + ["--checkpoint-every", "soon"], None, "--checkpoint-every"),
    ("pretrain-checkpoint-every-negative", PR + ["--checkpoint-every", "-5m"], None, "--checkpoint-every"),
    ("pretrain-sample-prompt-surrogate", PR + ["--sample-prompt", "a\ud800"], None, "--sample-prompt"),
    ("pretrain-batch-tokens-odd", PR + ["--batch-tokens", "33"], None, "--batch-tokens"),
    ("pretrain-ids-out-of-range", ["pretrain", "--preset", "gpt2-tiny", "--set", "context_length=16",
                                   "--set", "emb_dim=32", "--set", "n_layers=1", "--set", "n_heads=2",
                                   "--tokenizer", "{vocab}", "--data", "bad", "--out", "run"],
     shards_copy(id_out_of_range), "60000"),
    ("pretrain-shard-name-escapes", ["pretrain", "--preset", "gpt2-tiny", "--set", "context_length=16",
                                     "--tokenizer", "{vocab}", "--data", "bad", "--out", "run"],
     shards_copy(shard_name("../../corpus.txt")), "../../corpus.txt"),
    ("pretrain-shard-name-absolute", ["pretrain", "--preset", "gpt2-tiny", "--tokenizer", "{vocab}", "--data", "bad",
                                      "--out", "run"], shards_copy(shard_name("/etc/passwd")), "/etc/passwd"),
    ("pretrain-shard-symlink", ["pretrain", "--preset", "gpt2-tiny", "--tokenizer", "{vocab}", "--data", "bad",
                                "--out", "run"], shards_copy(shard_symlink), "symbolic link"),
    # -- a run's files are untrusted ---------------------------------------------------------------------
    ("resume-lock-symlink", RESUME, lock_symlink, ".lock"),
    ("resume-older-weights", RESUME, older_weights, "model.safetensors"),
    ("generate-older-weights", ["generate", "run", "--prompt", "a"], older_weights, "model.safetensors"),
    ("generate-vocab-symlink", ["generate", "run", "--prompt", "a"], vocab_symlink, "symbolic link"),
    ("eval-shard-name-escapes", ["eval", "{ckpt}", "--data", "bad"], shards_copy(shard_name("../x.bin")), "../x.bin"),
    ("eval-ids-out-of-range", ["eval", "{ckpt}", "--data", "bad"], shards_copy(id_out_of_range), "60000"),
    ("eval-context-beyond-model", E + ["--context-length", "64"], None, "--context-length"),
    # -- prepare and export refuse the working directory by rule; --force replaces only their own ---------
    ("prepare-out-cwd", P[:-1] + ["."], None, "working directory"),
    ("prepare-out-cwd-force", P[:-1] + [".", "--force"], None, "working directory"),
    ("prepare-out-parent", P[:-1] + [".."], None, "parent"),
    ("prepare-force-foreign", P + ["--force"], write("shards/keep.txt", "x"), "keep.txt"),
    ("export-out-cwd", ["export", "{ckpt}", "."], None, "working directory"),
    ("export-out-cwd-force", ["export", "{ckpt}", ".", "--force"], thesis, "working directory"),
    ("export-force-foreign", ["export", "{ckpt}", "out", "--force"], write("out/keep", "x"), "keep"),
    ("export-run-into-itself", ["export", "run", "run", "--force"], run_copy(), "run"),
    ("export-into-the-model", ["export", "run", "run/checkpoints", "--force"], run_copy(), "did not write"),
    ("export-an-export-onto-itself", ["export", "exp", "exp", "--force", "--tokenizer", "{vocab}"], an_export,
     "is an input"),
    # -- the group ------------------------------------------------------------------------------------
    ("unknown-command", ["frobnicate"], None, "frobnicate"),
    ("list-extra-argument", ["list", "extra"], None, "extra"),
]


def _binary_meta(work: Path, shared: Shared) -> None:
    copy("ckpt")(work, shared)
    (work / "bad" / "checkpoint.json").write_bytes(b"\xff\xfe\x00{")


def _garbage_weights(work: Path, shared: Shared) -> None:
    copy("ckpt")(work, shared)
    (work / "bad" / "model.safetensors").write_bytes(b"not a safetensors file at all")


def _missing_weights(work: Path, shared: Shared) -> None:
    copy("ckpt")(work, shared)
    (work / "bad" / "model.safetensors").unlink()


_FIXED = {"ckpt-meta-binary": _binary_meta, "ckpt-weights-garbage": _garbage_weights,
          "ckpt-weights-missing": _missing_weights}
CASES = [(i, a, _FIXED.get(i, s), c) for i, a, s, c in CASES]


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Shared:
    root = tmp_path_factory.mktemp("shared")
    vocab_dir = train_vocab(root / "vocab")
    big = train_vocab(root / "big", vocab_size=400)
    from gptcore.data.vocab import load_vocabulary

    size = load_vocabulary(str(vocab_dir)).vocab_size
    model = testing.build_tiny("gpt2", dict(vocab_size=size, context_length=32, emb_dim=32,
                                            n_layers=2, n_heads=4))
    ckpt = save_checkpoint(root / "ckpt", model, vocabulary=str(vocab_dir))
    hf = save_hf_gpt2(root / "hf", vocab_size=size)
    (root / "corpus.txt").write_text(TEXT * 20, encoding="utf-8")
    from gptcore.data.preparation import prepare

    prepare(str(vocab_dir), [str(root / "corpus.txt")], root / "shards")
    trained = CliRunner().invoke(main, [a.format(vocab=vocab_dir, corpus=root / "corpus.txt") for a in PRE]
                                 + ["--out", str(root / "run"), "--checkpoint-every", "1", "--keep-last", "0"])
    assert trained.exit_code == 0, trained.output
    return {"root": str(root), "vocab": str(vocab_dir), "big": str(big), "ckpt": str(ckpt),
            "hf": str(hf), "corpus": str(root / "corpus.txt"), "shards": str(root / "shards"),
            "run": str(root / "run")}




def test_there_are_enough_cases() -> None:
    assert len(CASES) >= 60 and len({c[0] for c in CASES}) == len(CASES)
    assert {"generate", "next", "diversity", "export", "prepare", "eval", "pretrain"} <= {c[1][0] for c in CASES}


@pytest.mark.parametrize("case_id,argv,setup,culprit", CASES, ids=[c[0] for c in CASES])
def test_bad_input_is_one_line(case_id, argv, setup, culprit, shared, tmp_path, monkeypatch):
    work = tmp_path / "work"
    work.mkdir()
    if setup is not None:
        setup(work, shared)
    monkeypatch.chdir(work)
    monkeypatch.setenv("GPTCORE_DEBUG", "")
    args = [a.format(**shared) if "{" in a else a for a in argv]
    before = snapshot(work, Path(shared["root"]))
    result = CliRunner().invoke(main, args)
    after = snapshot(work, Path(shared["root"]))
    if case_id.startswith("resume-"):  # --resume takes the run's lock (writing its pid) before reading it
        before, after = ({k: v for k, v in d.items() if not k.endswith("/run/.lock")} for d in (before, after))
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.exit_code not in (0, None), (case_id, result.output)
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.output
    assert len(lines) == 1, (case_id, result.stderr)
    assert lines[0].startswith("Error: "), lines[0]
    assert culprit in lines[0], (case_id, culprit, lines[0])
    assert "--debug" not in lines[0], lines[0]  # not the adapter's "failed unexpectedly" line
    assert after == before, sorted(set(after) ^ set(before))
