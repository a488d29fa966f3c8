"""Training-step time with and without ``gptcore.training.hostmemory.keep_freed_blocks`` (glibc only).

    python -m bench.gptcore_hostmemory                # ~3 min on 2 cores
    python -m bench.gptcore_hostmemory --repeats 5

Each measurement is a fresh process (the allocator setting is process-wide): it builds the model,
runs 2 warm-up steps, then times ``--steps`` full steps (forward, cross-entropy, backward, fused
AdamW) and reports their median and minor page faults per step. The two sides alternate, repeat
by repeat. Sizes: ``gpt2-tiny`` with GPT-2's 50257-token vocabulary, batch 8 x 128, float32;
GPT-2 124M at context 256 with an untied head (the textbook's model), batch 2 x 256, bf16
autocast where the CPU has native bf16 (as ``gptcore pretrain`` runs it), else float32.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

CASES = {
    "gpt2-tiny 8x128": dict(preset="gpt2-tiny", overrides={}, batch=8, seq=128, auto_bf16=False),
    "gpt2-124m-ctx256 2x256": dict(preset="gpt2-124m-ctx256", overrides={"tie_weights": False, "init": "pytorch"},
                                   batch=2, seq=256, auto_bf16=True),
}

PROBE = """
import json, resource, sys, time
import torch
import torch.nn.functional as F
from gptcore import build_model
from gptcore.training.hostmemory import keep_freed_blocks
from gptcore.training import native_bf16
case, keep, steps = json.loads(sys.argv[1]), sys.argv[2] == "keep", int(sys.argv[3])
took = keep_freed_blocks() if keep else False
bf16 = case["auto_bf16"] and native_bf16(torch.device("cpu"))
torch.manual_seed(0)
model = build_model(preset=case["preset"], **case["overrides"])
optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4, fused=True)
x = torch.randint(0, model.config.vocab_size, (case["batch"], case["seq"]))
seconds, faults = [], []
for i in range(steps + 2):
    before, start = resource.getrusage(resource.RUSAGE_SELF).ru_minflt, time.perf_counter()
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
        logits = model(x)
    F.cross_entropy(logits.flatten(0, 1).float(), x.flatten()).backward()
    optimizer.step()
    optimizer.zero_grad(set_to_none=True)
    if i >= 2:
        seconds.append(time.perf_counter() - start)
        faults.append(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
print(json.dumps({"took": took, "bf16": bf16, "seconds": seconds, "faults": faults}))
"""


def probe(case: dict, keep: bool, steps: int) -> dict:
    done = subprocess.run([sys.executable, "-c", PROBE, json.dumps(case), "keep" if keep else "plain", str(steps)],
                          cwd=ROOT, capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(f"probe failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="fresh processes per side and size")
    parser.add_argument("--steps", type=int, default=5, help="timed steps per process")
    args = parser.parse_args()
    for name, case in CASES.items():
        runs: dict[bool, list[dict]] = {False: [], True: []}
        for _ in range(args.repeats):  # interleaved: plain, keep, plain, keep ...
            for keep in (False, True):
                runs[keep].append(probe(case, keep, args.steps))
        medians = {keep: [statistics.median(r["seconds"]) for r in rs] for keep, rs in runs.items()}
        precision = "bf16 autocast" if runs[True][0]["bf16"] else "float32"
        print(f"{name} ({precision}):")
        for keep, label in ((False, "glibc default"), (True, "keep_freed_blocks")):
            faults = statistics.median(f for r in runs[keep] for f in r["faults"])
            print(f"  {label:18} {statistics.median(medians[keep]):.3f} s/step "
                  f"(range {min(medians[keep]):.3f}-{max(medians[keep]):.3f}), {faults:,.0f} page faults/step")
        print(f"  speed-up: {statistics.median(medians[False]) / statistics.median(medians[True]):.2f}x"
              + ("" if runs[True][0]["took"] else "  (the setting was not taken: not glibc?)"))


if __name__ == "__main__":
    main()
