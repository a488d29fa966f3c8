"""Export a model to a foreign format through its architecture's exporters (atomically)."""

from __future__ import annotations

import os
from pathlib import Path

from tokenkit.atomic import atomic_directory
from torch import nn

from gptcore.checkpoint import unwrap
from gptcore.errors import GptcoreError
from gptcore.registry import architecture_for, call_plugin


def export(model: nn.Module, fmt: str, out: str | os.PathLike[str], *, force: bool = False) -> Path:
    """Write ``model`` as ``fmt`` into directory ``out`` (built in a hidden sibling, then swapped in)."""
    plain = unwrap(model)
    arch = architecture_for(plain)
    if fmt not in arch.exporters:
        raise GptcoreError(f"architecture {arch.name!r} cannot export format {fmt!r} "
                           f"(available: {', '.join(sorted(arch.exporters)) or 'none'})")
    target = Path(out)
    if target.exists() and not force:
        raise GptcoreError(f"output exists: {target} (use --force to replace it)")
    with atomic_directory(target, force=force) as tmp:
        call_plugin(arch, f"exporter {fmt!r}", arch.exporters[fmt], plain, tmp)
    return target
