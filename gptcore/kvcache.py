"""The key/value cache every architecture's attention layers write into while decoding.

gptcore owns the cache (it creates one per generation and decides prefill vs decode), the
model only calls :meth:`KVCache.update` from each attention layer; see
:mod:`gptcore.protocol` for the rules.
"""

from __future__ import annotations

import torch


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


__all__ = ["KVCache"]
