"""keep_freed_blocks: training steps whose tensors exceed glibc's mmap threshold (a 50257-way
logits tensor of 8 x 128 tokens is 206 MB) stop refaulting fresh pages every step. Page faults
are counted in a fresh process for each side, so the test process's allocator is untouched."""

from __future__ import annotations

import json
import platform
import statistics
import subprocess
import sys

import pytest

pytestmark = pytest.mark.skipif(platform.system() != "Linux" or platform.libc_ver()[0] != "glibc",
                                reason="mallopt is glibc's")

PROBE = """
import json, resource, sys, torch
import torch.nn.functional as F
from gptcore import build_model
from gptcore.training.hostmemory import keep_freed_blocks
took = keep_freed_blocks() if sys.argv[1] == "keep" else None
torch.manual_seed(0)
model = build_model(preset="gpt2-tiny", emb_dim=32, n_layers=1, n_heads=2)
optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
x = torch.randint(0, 50257, (8, 128))
faults = []
for _ in range(9):
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    F.cross_entropy(model(x).flatten(0, 1), x.flatten()).backward()
    optimizer.step()
    optimizer.zero_grad(set_to_none=True)
    faults.append(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
print(json.dumps({"took": took, "faults": faults}))
"""


def _probe(mode: str) -> dict:
    done = subprocess.run([sys.executable, "-c", PROBE, mode], capture_output=True, text=True, check=True)
    return json.loads(done.stdout)


def test_training_steps_reuse_freed_buffers_instead_of_refaulting_them():
    plain, kept = _probe("plain"), _probe("keep")
    logits_pages = 8 * 128 * 50257 * 4 // 4096
    assert min(plain["faults"][1:]) > logits_pages  # glibc's default: the logits alone fault afresh
    assert kept["took"] is True
    # after the first step the typical step faults little or nothing (the heap still grows now
    # and then, when no freed block fits an aligned request: so the median, not every step)
    assert statistics.median(kept["faults"][1:]) < statistics.median(plain["faults"][1:]) / 2, (plain, kept)
