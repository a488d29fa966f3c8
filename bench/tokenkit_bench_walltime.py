"""Wall time of `tokenkit bench` for 5 vocabularies x (wagahai + tinyshakespeare).

    python -m bench.tokenkit_bench_walltime
    python -m bench.tokenkit_bench_walltime --baseline ../wt-base --repeats 5

Builds two vocabularies first (not timed): wagahai-5000 and tinyshakespeare-16000 (HF
byte-level BPE trained by tokenkit on each corpus). Then times CLI runs, each a fresh
process, of: bench wagahai-5000/ tinyshakespeare-16000/ gpt2 hf:gpt2 tiktoken:cl100k_base
--corpus wagahai --corpus tinyshakespeare. With ``--baseline DIR`` (a checkout of another
commit, e.g. ``git worktree add ../wt-base 66d1776``) the same command runs from that code
(``PYTHONPATH=DIR``), interleaved, and the table compares medians; the two outputs must agree
on every number but the speeds.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tokenkit.training import train


def timed(args: list[str], cwd: Path, pythonpath: str | None) -> tuple[float, str]:
    env = dict(os.environ)
    if pythonpath:
        env["PYTHONPATH"] = pythonpath
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "tokenkit", "bench", *args], capture_output=True,
                          text=True, cwd=cwd, env=env)
    wall = time.perf_counter() - start
    if done.returncode:
        sys.exit(done.stderr)
    return wall, done.stdout


def without_speeds(output: str) -> list[str]:
    """The report less its speed columns (MB/s) and the engine that ran them."""
    cut = output.find("round trip and encode speed")
    head, tail = (output, "") if cut < 0 else (output[:cut], output[cut:])
    rows = [re.split(r"\s+", line.strip())[:4] for line in tail.splitlines()
            if re.search(r"\d/\d", line)]  # the table's rows, not its width-dependent rules
    return [line.rstrip() for line in head.splitlines()] + [" ".join(r) for r in rows]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--baseline", type=Path, help="a checkout of the code to compare against")
    ap.add_argument("--repeats", type=int, default=1)
    opts = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        for corpus, size in (("wagahai", 5000), ("tinyshakespeare", 16000)):
            train([corpus], size).vocabulary.save(root / f"{corpus}-{size}")
        args = ["wagahai-5000", "tinyshakespeare-16000", "gpt2", "hf:gpt2", "tiktoken:cl100k_base",
                "--corpus", "wagahai", "--corpus", "tinyshakespeare", "--no-progress"]
        ours, theirs = [], []
        for _ in range(opts.repeats):
            if opts.baseline:
                wall, old = timed(args, root, str(opts.baseline.resolve()))
                theirs.append(wall)
            wall, new = timed(args, root, None)
            ours.append(wall)
        print(new)
        fmt = lambda v: f"{statistics.median(v):.2f} s ({min(v):.2f}-{max(v):.2f})"  # noqa: E731
        print(f"wall time: {fmt(ours)} for 5 vocabularies x 2 corpora (process start included)")
        if opts.baseline:
            same = without_speeds(old) == without_speeds(new)
            print(f"baseline {opts.baseline}: {fmt(theirs)}; ratio "
                  f"{statistics.median(ours) / statistics.median(theirs):.2f}x; numbers other than "
                  f"speeds {'identical' if same else 'DIFFER'}")


if __name__ == "__main__":
    main()
