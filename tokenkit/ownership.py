"""What ``--force`` may replace: only a vocabulary directory tokenkit itself wrote.

A directory is tokenkit's when its ``tokenkit.json`` manifest says so and names every file in
it (the backend's file, an export's extra files). Whatever the flags, never the working
directory, a parent of it or the home directory (:func:`tokenkit.atomic.protected`); the
refusal names what is there, so a user is not pushed to ``--force`` by a message that fits
any directory. Nothing here writes or deletes.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tokenkit.atomic import protected
from tokenkit.errors import TokenkitError

METADATA_FILE = "tokenkit.json"  # tokenkit.vocabulary.METADATA_FILE (that module imports this one)
def describe_output(path: Path) -> tuple[str, list[str]]:
    """What directory ``path`` holds, for a refusal, and the entries tokenkit cannot account
    for: ``("a tokenkit vocabulary (hf, 400 tokens)", [])`` for one tokenkit wrote (its
    ``tokenkit.json`` names every file), ``("files tokenkit did not write", [...])`` else."""
    entries = sorted(e.name + ("/" if e.is_dir() and not e.is_symlink() else "")
                     for e in path.iterdir())
    if not entries:
        return "nothing (an empty directory)", []
    meta_path = path / METADATA_FILE
    meta: Any = None
    if meta_path.is_file() and not meta_path.is_symlink():
        try:
            meta = json.loads(meta_path.read_bytes()[:1 << 24])
        except (ValueError, OSError):
            meta = None
    if not isinstance(meta, dict) or meta.get("backend") not in ("hf", "sentencepiece", "tiktoken"):
        return "files tokenkit did not write", entries
    files = meta.get("files")
    known = {METADATA_FILE, str(meta.get("file") or "")}
    known |= {str(f) for f in files} if isinstance(files, list) else set()
    if meta["backend"] == "tiktoken":
        known |= {"tokenizer.tiktoken", "tiktoken.json"}
    size = meta.get("vocab_size")
    what = f"a tokenkit vocabulary ({meta['backend']}" + (f", {size} tokens)" if size else ")")
    return what, [e for e in entries if e not in known]


def check_replaceable(path: Path, option: str = "output") -> None:
    """Refuse, in one line naming what is there, to replace ``path`` unless it is missing,
    empty, or a vocabulary directory tokenkit wrote with no file it cannot account for; and
    never the working directory, a parent of it or the home directory."""
    if not (path.exists() or path.is_symlink()):
        return
    if not path.is_dir() or path.is_symlink():
        raise TokenkitError(f"{option} {path} is not a directory tokenkit wrote "
                            f"({'a link' if path.is_symlink() else 'a file'}); --force never "
                            "replaces it")
    why = protected(path)
    if why is not None:
        raise TokenkitError(f"{option} {path} is {why}, which --force never replaces: name a "
                            "new directory for the output")
    what, foreign = describe_output(path)
    if foreign and what.startswith("files"):
        raise TokenkitError(f"{option} {path} holds {what}: {_listed(foreign)}; --force only "
                            "replaces a vocabulary tokenkit wrote: name a new directory")
    if foreign:
        raise TokenkitError(f"{option} {path} holds {what} and files tokenkit did not write: "
                            f"{_listed(foreign)}; move them away or name a new directory")


def _listed(names: list[str], shown: int = 6) -> str:
    return ", ".join(names[:shown]) + (f" and {len(names) - shown} more" if len(names) > shown else "")
