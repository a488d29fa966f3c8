"""Everything a plugin author needs, from one namespace (plugin API version 1).

::

    from gptcore.plugin import Architecture, KVCache, Loader, LoadResult, GptcoreError
    from gptcore.plugin import assign, read_json, read_tensors, skip_init
    from gptcore.plugin import apply_overrides, causal_attention, detect_hf, read_hf_config, read_hf_weights
    from gptcore.plugin import RMSNorm, Rotary, SwiGLU, GroupedQueryAttention, load_hf_state, hf_state, write_hf

* :class:`Architecture`, :class:`Loader`, :class:`LoadResult`, :data:`PLUGIN_API_VERSION`:
  what an entry point hands to gptcore (:mod:`gptcore.platform.interfaces`);
* :class:`LanguageModel`, :class:`ModelConfig`: the model protocol, the one written copy of the
  rules a model follows (:mod:`gptcore.platform.protocol`);
* :class:`KVCache`: what attention layers write keys and values into, and
  :func:`causal_attention`, which applies its mask rules (:mod:`gptcore.platform.kvcache`);
* :class:`GptcoreError`, :class:`PluginError`, :func:`one_line`: one-line errors
  (:mod:`gptcore.errors`);
* :func:`read_tensors`, :func:`read_json`, :func:`assign`, :func:`skip_init`,
  :data:`PICKLE_SUFFIXES`: safe weight reading and checked assignment (:mod:`gptcore.platform.weights`);
* :func:`read_hf_weights`, :func:`read_hf_config`, :func:`detect_hf`, :func:`hf_model_type`,
  :class:`HFWeights`: Hugging Face directories in all three layouts (:mod:`gptcore.platform.hf`);
* :class:`RMSNorm`, :class:`Rotary`, :func:`rope_inv_freq`, :func:`apply_rotary`,
  :func:`rotate_half`, :class:`GatedMLP`, :func:`SwiGLU`, :func:`GeGLU`,
  :class:`GroupedQueryAttention`: the building blocks of modern families, so a family is a short
  declaration instead of a copy of Llama's (:mod:`gptcore.models.blocks`);
* :func:`layer_map`, :func:`map_hf_tensors`, :func:`load_hf_state`, :func:`hf_state`,
  :func:`write_hf`: a HF name map applied both ways, errors naming the file's tensors
  (:mod:`gptcore.platform.hf`);
* :func:`apply_overrides`, :func:`coerce_overrides`: a loader's ``overrides`` checked against
  the config class (:mod:`gptcore.platform.interfaces`);
* :func:`check_int`, :func:`check_float`, :func:`check_bool`, :func:`check_parameters`,
  :class:`ConfigError`: type and range checks for a config's ``__post_init__``, so a
  ``config.json`` from anywhere cannot reach the allocator with ``"n_layers": 1e9``
  (:mod:`gptcore.platform.validation`).

The contract test kit is :mod:`gptcore.kit.testing`.  Write ``api_version=1`` as a literal in a
plugin, not this module's constant, so that gptcore can reject a plugin written for another
version.

>>> from dataclasses import dataclass
>>> @dataclass
... class TinyConfig:
...     vocab_size: int = 8
...     context_length: int = 4
>>> arch = Architecture("tiny", TinyConfig, {"tiny-16": {"vocab_size": 16}}, build=lambda cfg: None,
...                     api_version=1)
>>> arch.make_config("tiny-16", context_length=2)
TinyConfig(vocab_size=16, context_length=2)
"""

from __future__ import annotations

from gptcore.errors import GptcoreError, PluginError, one_line
from gptcore.platform.hf import (
    HFWeights, detect_hf, hf_model_type, hf_state, layer_map, load_hf_state, map_hf_tensors,
    read_hf_config, read_hf_weights, write_hf)
from gptcore.platform.interfaces import (
    PLUGIN_API_VERSION, Architecture, LoadResult, Loader, apply_overrides, coerce_overrides)
from gptcore.platform.kvcache import KVCache, causal_attention
from gptcore.models.blocks import (GatedMLP, GeGLU, GroupedQueryAttention, RMSNorm, Rotary, SwiGLU, apply_rotary,
                                   rope_inv_freq, rotate_half)
from gptcore.platform.protocol import LanguageModel, ModelConfig
from gptcore.platform.validation import (
    ConfigError, check_bool, check_float, check_int, check_parameters)
from gptcore.platform.weights import PICKLE_SUFFIXES, assign, read_json, read_tensors, skip_init

__all__ = [
    "PICKLE_SUFFIXES", "PLUGIN_API_VERSION", "Architecture", "ConfigError", "GatedMLP", "GeGLU", "GptcoreError",
    "GroupedQueryAttention", "HFWeights", "KVCache", "LanguageModel", "LoadResult", "Loader", "ModelConfig",
    "PluginError", "RMSNorm", "Rotary", "SwiGLU", "apply_overrides", "apply_rotary", "assign",
    "causal_attention", "check_bool", "check_float", "check_int", "check_parameters", "coerce_overrides", "detect_hf",
    "hf_model_type", "hf_state", "layer_map", "load_hf_state", "map_hf_tensors", "one_line", "read_hf_config",
    "read_hf_weights", "read_json", "read_tensors", "rope_inv_freq", "rotate_half", "skip_init", "write_hf",
]
