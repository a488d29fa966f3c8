"""Building blocks of modern decoder-only families, written once for every plugin.

A family (``plugins/gptcore-llama``, ``plugins/gptcore-qwen2``, a skeleton from
``gptcore new-plugin NAME --like llama``) stays a short declaration of what it is: its config,
its presets and a ``Block`` that wires these pieces together.  Plugins import them from
:mod:`gptcore.plugin`; nothing here knows a family or a file format.

* :class:`RMSNorm`: root-mean-square norm with a learned scale;
* :func:`rope_inv_freq`, :class:`Rotary`, :func:`apply_rotary`: rotary position embeddings in
  the "rotate half" layout of ``transformers`` (theta, partial rotary, and the ``linear``,
  ``dynamic`` (NTK) and ``llama3`` frequency scalings);
* :class:`GatedMLP` (:func:`SwiGLU`, :func:`GeGLU`): ``down(act(gate(x)) * up(x))``;
* :class:`GroupedQueryAttention`: ``q/k/v/o_proj`` attention with ``n_kv_heads`` key/value
  heads, rotary applied, through gptcore's KV cache (:func:`gptcore.platform.kvcache.causal_attention`).

Parameter names follow ``transformers`` (``q_proj``, ``gate_proj``, ...) so a loader's name map
stays a table.  Shapes: ``B`` batch, ``T`` new tokens, ``C`` model width, ``H``/``H_kv`` query
and key/value heads, ``D`` head size, ``R`` rotary dims (``<= D``).

>>> import torch
>>> rot = Rotary(head_dim=8, theta=10000.0)
>>> cos, sin = rot(start=0, length=3, dtype=torch.float32)      # [T, R]
>>> attn = GroupedQueryAttention(emb_dim=16, n_heads=4, n_kv_heads=2, head_dim=8, layer_idx=0)
>>> tuple(attn(torch.randn(2, 3, 16), cos, sin).shape)           # [B, T, C]
(2, 3, 16)
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import partial
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from gptcore.platform.kvcache import KVCache, causal_attention

ROPE_SCALINGS = (None, "linear", "dynamic", "llama3")


class RMSNorm(nn.Module):
    """``x / rms(x) * weight`` (no bias, no mean subtraction), computed in float32."""

    def __init__(self, dim: int, eps: float = 1e-6) -> None:
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))  # [C]

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # [..., C] -> [..., C]
        if x.dtype == self.weight.dtype == torch.float32:  # one fused kernel, scale included
            return F.rms_norm(x, (x.shape[-1],), self.weight, self.eps)
        # Lower precision: normalise in float32, round, then scale (as transformers does).
        normed = F.rms_norm(x.float(), (x.shape[-1],), eps=self.eps)
        return self.weight * normed.to(x.dtype)


# --------------------------------------------------------------------------------------------
# Rotary position embeddings
# --------------------------------------------------------------------------------------------


def rope_inv_freq(dim: int, theta: float = 10000.0, *, scaling: str | None = None, factor: float = 1.0,
                  low_freq_factor: float = 1.0, high_freq_factor: float = 4.0,
                  original_context: int = 8192, seq_len: int | None = None) -> torch.Tensor:
    """Inverse frequencies ``[dim / 2]`` (float32) of ``dim`` rotary dimensions.

    ``scaling`` stretches RoPE past the context it was trained on (``original_context``):
    ``"linear"`` divides every frequency by ``factor`` (position interpolation);
    ``"dynamic"`` (NTK-aware) raises ``theta`` once ``seq_len`` exceeds ``original_context``;
    ``"llama3"`` divides low frequencies by ``factor``, keeps high ones, and blends between
    ``low_freq_factor`` and ``high_freq_factor``.  The arithmetic is ``transformers``' own, so
    logits match it.
    """
    if scaling not in ROPE_SCALINGS:
        raise ValueError(f"rope scaling must be one of {ROPE_SCALINGS}, not {scaling!r}")
    if scaling == "dynamic" and seq_len is not None and seq_len > original_context:
        theta = theta * ((factor * seq_len / original_context) - (factor - 1)) ** (dim / (dim - 2))
    inv_freq = 1.0 / (theta ** (torch.arange(0, dim, 2, dtype=torch.int64).float() / dim))
    if scaling == "linear":
        return inv_freq / factor
    if scaling == "llama3":
        low_wavelen, high_wavelen = original_context / low_freq_factor, original_context / high_freq_factor
        wavelen = 2 * math.pi / inv_freq
        scaled = torch.where(wavelen > low_wavelen, inv_freq / factor, inv_freq)
        smooth = (original_context / wavelen - low_freq_factor) / (high_freq_factor - low_freq_factor)
        smoothed = (1 - smooth) * scaled / factor + smooth * scaled
        medium = ~(wavelen < high_wavelen) & ~(wavelen > low_wavelen)
        return torch.where(medium, smoothed, scaled)
    return inv_freq


def rotate_half(x: torch.Tensor) -> torch.Tensor:
    """``(a, b) -> (-b, a)`` on the two halves of the last dimension."""
    half = x.shape[-1] // 2
    return torch.cat((-x[..., half:], x[..., :half]), dim=-1)


def apply_rotary(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """Rotate the first ``R`` dims of ``x [B, H, T, D]`` by position; ``cos``/``sin`` are
    ``[T, R]``.  With partial rotary (``R < D``) the last ``D - R`` dims pass unchanged."""
    r = cos.shape[-1]
    if r == x.shape[-1]:
        return x * cos + rotate_half(x) * sin
    x_rot, x_pass = x[..., :r], x[..., r:]
    return torch.cat((x_rot * cos + rotate_half(x_rot) * sin, x_pass), dim=-1)


class Rotary(nn.Module):
    """``cos``/``sin`` tables ``[T, R]`` for positions ``start .. start + T - 1``.

    ``rotary_dim`` (default ``head_dim``) is the number of rotated dims, for partial rotary
    (GPT-NeoX, Phi: ``int(head_dim * partial_rotary_factor)``).  The frequencies are a
    non-persistent buffer (derived from the config, not part of the checkpoint) kept in float32
    when the model is cast.
    """

    def __init__(self, head_dim: int, theta: float = 10000.0, *, rotary_dim: int | None = None,
                 scaling: str | None = None, factor: float = 1.0, low_freq_factor: float = 1.0,
                 high_freq_factor: float = 4.0, original_context: int = 8192) -> None:
        super().__init__()
        self.dim = head_dim if rotary_dim is None else rotary_dim
        if self.dim % 2 or not 0 < self.dim <= head_dim:
            raise ValueError(f"rotary_dim {self.dim} must be even and in 1..head_dim {head_dim}")
        self.theta, self.scaling, self.factor, self.original_context = theta, scaling, factor, original_context
        inv_freq = rope_inv_freq(self.dim, theta, scaling=scaling, factor=factor, low_freq_factor=low_freq_factor,
                                 high_freq_factor=high_freq_factor, original_context=original_context)
        self.register_buffer("inv_freq", inv_freq, persistent=False)  # [R / 2]

    def _apply(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        out = super()._apply(fn, *args, **kwargs)  # model.half() must not round the frequencies
        if self.inv_freq.dtype != torch.float32:
            self.inv_freq = self.inv_freq.float()
        return out

    def forward(self, start: int, length: int, dtype: torch.dtype) -> tuple[torch.Tensor, torch.Tensor]:
        inv_freq = self.inv_freq
        if self.scaling == "dynamic" and start + length > self.original_context:
            # NTK: theta grows with the sequence (transformers does the same per forward)
            inv_freq = rope_inv_freq(self.dim, self.theta, scaling="dynamic", factor=self.factor,
                                     original_context=self.original_context,
                                     seq_len=start + length).to(inv_freq.device)
        pos = torch.arange(start, start + length, device=inv_freq.device, dtype=torch.float32)  # [T]
        freqs = torch.outer(pos, inv_freq)  # [T, R / 2]
        emb = torch.cat((freqs, freqs), dim=-1)  # [T, R]
        return emb.cos().to(dtype), emb.sin().to(dtype)


# --------------------------------------------------------------------------------------------
# Gated MLPs
# --------------------------------------------------------------------------------------------

ACTIVATIONS: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "silu": F.silu, "gelu": F.gelu, "gelu_tanh": partial(F.gelu, approximate="tanh")}


class GatedMLP(nn.Module):
    """``down(act(gate(x)) * up(x))``: SwiGLU with ``silu``, GeGLU with ``gelu``/``gelu_tanh``."""

    def __init__(self, emb_dim: int, hidden_dim: int, activation: str = "silu", bias: bool = False) -> None:
        super().__init__()
        if activation not in ACTIVATIONS:
            raise ValueError(f"activation must be one of {sorted(ACTIVATIONS)}, not {activation!r}")
        self.act = ACTIVATIONS[activation]
        self.gate_proj = nn.Linear(emb_dim, hidden_dim, bias=bias)  # C -> hidden
        self.up_proj = nn.Linear(emb_dim, hidden_dim, bias=bias)  # C -> hidden
        self.down_proj = nn.Linear(hidden_dim, emb_dim, bias=bias)  # hidden -> C

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # [B, T, C] -> [B, T, C]
        return self.down_proj(self.act(self.gate_proj(x)) * self.up_proj(x))


def SwiGLU(emb_dim: int, hidden_dim: int, bias: bool = False) -> GatedMLP:  # noqa: N802 - reads as a layer
    """Llama's, Qwen's and Mistral's MLP."""
    return GatedMLP(emb_dim, hidden_dim, "silu", bias)


def GeGLU(emb_dim: int, hidden_dim: int, bias: bool = False, approximate: bool = True) -> GatedMLP:  # noqa: N802
    """Gemma's MLP (tanh-approximated GELU by default)."""
    return GatedMLP(emb_dim, hidden_dim, "gelu_tanh" if approximate else "gelu", bias)


# --------------------------------------------------------------------------------------------
# Attention
# --------------------------------------------------------------------------------------------


class GroupedQueryAttention(nn.Module):
    """Causal attention with ``n_heads`` query heads sharing ``n_kv_heads`` key/value heads
    (``n_kv_heads == n_heads``: multi-head; ``1``: multi-query), rotary on q and k.

    The KV cache stores the ``H_kv`` heads, not repeated ones; SDPA's ``enable_gqa`` shares
    them.  ``qkv_bias`` adds biases to q/k/v (Qwen2), ``out_bias`` to ``o_proj``.
    """

    def __init__(self, emb_dim: int, n_heads: int, n_kv_heads: int, head_dim: int, layer_idx: int, *,
                 qkv_bias: bool = False, out_bias: bool = False, dropout: float = 0.0) -> None:
        super().__init__()
        if n_heads % n_kv_heads:
            raise ValueError(f"n_heads {n_heads} is not a multiple of n_kv_heads {n_kv_heads}")
        self.layer_idx, self.dropout = layer_idx, dropout
        self.n_heads, self.n_kv_heads, self.head_dim = n_heads, n_kv_heads, head_dim
        self.q_proj = nn.Linear(emb_dim, n_heads * head_dim, bias=qkv_bias)  # C -> H*D
        self.k_proj = nn.Linear(emb_dim, n_kv_heads * head_dim, bias=qkv_bias)  # C -> H_kv*D
        self.v_proj = nn.Linear(emb_dim, n_kv_heads * head_dim, bias=qkv_bias)  # C -> H_kv*D
        self.o_proj = nn.Linear(n_heads * head_dim, emb_dim, bias=out_bias)  # H*D -> C

    def forward(self, x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor,
                cache: KVCache | None = None) -> torch.Tensor:
        b, t, _ = x.shape  # x: [B, T, C]
        q = self.q_proj(x).view(b, t, self.n_heads, self.head_dim).transpose(1, 2)  # [B, H, T, D]
        k = self.k_proj(x).view(b, t, self.n_kv_heads, self.head_dim).transpose(1, 2)  # [B, H_kv, T, D]
        v = self.v_proj(x).view(b, t, self.n_kv_heads, self.head_dim).transpose(1, 2)  # [B, H_kv, T, D]
        q, k = apply_rotary(q, cos, sin), apply_rotary(k, cos, sin)
        y = causal_attention(q, k, v, cache, self.layer_idx, self.dropout if self.training else 0.0,
                             enable_gqa=self.n_kv_heads != self.n_heads)  # [B, H, T, D]
        return self.o_proj(y.transpose(1, 2).reshape(b, t, self.n_heads * self.head_dim))  # [B, T, C]


__all__ = ["ACTIVATIONS", "ROPE_SCALINGS", "GatedMLP", "GeGLU", "GroupedQueryAttention", "RMSNorm", "Rotary",
           "SwiGLU", "apply_rotary", "rope_inv_freq", "rotate_half"]
