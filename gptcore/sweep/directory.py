"""The sweep directory's identity: what a finished sweep may be extended with, and what is refused."""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tokenkit.atomic import atomic_file

from gptcore.data.sources import resolve_sources
from gptcore.errors import GptcoreError
from gptcore.ownership import Kind, check_output
from gptcore.sweep.config import FORMAT, FORMAT_VERSION, SETTINGS_FILE, SweepConfig


def _sources_identity(sources: Sequence[str]) -> list[dict[str, Any]]:
    out = []
    for name, path in resolve_sources(sources):
        digest, size = hashlib.sha256(), 0
        with open(path, "rb") as f:
            while block := f.read(1 << 20):
                digest.update(block)
                size += len(block)
        out.append({"name": name, "sha256": digest.hexdigest(), "bytes": size})
    return out


def identity(config: SweepConfig) -> dict[str, Any]:
    """What must match for an existing SWEEP to be continued (sizes and seeds may grow)."""
    kind, value = config.budget()
    return {"format": FORMAT, "format_version": FORMAT_VERSION,
            "sources": _sources_identity(config.sources), "val_fraction": config.val_fraction,
            "split_seed": config.split_seed, "backend": config.backend, "arch": config.arch,
            "preset": config.preset, "model": dict(sorted(config.model.items())),
            "budget": {"kind": kind, "value": value}, "context_bytes": config.context_bytes,
            "batch_size": config.batch_size, "lr": config.lr}


def _difference(old: dict[str, Any], new: dict[str, Any]) -> str:
    for key in new:
        if old.get(key) != new[key]:
            if key == "sources":
                return "another corpus (its sources or their contents differ)"
            return f"another {key} ({json.dumps(old.get(key))}, now {json.dumps(new[key])})"
    return "other settings"


#: Every entry a sweep directory may hold.
SWEEP_ENTRIES = (SETTINGS_FILE, "vocabs", "shards", "runs", "results.csv", "results.json", "bpb.png")


def _describe_sweep(path: Path) -> str | None:
    try:
        data = json.loads((path / SETTINGS_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return "a vocab sweep" if isinstance(data, dict) and data.get("format") == FORMAT else None


#: A sweep directory as :func:`gptcore.ownership.check_output` recognises it.
SWEEP_KIND = Kind("vocab sweep", _describe_sweep, lambda path: SWEEP_ENTRIES)


def clear_sweep(out: Path) -> None:
    """Remove a sweep's own entries from ``out`` (and the atomic-write leftovers of them);
    nothing else (``check_output`` refuses a directory holding anything else)."""
    for entry in out.iterdir():
        if entry.name in SWEEP_ENTRIES or any(entry.name.startswith(f".{name}.") for name in SWEEP_ENTRIES):
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry)
            else:
                entry.unlink()


def open_sweep(out: Path, config: SweepConfig, force: bool) -> dict[str, Any]:
    """Create ``out`` or continue it; refuse one made with other settings unless ``force``, and
    any directory that is not a sweep (:mod:`gptcore.ownership`: nothing else is deleted)."""
    ident = identity(config)
    settings_file = out / SETTINGS_FILE
    verdict = check_output(out, SWEEP_KIND, force=force, inputs=config.sources, reuse=True)
    if not verdict.new:
        try:
            stored = json.loads(settings_file.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError, UnicodeDecodeError) as e:
            stored = {"format": f"unreadable ({e})"}
        if stored == ident and not force:
            return ident
        if not force:
            raise GptcoreError(f"{out} holds a sweep with {_difference(stored, ident)}; use --force to "
                               "start it again, or another --out")
        clear_sweep(out)
    out.mkdir(parents=True, exist_ok=True)
    with atomic_file(settings_file) as tmp:
        tmp.write_text(json.dumps(ident, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return ident
