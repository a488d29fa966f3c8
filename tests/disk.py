"""What a failed command must leave untouched: a snapshot of the files under some folders."""

from __future__ import annotations

import os
from pathlib import Path


def snapshot(*roots: Path) -> dict[str, tuple[int, int]]:
    """Every path under ``roots`` with its size and mtime."""
    out = {}
    for root in roots:
        for dirpath, dirnames, filenames in os.walk(root):
            for name in dirnames + filenames:
                p = Path(dirpath) / name
                st = p.lstat()
                out[str(p)] = (st.st_size if p.is_file() else 0, st.st_mtime_ns)
    return out
