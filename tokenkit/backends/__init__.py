"""The libraries behind :class:`tokenkit.Vocabulary`, one module each.

* :mod:`tokenkit.backends.hf` — Hugging Face ``tokenizers`` (``tokenizer.json``);
* :mod:`tokenkit.backends.sentencepiece` — a sentencepiece ``.model``;
* :mod:`tokenkit.backends.tiktoken` — a ``tiktoken.Encoding`` (ranks file + pattern);
* :mod:`tokenkit.backends.gpt2` — GPT-2's original ``encoder.json`` + ``vocab.bpe``, opened
  as either of the byte-level backends above.

Each module implements the interface and opens its own file format; none knows the spec
loader (:mod:`tokenkit.specs`) or the tiktoken fast path (:mod:`tokenkit.fastpath`), which the
loader and the trainer attach from above. The backend libraries are imported on first use,
so importing a backend module costs almost nothing.
"""
