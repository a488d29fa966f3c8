"""Named recipes: ``gptcore pretrain --recipe NAME`` fills in these flag values.

A recipe is data, a dict from option name (as the ``pretrain`` command spells its parameters)
to value; flags given on the command line still win. ``pretrain`` prints the recipe at start.
"""

from __future__ import annotations

from typing import Any

from gptcore.errors import GptcoreError

RECIPES: dict[str, dict[str, Any]] = {
    # Build a Large Language Model (From Scratch), ch. 5: GPT-2 124M (context 256) on The Verdict,
    # as the book's train_model_simple runs it: untied head, PyTorch's default initialisation,
    # AdamW(model.parameters(), lr=4e-4, weight_decay=0.1) with default betas, no clipping, a
    # constant rate, batch 2 windows at stride = context, 10 epochs; eval after update 1 and then
    # every 5 updates on 5 batches, train loss measured in eval mode; seed 123 before the model.
    # Precision is the machine's, as for any run: bf16 autocast where the device multiplies bf16
    # natively (about 2x on such a CPU; the log stays within 0.011 of the book's at every
    # evaluation: bench/gptcore_textbook.py), float32 elsewhere; `--fp32` gives the book's log.
    "textbook-ch5": {
        "preset": "gpt2-124m-ctx256",
        "sets": ("tie_weights=false", "init=pytorch"),
        "tokenizer": "gpt2",
        "data": ("the-verdict",),
        "val_fraction": 0.1,
        "order": "loader",  # shuffled per epoch as the book's DataLoader does (same RNG draws)
        "batch_size": 2,
        "grad_accum": 1,
        "epochs": 10.0,
        "lr": 4e-4,
        "lr_schedule": "constant",
        "warmup_steps": 0,
        "weight_decay": 0.1,
        "decay_all": True,
        "beta1": 0.9,
        "beta2": 0.999,
        "grad_clip": 0.0,
        "eval_every": 5,
        "eval_start": 1,
        "eval_batches": 5,
        "seed": 123,
        "bf16": None,  # auto: bf16 autocast where the device has it natively; --fp32 for the book's float32
    },
}


def recipe(name: str) -> dict[str, Any]:
    """The flag values of recipe ``name`` (a copy)."""
    if name not in RECIPES:
        raise GptcoreError(f"unknown recipe {name!r} (known: {', '.join(sorted(RECIPES))})")
    return dict(RECIPES[name])


__all__ = ["RECIPES", "recipe"]
