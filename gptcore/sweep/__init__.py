"""Across the stages — which vocabulary gives the better model at equal compute (``gptcore vocab-sweep``).

* :mod:`.config` — A sweep's settings, its per-size plans and results, and the budget arithmetic (parameters, FLOPs).
* :mod:`.runner` — PLACEHOLDER
* :mod:`.directory` — The sweep directory's identity: what a finished sweep may be extended with, and what is refused.
* :mod:`.plots` — The vocab sweep's pictures: ``bpb.png`` (the answer) and each run's ``loss.png``.

Every public name of these modules is importable from the package itself (loaded on first use).
"""

from __future__ import annotations

from gptcore._lazy import lazy_exports

_EXPORTS: dict[str, str] = {
    "BYTE_VOCAB": "gptcore.sweep.config",
    "DEFAULT_BUDGET_BYTES": "gptcore.sweep.config",
    "DONE_FILE": "gptcore.sweep.config",
    "Events": "gptcore.sweep.config",
    "FORMAT": "gptcore.sweep.config",
    "FORMAT_VERSION": "gptcore.sweep.config",
    "RunPlan": "gptcore.sweep.config",
    "RunResult": "gptcore.sweep.config",
    "SETTINGS_FILE": "gptcore.sweep.config",
    "SWEEP_FIELDS": "gptcore.sweep.config",
    "SizeSummary": "gptcore.sweep.config",
    "SweepConfig": "gptcore.sweep.config",
    "SweepEvent": "gptcore.sweep.config",
    "SweepResult": "gptcore.sweep.config",
    "flops_per_token": "gptcore.sweep.config",
    "parameter_split": "gptcore.sweep.config",
    "plan_budget": "gptcore.sweep.config",
    "Pretrained": "gptcore.sweep.runner",
    "build": "gptcore.sweep.runner",
    "identity": "gptcore.sweep.directory",
    "open_sweep": "gptcore.sweep.directory",
    "resolve_device": "gptcore.sweep.runner",
    "run_sweep": "gptcore.sweep.runner",
    "split_corpus": "gptcore.sweep.runner",
    "summarise": "gptcore.sweep.runner",
    "sweep_bf16": "gptcore.sweep.runner",
    "train_vocabulary": "gptcore.sweep.runner",
    "write_results": "gptcore.sweep.runner",
    "bpb_plot": "gptcore.sweep.plots",
    "SWEEP_ENTRIES": "gptcore.sweep.directory",
    "SWEEP_KIND": "gptcore.sweep.directory",
    "clear_sweep": "gptcore.sweep.directory",
}

__getattr__, __dir__ = lazy_exports(globals(), _EXPORTS)
__all__ = sorted(_EXPORTS)
