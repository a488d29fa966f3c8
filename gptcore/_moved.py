"""Old module paths from before gptcore was grouped by stage, kept importable with a warning.

``import gptcore.checkpoint`` still gives the module now at ``gptcore.runs.checkpoint`` (the
same module object, so monkeypatching either name patches both), with a DeprecationWarning
naming the new path. Old names that are now stage packages (``gptcore.data``,
``gptcore.training``, ``gptcore.runs``, ``gptcore.generation``, ``gptcore.eval``,
``gptcore.export``, ``gptcore.sweep``) need no alias: each package re-exports its old names.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import sys
import warnings
from importlib.machinery import ModuleSpec
from types import ModuleType

#: old module -> new module
MOVED: dict[str, str] = {
    "gptcore.checkpoint": "gptcore.runs.checkpoint",
    "gptcore.distributed": "gptcore.training.distributed",
    "gptcore.diversity": "gptcore.eval.diversity",
    "gptcore.fingerprint": "gptcore.data.fingerprint",
    "gptcore.hf": "gptcore.platform.hf",
    "gptcore.hostmemory": "gptcore.training.hostmemory",
    "gptcore.inference": "gptcore.generation.inference",
    "gptcore.interfaces": "gptcore.platform.interfaces",
    "gptcore.kvcache": "gptcore.platform.kvcache",
    "gptcore.protocol": "gptcore.platform.protocol",
    "gptcore.recipes": "gptcore.training.recipes",
    "gptcore.registry": "gptcore.platform.registry",
    "gptcore.sampling": "gptcore.generation.sampling",
    "gptcore.scaffold": "gptcore.kit.scaffold",
    "gptcore.sweep_plot": "gptcore.sweep.plots",
    "gptcore.testing": "gptcore.kit.testing",
    "gptcore.tfbundle": "gptcore.platform.tfbundle",
    "gptcore.validation": "gptcore.platform.validation",
    "gptcore.vocab": "gptcore.data.vocab",
    "gptcore.weights": "gptcore.platform.weights",
}


class _AliasLoader(importlib.abc.Loader):
    def __init__(self, new: str) -> None:
        self.new = new

    def create_module(self, spec: ModuleSpec) -> ModuleType:
        warnings.warn(f"{spec.name} moved to {self.new}; import it from there",
                      DeprecationWarning, stacklevel=2)
        module = importlib.import_module(self.new)
        sys.modules[spec.name] = module
        return module

    def exec_module(self, module: ModuleType) -> None:  # already executed under its new name
        pass


class MovedModuleFinder(importlib.abc.MetaPathFinder):
    """Resolves the names in :data:`MOVED` to their new modules."""

    def find_spec(self, fullname: str, path: object = None, target: object = None) -> ModuleSpec | None:
        new = MOVED.get(fullname)
        if new is None:
            return None
        return importlib.util.spec_from_loader(fullname, _AliasLoader(new))


def install() -> None:
    """Add the finder once (called by ``gptcore/__init__``)."""
    if not any(isinstance(f, MovedModuleFinder) for f in sys.meta_path):
        sys.meta_path.append(MovedModuleFinder())
