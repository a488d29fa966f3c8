"""Stage 3 — run directories and checkpoints: everything a run needs and leaves, under one folder.

* :mod:`.directory` — Run directories that travel: everything a pretraining run needs, under one folder.
* :mod:`.checkpoint` — Safe, atomic checkpoints: safetensors for tensors, JSON for everything else.

Every public name of these modules is importable from the package itself (loaded on first use).
"""

from __future__ import annotations

from gptcore._lazy import lazy_exports

_EXPORTS: dict[str, str] = {
    "CHECKPOINTS": "gptcore.runs.directory",
    "CONFIG": "gptcore.runs.directory",
    "DATA": "gptcore.runs.directory",
    "FORMAT": "gptcore.runs.directory",
    "LATEST": "gptcore.runs.directory",
    "LOCK": "gptcore.runs.directory",
    "METRICS": "gptcore.runs.directory",
    "PLOT": "gptcore.runs.directory",
    "Run": "gptcore.runs.directory",
    "VERSION": "gptcore.runs.directory",
    "VOCAB": "gptcore.runs.directory",
    "check_fingerprint": "gptcore.runs.directory",
    "checkpoint_name": "gptcore.runs.directory",
    "is_run": "gptcore.runs.directory",
    "plot_losses": "gptcore.runs.directory",
    "resolve_model_path": "gptcore.runs.directory",
    "COMPILE_PREFIX": "gptcore.runs.checkpoint",
    "Checkpoint": "gptcore.runs.checkpoint",
    "META": "gptcore.runs.checkpoint",
    "MODEL_FILE": "gptcore.runs.checkpoint",
    "OPTIM_FILE": "gptcore.runs.checkpoint",
    "check_rng": "gptcore.runs.checkpoint",
    "dedup_state": "gptcore.runs.checkpoint",
    "load_checkpoint": "gptcore.runs.checkpoint",
    "read_meta": "gptcore.runs.checkpoint",
    "restore_rng": "gptcore.runs.checkpoint",
    "rng_state": "gptcore.runs.checkpoint",
    "save_checkpoint": "gptcore.runs.checkpoint",
    "unwrap": "gptcore.runs.checkpoint",
    "file_record": "gptcore.runs.checkpoint",
    "verify_files": "gptcore.runs.checkpoint",
    "RUN_ENTRIES": "gptcore.runs.directory",
    "RUN_KIND": "gptcore.runs.directory",
}

__getattr__, __dir__ = lazy_exports(globals(), _EXPORTS)
__all__ = sorted(_EXPORTS)
