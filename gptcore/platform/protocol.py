"""The model protocol: what every gptcore command relies on, written down once.

An :class:`~gptcore.platform.interfaces.Architecture`'s ``build(config)`` returns a ``torch.nn.Module``
that satisfies :class:`LanguageModel`.  That is the whole contract between gptcore and a model
family: generate, next, diversity, pretrain, checkpoints and export use nothing else, so a new
family plugs into every command without a gptcore change.  The README and the plugin guide
(``docs/plugins.md``) link here instead of restating it.

Rules
-----
1. **Config.** ``model.config`` is the config dataclass instance the model was built from
   (:class:`ModelConfig`): a ``@dataclass`` whose fields are JSON scalars (int, float, str,
   bool, None), all defaulted, with at least ``vocab_size: int`` and ``context_length: int``.
   Checkpoints store ``dataclasses.asdict(model.config)`` and the architecture name (found with
   :func:`gptcore.platform.registry.architecture_for`, which matches ``type(model.config)``) and rebuild
   the model with ``arch.build(arch.config_class(**fields))``, so the config must round-trip
   through JSON.
2. **Forward.** ``model(input_ids, cache=None) -> logits``: ``input_ids`` is a
   ``LongTensor [B, T]``, the result a float tensor ``[B, T, vocab_size]``.  Attention is causal.
3. **KV cache.** With a :class:`~gptcore.platform.kvcache.KVCache` ``cache``, the tokens in
   ``input_ids`` come *after* the ``cache.seq_len`` tokens already cached: their positions (and
   rotary angles) start at ``cache.seq_len``, so read it *before* updating, once in the model's
   ``forward`` before the first layer runs (``seq_len`` counts layer 0's entries: a later layer
   that reads it itself gets a position already advanced by this chunk).  Every attention
   layer ``i`` calls ``k, v = cache.update(i, k, v)`` with its new keys/values shaped
   ``[B, H_kv, T, D]`` and attends over the returned full tensors; queries at position ``p``
   may see keys ``<= p``.  With grouped-query attention store the ``H_kv`` key/value heads, not
   the repeated ones (``scaled_dot_product_attention(..., enable_gqa=True)`` does the rest).
   gptcore calls it in two patterns, prefill (empty cache, ``T >= 1``) and decode (``T == 1``),
   and never exceeds ``context_length``.
4. **State.** ``state_dict()`` names are the checkpoint format: keep them stable.  Tied
   parameters may be reported under several names; gptcore stores each distinct tensor once and
   re-ties on load.  Derived buffers (rotary frequencies, causal masks) should be
   ``persistent=False``.
5. **Training** only calls ``model(input_ids)`` and a cross-entropy over the logits.

``gptcore.kit.testing.check_architecture`` checks every rule on a tiny config.

>>> import gptcore
>>> model = gptcore.build_model("gpt2", vocab_size=11, emb_dim=8, n_heads=2, n_layers=1, context_length=4)
>>> isinstance(model, LanguageModel), isinstance(model.config, ModelConfig)
(True, True)
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Protocol, runtime_checkable

import torch

from gptcore.platform.kvcache import KVCache


@runtime_checkable
class ModelConfig(Protocol):
    """Rule 1: the fields gptcore reads from every architecture's config dataclass."""

    vocab_size: int
    context_length: int


@runtime_checkable
class LanguageModel(Protocol):
    """Rules 1-5 in the module docstring, as the type gptcore's functions accept.

    Every ``torch.nn.Module`` with a ``config`` attribute has this shape; the rules about what
    ``__call__`` does are what the plugin test kit checks.
    """

    config: Any  # a ModelConfig dataclass (typed Any so each family keeps its own class)
    training: bool

    def __call__(self, input_ids: torch.Tensor, cache: KVCache | None = None) -> torch.Tensor:
        """Logits ``[B, T, vocab_size]`` for ``input_ids [B, T]`` (rules 2 and 3)."""
        ...

    def state_dict(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        """Stable tensor names: the checkpoint format (rule 4)."""
        ...

    def parameters(self, recurse: bool = True) -> Iterator[torch.nn.Parameter]: ...

    def train(self, mode: bool = True) -> Any: ...

    def eval(self) -> Any: ...


__all__ = ["LanguageModel", "ModelConfig"]
