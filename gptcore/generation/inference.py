"""Weight memory layout for fast one-token decoding on the CPU.

Decoding one token at a time multiplies every weight matrix by a single vector, so it is bound
by how fast the weights stream from memory, not by arithmetic.  PyTorch's ``nn.Linear`` keeps
its weight ``[out, in]`` row-major; on x86 CPUs (MKL) a matrix-vector product runs clearly faster
when the same matrix is read input-major, ``[in, out]`` row-major, the layout of OpenAI's
original GPT-2 ("Conv1D").  Measured on GPT-2 124M in fp32, 256 greedy tokens on 2 cores:
24.7 -> 31.8 tokens/s (``python -m bench.gptcore_generate``), much of it from the 50257 x 768
output head (12 ms -> 6 ms per token).

Training is faster with PyTorch's default layout (10-15% in fp32 on the same model), and bf16
weights decode faster in it too, so this is applied only by the inference commands
(``gptcore generate`` with or without ``--chat``, ``next``, ``diversity``) and only to float32
CPU weights.  It
changes memory strides only: shapes, values, parameter objects (and so weight tying and
optimizer references) and ``state_dict()`` stay the same.
"""

from __future__ import annotations

import torch
from torch import nn


def decode_layout(model: nn.Module) -> int:
    """Store every float32 CPU ``nn.Linear`` weight input-major; returns how many were changed.

    Call it after choosing the model's device and dtype (``.to()`` keeps strides).  Works for
    any architecture, plugins included, since it only looks at ``nn.Linear`` modules.
    """
    changed = 0
    with torch.no_grad():
        for module in model.modules():
            if not isinstance(module, nn.Linear):
                continue
            weight = module.weight
            if weight.device.type != "cpu" or weight.dtype != torch.float32 or not weight.is_contiguous():
                continue  # another device/dtype, or already changed through a tied parameter
            weight.data = weight.data.t().contiguous().t()
            changed += 1
    return changed


def is_decode_layout(weight: torch.Tensor) -> bool:
    """Whether a 2-D weight is stored input-major (what :func:`decode_layout` produces)."""
    return weight.dim() == 2 and weight.t().is_contiguous() and not weight.is_contiguous()
