"""Test helpers: a tiny trained vocabulary and tiny random transformers GPT-2 directories."""

from __future__ import annotations

import logging
from pathlib import Path

import torch

CORPORA = Path(__file__).resolve().parents[2].parent / "shared" / "corpora"
SPECIALS = ["<bos>", "<eos>", "<start_of_turn>", "<end_of_turn>", "<pad>"]
TEXT = ("the quick brown fox jumps over the lazy dog. " * 3 +
        "I had always thought Jack Gisburn rather a cheap genius, though a good fellow enough. "
        "so it was no great surprise to me to hear that, in the height of his glory, he had dropped "
        "his painting, married a rich widow, and established himself in a villa on the Riviera. ") * 4

logging.getLogger("transformers").setLevel(logging.ERROR)


def train_vocab(directory: Path, vocab_size: int = 300, specials: list[str] | None = None) -> Path:
    """Byte-level BPE trained with ``tokenizers`` and saved as ``tokenizer.json``."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
                                  special_tokens=SPECIALS if specials is None else specials)
    tok.train_from_iterator([TEXT], trainer)
    directory.mkdir(parents=True, exist_ok=True)
    tok.save(str(directory / "tokenizer.json"))
    return directory


def save_hf_gpt2(directory: Path, seed: int = 0, safe: bool = True, **config) -> Path:
    """A random ``GPT2LMHeadModel`` saved with ``save_pretrained``."""
    import transformers

    torch.manual_seed(seed)
    values = dict(vocab_size=97, n_positions=32, n_embd=48, n_layer=2, n_head=4,
                  bos_token_id=0, eos_token_id=1)
    values.update(config)
    model = transformers.GPT2LMHeadModel(transformers.GPT2Config(**values)).eval()
    model.save_pretrained(str(directory), safe_serialization=safe)
    return directory
