"""Export a model to a foreign format through its architecture's exporters (atomically)."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from torch import nn

from gptcore.checkpoint import _atomic_replace_dir, unwrap
from gptcore.registry import GptcoreError, architecture_for


def export(model: nn.Module, fmt: str, out: str | os.PathLike[str], *, force: bool = False) -> Path:
    """Write ``model`` as ``fmt`` into directory ``out`` (built in a temp dir, then renamed)."""
    plain = unwrap(model)
    arch = architecture_for(plain)
    if fmt not in arch.exporters:
        raise GptcoreError(f"architecture {arch.name!r} cannot export format {fmt!r} "
                           f"(available: {', '.join(sorted(arch.exporters)) or 'none'})")
    target = Path(out)
    if target.exists() and not force:
        raise GptcoreError(f"output exists: {target} (use --force to replace it)")
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.tmp-", dir=target.parent))
    try:
        arch.exporters[fmt](plain, tmp)
        _atomic_replace_dir(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return target
