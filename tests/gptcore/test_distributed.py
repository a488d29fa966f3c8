"""torchrun with 2 CPU processes (gloo, DDP) logs the same losses as one process with the same
global batch; only rank 0 writes the run."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

TINY = ["--preset", "gpt2-tiny", "--set", "emb_dim=32", "--set", "n_layers=2", "--set", "n_heads=2",
        "--set", "context_length=16"]


def _pretrain(launcher: list[str], out: Path, vocab_dir: Path, data: Path, batch_size: int) -> list[dict]:
    env = {k: v for k, v in os.environ.items() if k not in ("RANK", "WORLD_SIZE", "LOCAL_RANK")}
    env.update(OMP_NUM_THREADS="1", GPTCORE_DEBUG="1")
    args = [*launcher, "pretrain", *TINY, "--tokenizer", str(vocab_dir), "--data", str(data), "--out", str(out),
            "--steps", "4", "--batch-size", str(batch_size), "--lr", "3e-3", "--log-every", "1",
            "--eval-every", "2", "--eval-batches", "2", "--sample-tokens", "0", "--device", "cpu",
            "--fp32"]  # the split is what is compared: bf16 rounding would blur the 1e-5 check
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                            start_new_session=True)
    try:
        stdout, stderr = proc.communicate(timeout=120)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)  # torchrun and every rank it started
        raise
    assert proc.returncode == 0, stdout + stderr
    return [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]


def test_two_gloo_ranks_equal_one_process_with_the_same_global_batch(vocab_dir, tmp_path):
    torchrun = shutil.which("torchrun", path=str(Path(sys.executable).parent))
    if torchrun is None:
        pytest.skip("torchrun is not installed beside this python")
    from tests.gptcore.helpers import TEXT

    data = tmp_path / "text.txt"
    data.write_text(TEXT * 3)
    single = _pretrain([sys.executable, "-m", "gptcore"], tmp_path / "one", vocab_dir, data, batch_size=4)
    double = _pretrain([torchrun, "--standalone", "--nproc_per_node", "2", "-m", "gptcore"],
                       tmp_path / "two", vocab_dir, data, batch_size=2)
    assert [(r["kind"], r["step"]) for r in single] == [(r["kind"], r["step"]) for r in double]
    for a, b in zip(single, double):
        for key in ("loss", "train_loss", "val_loss", "val_bpb"):
            if key in a:
                assert b[key] == pytest.approx(a[key], abs=1e-5), (a, b)
    config = json.loads((tmp_path / "two" / "config.json").read_text())
    assert config["world_size"] == 2
    assert [p.name for p in (tmp_path / "two" / "checkpoints").iterdir() if p.name.startswith("step-")] == \
        ["step-00000004"]
