"""Loaders that belong to no model family: gptcore's own checkpoints (:mod:`.checkpoint`).

A family's loaders live in its package (``gptcore.models.gpt2.hf``, ``.textbook``);
``gptcore.loaders.hf_gpt2`` and ``gptcore.loaders.textbook`` are deprecated aliases of those.
"""
