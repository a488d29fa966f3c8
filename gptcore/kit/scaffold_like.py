"""``gptcore new-plugin NAME --like llama|gpt2``: a family built from the shared blocks, with a
Hugging Face loader and exporter for its reference layout and a parity test against
``transformers``, all passing before the author edits a line.

The HF loader (``hf-NAME``) reads the reference family's directories (``LlamaForCausalLM`` /
``GPT2LMHeadModel``) but claims none in format detection (``CLAIMS = ()``): a real Llama or
GPT-2 directory stays hf-llama's or hf-gpt2's, so installing the skeleton makes nothing
ambiguous, and a directory of the author's real family (e.g. ``model_type: qwen2``) is never
claimed by a loader that cannot read it yet.  Use it with ``--loader hf-NAME``; add the
family's ``model_type`` to ``CLAIMS`` once its parity test passes on that family.
"""

from __future__ import annotations

from importlib.resources import files

LIKES = ("llama", "gpt2")
#: The files are templates/{like}-model.py.txt, {like}-hf.py.txt and tests.py.txt.


_TINY = {
    "llama": ("dict(vocab_size=97, context_length=32, emb_dim=32, hidden_dim=72, n_layers=2, n_heads=4, "
              "n_kv_heads=2, rope_theta=5000.0)",
              "dict(vocab_size=97, max_position_embeddings=32, hidden_size=32, intermediate_size=72,\n"
              "               num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2, rope_theta=5000.0,\n"
              "               rms_norm_eps=1e-5, tie_word_embeddings=False)",
              "LlamaForCausalLM", "norm.weight"),
    "gpt2": ("dict(vocab_size=97, context_length=32, emb_dim=32, n_layers=2, n_heads=4)",
             "dict(vocab_size=97, n_positions=32, n_embd=32, n_layer=2, n_head=4)",
             "GPT2LMHeadModel", "ln_f.weight"),
}


def _template(name: str) -> str:
    """A skeleton file of ``templates/`` (package data: ``str.format`` fields in braces)."""
    return files("gptcore.kit").joinpath("templates", name).read_text(encoding="utf-8")


def like_files(like: str, values: dict[str, str]) -> dict[str, str]:
    """``model.py``, ``hf.py`` and the test file of a family shaped like ``like``."""
    tiny, tiny_hf, reference, shape_tensor = _TINY[like]
    package = values["package"]
    return {
        f"src/{package}/model.py": _template(f"{like}-model.py.txt").format(**values),
        f"src/{package}/hf.py": _template(f"{like}-hf.py.txt").format(**values),
        f"tests/test_{package}.py": _template("tests.py.txt").format(**values, tiny=tiny, tiny_hf=tiny_hf, reference=reference,
                                                      shape_tensor=shape_tensor),
    }


__all__ = ["LIKES", "like_files"]
