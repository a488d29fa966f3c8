"""Preparing shards on several ranks gives the single-process token stream, byte for byte."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import tokenkit
from gptcore.data.manifest import read_manifest
from gptcore.data.preparation import prepare
from gptcore.data.ranks import PARTS_MARKER, Share, parts_directory
from gptcore.errors import GptcoreError
from tests.gptcore.helpers import train_vocab

EOT = "<|endoftext|>"
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def vocab(tmp_path_factory: pytest.TempPathFactory) -> tokenkit.Vocabulary:
    return tokenkit.load(str(train_vocab(tmp_path_factory.mktemp("v"), specials=[EOT])))


def shard_bytes(directory: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(directory.glob("*.bin"))}


class ThreadSync:
    """``Share.sync`` for threads standing in for ranks: a barrier that ORs one flag per call."""

    def __init__(self, world: int) -> None:
        self.barrier = threading.Barrier(world, timeout=60)
        self.flags: dict[int, list[bool]] = {}
        self.calls = [0] * world
        self.lock = threading.Lock()

    def for_rank(self, rank: int):
        def sync(flag: bool) -> bool:
            call = self.calls[rank]
            self.calls[rank] += 1
            with self.lock:
                self.flags.setdefault(call, []).append(flag)
            self.barrier.wait()
            return any(self.flags[call])
        return sync


def on_ranks(world: int, **kwargs) -> list[object]:
    """``prepare`` on ``world`` concurrent threads standing in for ranks (a real barrier)."""
    sync, results = ThreadSync(world), [None] * world

    def rank(r: int) -> None:
        try:
            results[r] = prepare(share=Share(r, world, sync.for_rank(r)), **kwargs)
        except BaseException as e:  # noqa: BLE001 - reported by the test (prepare leaves no rank
            results[r] = e            # waiting: a failure is agreed on at the next sync)

    threads = [threading.Thread(target=rank, args=(r,)) for r in range(world)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    return results


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(docs=st.lists(st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=60),
                     min_size=1, max_size=9),
       world=st.integers(1, 4), shard_tokens=st.integers(3, 40))
def test_any_world_size_gives_the_single_process_shards(tmp_path_factory, vocab, docs, world, shard_tokens):
    base = tmp_path_factory.mktemp("ranks")
    src = base / "docs"
    src.mkdir()
    for i, doc in enumerate(docs):
        (src / f"d{i:02d}.txt").write_text(doc + " tail", encoding="utf-8")
    common = dict(tokenizer=vocab, sources=[str(src)], val_fraction=0.3, shard_tokens=shard_tokens)
    try:
        single = prepare(out=base / "one", **common)
    except GptcoreError as e:  # identical documents, a NUL byte: some rank refuses alike
        results = on_ranks(world, out=base / "many", **common)
        assert all(isinstance(r, GptcoreError) for r in results), results  # every rank says so
        assert str(e) in {str(r) for r in results}, (results, e)  # the failing rank names the cause
        assert all(str(r) == str(e) or "another rank failed" in str(r) for r in results), results
        assert not (base / "many").exists() and not parts_directory(base / "many").exists()
        return
    results = on_ranks(world, out=base / "many", **common)
    assert not [r for r in results if isinstance(r, BaseException)], results
    assert shard_bytes(base / "many") == shard_bytes(base / "one")
    assert all(r.splits == single.splits for r in results)  # every rank returns the manifest
    assert read_manifest(base / "many").to_json() == single.to_json()
    assert not parts_directory(base / "many").exists()


def test_a_parts_directory_gptcore_did_not_write_is_left_alone(tmp_path, vocab):
    (tmp_path / "a.txt").write_text("one document\n" * 50, encoding="utf-8")
    (tmp_path / "b.txt").write_text("another one\n" * 50, encoding="utf-8")
    foreign = parts_directory(tmp_path / "out")
    foreign.mkdir()
    (foreign / "notes.txt").write_text("mine")
    results = on_ranks(2, tokenizer=vocab, sources=[str(tmp_path / "a.txt"), str(tmp_path / "b.txt")],
                       out=tmp_path / "out")
    assert isinstance(results[0], GptcoreError) and "was not written by gptcore prepare" in str(results[0])
    assert (foreign / "notes.txt").read_text() == "mine" and not (tmp_path / "out").exists()


def test_a_killed_runs_parts_are_replaced(tmp_path, vocab):
    (tmp_path / "a.txt").write_text("one document\n" * 50, encoding="utf-8")
    (tmp_path / "b.txt").write_text("another one\n" * 50, encoding="utf-8")
    stale = parts_directory(tmp_path / "out")
    (stale / "rank-00000").mkdir(parents=True)
    (stale / PARTS_MARKER).write_text("{}")
    results = on_ranks(2, tokenizer=vocab, sources=[str(tmp_path / "a.txt"), str(tmp_path / "b.txt")],
                       out=tmp_path / "out")
    assert not [r for r in results if isinstance(r, BaseException)], results
    assert not stale.exists() and (tmp_path / "out" / "manifest.json").is_file()


@pytest.mark.skipif(shutil.which("torchrun", path=os.path.dirname(sys.executable)) is None,
                    reason="torchrun is not installed beside this Python")
def test_torchrun_two_gloo_processes_equal_one(tmp_path, vocab):
    src = tmp_path / "docs"
    src.mkdir()
    for i in range(7):
        (src / f"d{i}.txt").write_text(f"document {i} " + "the cat sat on the mat. " * (40 * i + 3),
                                       encoding="utf-8")
    with open(src / "more.jsonl", "w", encoding="utf-8") as f:
        for i in range(25):
            f.write(json.dumps({"text": f"record {i}: " + "words and more words " * i}) + "\n")
    vocab.save(tmp_path / "vocab")
    args = ["prepare", "--tokenizer", str(tmp_path / "vocab"), "--data", str(src)]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    one = subprocess.run([sys.executable, "-m", "gptcore", *args, "--out", str(tmp_path / "one")],
                         capture_output=True, text=True, timeout=300, cwd=ROOT, env=env)
    assert one.returncode == 0, one.stderr
    torchrun = os.path.join(os.path.dirname(sys.executable), "torchrun")
    two = subprocess.run([torchrun, "--standalone", "--nproc-per-node", "2", "-m", "gptcore", *args,
                          "--out", str(tmp_path / "two")],
                         capture_output=True, text=True, timeout=300, cwd=ROOT, env=env)
    assert two.returncode == 0, two.stderr
    assert shard_bytes(tmp_path / "two") == shard_bytes(tmp_path / "one")
    assert read_manifest(tmp_path / "two").to_json() == read_manifest(tmp_path / "one").to_json()
    assert two.stdout.count("wrote in") == 1  # only rank 0 reports
    assert sorted(p.name for p in tmp_path.iterdir()) == ["docs", "one", "two", "vocab"]
