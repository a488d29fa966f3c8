"""The key/value cache every architecture's attention layers write into while decoding, and
:func:`causal_attention`, which applies the cache's rules so a family need not.

gptcore owns the cache (it creates one per generation and decides prefill vs decode), the
model only calls :meth:`KVCache.update` from each attention layer; see
:mod:`gptcore.platform.protocol` for the rules.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


class KVCache:
    """Per-layer key/value store for incremental decoding.

    Keys and values are ``[B, H_kv, T, D]``.  Storage is preallocated in chunks and grown
    geometrically, so a decode step writes in place instead of re-concatenating the history.

    >>> import torch
    >>> cache = KVCache()
    >>> k = v = torch.zeros(1, 2, 3, 4)          # [B, H_kv, T, D]: a 3-token prefill
    >>> full_k, _ = cache.update(0, k, v)
    >>> cache.seq_len, tuple(full_k.shape)
    (3, (1, 2, 3, 4))
    """

    def __init__(self, max_length: int | None = None) -> None:
        self.max_length = max_length
        self._k: list[torch.Tensor] = []
        self._v: list[torch.Tensor] = []
        self._len: list[int] = []

    @property
    def seq_len(self) -> int:
        """Number of positions already cached (0 when empty)."""
        return self._len[0] if self._len else 0

    def update(self, layer: int, k: torch.Tensor, v: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Append this layer's new ``k``/``v`` and return the full cached tensors."""
        t_new = k.shape[-2]
        if layer == len(self._k):
            cap = max(t_new, self.max_length or 0, 16)
            shape_k = (*k.shape[:-2], cap, k.shape[-1])
            shape_v = (*v.shape[:-2], cap, v.shape[-1])
            self._k.append(k.new_empty(shape_k))
            self._v.append(v.new_empty(shape_v))
            self._len.append(0)
        elif layer > len(self._k):
            raise ValueError(f"KVCache.update: layer {layer} called before layer {len(self._k)}")
        start = self._len[layer]
        end = start + t_new
        if end > self._k[layer].shape[-2]:
            cap = max(end, 2 * self._k[layer].shape[-2])
            for store in (self._k, self._v):
                old = store[layer]
                new = old.new_empty((*old.shape[:-2], cap, old.shape[-1]))
                new[..., :start, :] = old[..., :start, :]
                store[layer] = new
        self._k[layer][..., start:end, :] = k
        self._v[layer][..., start:end, :] = v
        self._len[layer] = end
        return self._k[layer][..., :end, :], self._v[layer][..., :end, :]

    def reset(self) -> None:
        """Forget everything (storage is released)."""
        self._k.clear()
        self._v.clear()
        self._len.clear()


def causal_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, cache: KVCache | None,
                     layer: int, dropout_p: float = 0.0, enable_gqa: bool = False) -> torch.Tensor:
    """Causal scaled-dot-product attention of the new tokens, through ``cache`` if given.

    ``q [B, H, T, D]``, ``k``/``v [B, H_kv, T, D]`` are the *new* tokens' projections (rotary
    already applied at positions ``cache.seq_len ...``).  Stores ``k``/``v`` in ``cache`` as
    layer ``layer`` and attends over everything cached, with the one mask that is right in
    each of the three patterns gptcore and the test kit use:

    * no cache, or a prefill into an empty cache: SDPA's ``is_causal=True``;
    * one new token after cached ones (decode): no mask, it may see every key;
    * a chunk of ``T > 1`` tokens after ``P`` cached ones: query ``i`` sees keys ``<= P + i``.
      ``is_causal=True`` would be wrong here (it aligns the triangle to the top-left corner,
      hiding most of the cache from the chunk) and nothing would warn.

    Returns ``[B, H, T, D]``.  ``dropout_p`` applies as given: pass 0 outside training.

    >>> import torch
    >>> q = k = v = torch.randn(1, 2, 5, 4)
    >>> full = causal_attention(q, k, v, None, 0)
    >>> cache = KVCache()
    >>> parts = [causal_attention(q[:, :, a:b], k[:, :, a:b], v[:, :, a:b], cache, 0)
    ...          for a, b in ((0, 2), (2, 4), (4, 5))]
    >>> torch.allclose(torch.cat(parts, dim=2), full, atol=1e-6)
    True
    """
    t = q.shape[-2]
    mask, causal = None, True
    if cache is not None:
        k, v = cache.update(layer, k, v)
        past = k.shape[-2] - t
        if t == 1:
            causal = False
        elif past > 0:
            causal = False
            mask = torch.ones(t, past + t, dtype=torch.bool, device=q.device).tril(diagonal=past)
    kwargs = {"enable_gqa": True} if enable_gqa else {}
    return F.scaled_dot_product_attention(q, k, v, attn_mask=mask, is_causal=causal, dropout_p=dropout_p,
                                          **kwargs)


__all__ = ["KVCache", "causal_attention"]
