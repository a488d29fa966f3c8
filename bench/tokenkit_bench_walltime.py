"""Wall time of `tokenkit bench` for 5 vocabularies x (wagahai + tinyshakespeare).

    python -m bench.tokenkit_bench_walltime

Builds two vocabularies first (not timed): wagahai-5000 and tinyshakespeare-16000 (HF
byte-level BPE trained by tokenkit on each corpus). Then times one CLI run, in a fresh
process, of: bench wagahai-5000/ tinyshakespeare-16000/ gpt2 hf:gpt2 tiktoken:cl100k_base
--corpus wagahai --corpus tinyshakespeare. Goal: < 15 s on 2 cores.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tokenkit.training import train


def main() -> None:
    argparse.ArgumentParser(description=__doc__.splitlines()[0]).parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        for corpus, size in (("wagahai", 5000), ("tinyshakespeare", 16000)):
            train([corpus], size).vocabulary.save(root / f"{corpus}-{size}")
        args = [str(root / "wagahai-5000"), str(root / "tinyshakespeare-16000"), "gpt2",
                "hf:gpt2", "tiktoken:cl100k_base", "--corpus", "wagahai", "--corpus",
                "tinyshakespeare", "--no-progress"]
        start = time.perf_counter()
        done = subprocess.run([sys.executable, "-m", "tokenkit", "bench", *args], capture_output=True,
                              text=True)
        wall = time.perf_counter() - start
        print(done.stdout)
        if done.returncode:
            sys.exit(done.stderr)
        print(f"wall time: {wall:.1f} s for 5 vocabularies x 2 corpora (process start included)")


if __name__ == "__main__":
    main()
