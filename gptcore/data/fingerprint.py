"""A content hash of a loaded vocabulary, so token ids are never paired with the wrong one.

Token shards and checkpoints record which vocabulary produced their ids. A path is not enough
(a vocabulary retrained at the same path, of the same size, decodes garbage), so the identity
is the sha256 of what :meth:`tokenkit.Vocabulary.save` writes: the backend's own file(s) and
tokenkit's metadata. The ``name`` field of the JSON files is left out, because tokenkit derives
it from the path a vocabulary was loaded from; the same files loaded from two places hash equal.
"""

from __future__ import annotations

import hashlib
import json
import tempfile
from pathlib import Path

import tokenkit

#: Top-level JSON keys that describe where a vocabulary was loaded from, not what it is.
_LOCATION_KEYS = ("name",)


def _canonical(path: Path) -> bytes:
    raw = path.read_bytes()
    if path.suffix != ".json":
        return raw
    try:
        data = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError):
        return raw
    if isinstance(data, dict):
        for key in _LOCATION_KEYS:
            data.pop(key, None)
    return json.dumps(data, sort_keys=True, ensure_ascii=False).encode("utf-8")


def vocabulary_sha256(vocab: tokenkit.Vocabulary) -> str:
    """sha256 over the files ``vocab.save`` writes (names and contents, sorted by name)."""
    digest = hashlib.sha256()
    with tempfile.TemporaryDirectory(prefix="gptcore-vocab-hash-") as tmp:
        directory = Path(tmp) / "vocab"
        vocab.save(directory)
        for path in sorted(p for p in directory.rglob("*") if p.is_file()):
            content = _canonical(path)
            digest.update(path.relative_to(directory).as_posix().encode("utf-8") + b"\0")
            digest.update(len(content).to_bytes(8, "little") + content)
    return digest.hexdigest()
