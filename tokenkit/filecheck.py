"""Bounded, contained reads of vocabulary files: a size cap, regular files only, no link out.

A vocabulary directory is data someone handed us. Its ``tokenizer.json`` may be a symlink to
``~/.ssh/id_rsa`` or ``/dev/zero``, or a 40 GB file: each file is checked here before a backend
reads it, with one line naming the file.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from tokenkit.errors import TokenkitError

#: A backend file (``tokenizer.json``, ``.model``, ``.tiktoken``, ``encoder.json``): the largest
#: public vocabularies are a few tens of MB.
MAX_VOCAB_FILE = 1 << 30
#: A JSON manifest (``tokenkit.json``, ``tiktoken.json``): a few kB.
MAX_MANIFEST = 16 << 20


def checked_file(path: Path, what: str = "vocabulary file", *, limit: int | None = None,
                 inside: Path | None = None) -> Path:
    """``path``, refused unless it is a regular file of at most ``limit`` bytes and, when
    ``inside`` is given, stays inside that directory after following links."""
    path = Path(path)
    limit = MAX_VOCAB_FILE if limit is None else limit
    if inside is not None:
        root = Path(os.path.realpath(inside))
        real = Path(os.path.realpath(path))
        if not real.is_relative_to(root):
            raise TokenkitError(f"{what} {path} links to {real}, outside the vocabulary directory "
                                f"{inside}: a vocabulary directory reads only its own files")
    try:
        st = path.stat()
    except FileNotFoundError:
        raise TokenkitError(f"{what} {path} not found") from None
    except OSError as e:
        raise TokenkitError(f"cannot read {what} {path}: {e.strerror or e}") from None
    if not stat.S_ISREG(st.st_mode):
        raise TokenkitError(f"{what} {path} is not a regular file")
    if st.st_size > limit:
        raise TokenkitError(f"{what} {path} is {st.st_size} bytes, more than the {limit} a "
                            f"{what} may hold")
    return path
