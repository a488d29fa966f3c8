"""gptcore: pretrain, sample and checkpoint GPT-style models on tokenkit vocabularies.

The main path is one import away; each name loads its module on first use, so
``import gptcore`` stays cheap (no torch until a name is touched)::

    import gptcore, tokenkit

    vocab = tokenkit.load("VOCAB")
    model = gptcore.build_model(preset="gpt2-124m-ctx256", vocab_size=vocab.vocab_size)
    gptcore.prepare(vocab, ["the-verdict"], "data/verdict")
    run = gptcore.Run.create("runs/verdict", resume=False, force=False)
    gptcore.train(model, gptcore.TokenShards("data/verdict"), gptcore.TrainConfig(steps=200), vocab=vocab, run=run)
    model = gptcore.load_model("runs/verdict").model
    cfg = gptcore.GenerationConfig(40, gptcore.SamplingConfig(temperature=0.8), seed=1)
    print(gptcore.generate(model, vocab, "Every effort moves you", cfg)[0])

>>> import tempfile, gptcore
>>> model = gptcore.build_model("gpt2", vocab_size=50, context_length=8, emb_dim=16, n_layers=1, n_heads=2)
>>> path = gptcore.save_checkpoint(tempfile.mkdtemp() + "/ckpt", model, step=3)
>>> loaded = gptcore.load_checkpoint(path)
>>> loaded.step, loaded.model.config == model.config
(3, True)

Plugin authors import from :mod:`gptcore.plugin`; the model rules are in :mod:`gptcore.platform.protocol`.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from gptcore import _moved

_moved.install()  # old module paths (gptcore.runs.checkpoint, ...) keep working, with a warning

_EXPORTS: dict[str, str] = {
    "build_model": "gptcore.platform.registry",
    "load_model": "gptcore.platform.registry",
    "GenerationConfig": "gptcore.generation.decoding",
    "generate": "gptcore.generation.decoding",
    "chat": "gptcore.generation.decoding",
    "SamplingConfig": "gptcore.generation.sampling",
    "TrainConfig": "gptcore.training.config",
    "TrainResult": "gptcore.training.config",
    "train": "gptcore.training.loop",
    "Run": "gptcore.runs.directory",
    "TokenShards": "gptcore.data.shards",
    "prepare": "gptcore.data.preparation",
    "Checkpoint": "gptcore.runs.checkpoint",
    "load_checkpoint": "gptcore.runs.checkpoint",
    "save_checkpoint": "gptcore.runs.checkpoint",
    "decode_layout": "gptcore.generation.inference",
    "load_vocabulary": "gptcore.data.vocab",
    "GptcoreError": "gptcore.errors",
    "PluginError": "gptcore.errors",
}

if TYPE_CHECKING:  # what type checkers and IDEs see; at run time __getattr__ loads lazily
    from gptcore.data.preparation import prepare
    from gptcore.data.shards import TokenShards
    from gptcore.data.vocab import load_vocabulary
    from gptcore.errors import GptcoreError, PluginError
    from gptcore.generation.decoding import GenerationConfig, chat, generate
    from gptcore.generation.inference import decode_layout
    from gptcore.generation.sampling import SamplingConfig
    from gptcore.platform.registry import build_model, load_model
    from gptcore.runs.checkpoint import Checkpoint, load_checkpoint, save_checkpoint
    from gptcore.runs.directory import Run
    from gptcore.training.config import TrainConfig, TrainResult
    from gptcore.training.loop import train


def __getattr__(name: str) -> Any:
    """Load an exported name's module on first use (lazy: torch costs ~1 s to import)."""
    if name in _EXPORTS:
        value = getattr(importlib.import_module(_EXPORTS[name]), name)
        globals()[name] = value  # later lookups skip this function
        return value
    if name == "__version__":  # importlib.metadata costs ~40 ms: only when asked
        from importlib.metadata import PackageNotFoundError, version

        try:
            return version("tokenkit-gptcore")
        except PackageNotFoundError:  # a source tree that is not installed
            return "0.0.0+unknown"
    raise AttributeError(f"module 'gptcore' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS) | {"__version__"})


__all__ = sorted(_EXPORTS)
