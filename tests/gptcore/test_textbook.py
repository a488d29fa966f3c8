"""The textbook recipe's loop is the book's loop: on a small model, gptcore's evaluations equal
those of llms-from-scratch's ``train_model_simple`` fed by the book's data loaders."""

from __future__ import annotations

import pytest
import torch

from gptcore.data.shards import TokenShards
from gptcore.data.preparation import prepare
from gptcore.platform.registry import build_model
from gptcore.training.config import TrainConfig
from gptcore.training.loop import train
from gptcore.data.vocab import load_vocabulary

SMALL = dict(context_length=64, emb_dim=16, n_layers=1, n_heads=2)


def _book_tokenizer(corpora):
    import tiktoken
    from tiktoken.load import data_gym_to_mergeable_bpe_ranks

    ranks = data_gym_to_mergeable_bpe_ranks(str(corpora / "gpt2" / "vocab.bpe"), str(corpora / "gpt2" / "encoder.json"))
    return tiktoken.Encoding("gpt2", mergeable_ranks=ranks, special_tokens={"<|endoftext|>": 50256},
                             pat_str=r"""'(?:[sdmt]|ll|ve|re)| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+""")


def test_recipe_settings_reproduce_the_book_loop(verdict_path, tmp_path, monkeypatch, capsys):
    ch02 = pytest.importorskip("llms_from_scratch.ch02")
    from llms_from_scratch import ch05
    from llms_from_scratch.ch04 import GPTModel

    from gptcore.training.recipes import recipe

    tokenizer = _book_tokenizer(verdict_path.parent)
    monkeypatch.setattr(ch02.tiktoken, "get_encoding", lambda name: tokenizer)
    text = verdict_path.read_text(encoding="utf-8")
    split = int(0.9 * len(text))
    torch.manual_seed(123)
    train_loader = ch02.create_dataloader_v1(text[:split], batch_size=2, max_length=64, stride=64,
                                             drop_last=True, shuffle=True, num_workers=0)
    val_loader = ch02.create_dataloader_v1(text[split:], batch_size=2, max_length=64, stride=64,
                                           drop_last=False, shuffle=False, num_workers=0)
    torch.manual_seed(123)
    book = GPTModel({"vocab_size": 50257, "drop_rate": 0.1, "qkv_bias": False, **SMALL})
    optimizer = torch.optim.AdamW(book.parameters(), lr=4e-4, weight_decay=0.1)
    book_train, book_val, _ = ch05.train_model_simple(book, train_loader, val_loader, optimizer, "cpu", num_epochs=1,
                                                      eval_freq=5, eval_iter=5, start_context="Every effort",
                                                      tokenizer=tokenizer)
    capsys.readouterr()

    r = recipe("textbook-ch5")
    vocab = load_vocabulary("gpt2")
    prepare(vocab, [str(verdict_path)], tmp_path / "data", val_fraction=r["val_fraction"])
    options = {k: v for k, v in r.items() if k in TrainConfig.__dataclass_fields__}
    # float32, as the book: the loop's arithmetic is what is compared (bf16 is the bench's business)
    cfg = TrainConfig(**{**options, "epochs": 1.0, "grad_clip": None, "sample_tokens": 0, "bf16": False})
    torch.manual_seed(r["seed"])
    ours = build_model(None, r["preset"], vocab_size=50257, tie_weights=False, init="pytorch", **SMALL)
    result = train(ours, TokenShards(tmp_path / "data"), cfg, vocab=vocab)
    evals = [e for e in result.history if e["kind"] == "eval"]
    assert len(book_train) > 5 and evals[len(book_train) - 1]["step"] == 1 + 5 * (len(book_train) - 1)
    evals = evals[:len(book_train)]  # gptcore also evaluates after the last update
    assert [e["train_loss"] for e in evals] == pytest.approx(book_train, abs=2e-3)
    assert [e["val_loss"] for e in evals] == pytest.approx(book_val, abs=2e-3)
