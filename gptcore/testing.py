"""Reusable checks for architecture and loader plugins (plain ``assert``s, pytest-friendly).

A plugin's test suite can run the whole contract on a tiny config::

    from gptcore import testing

    def test_llama_contract(tmp_path):
        testing.check_architecture("llama", dict(vocab_size=97, context_length=32, ...), tmp_path)

    def test_loader_errors(tmp_path):
        testing.check_loader_missing_path("hf-llama", tmp_path)
        testing.check_loader_corrupt_file("hf-llama", good_dir, "model.safetensors", tmp_path)
        testing.check_loader_shape_mismatch("hf-llama", good_dir, "model.safetensors",
                                            "model.norm.weight", tmp_path)
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file
from torch import nn

from gptcore.checkpoint import load_checkpoint, save_checkpoint
from gptcore.errors import GptcoreError
from gptcore.generation import GenerationConfig, generate_ids
from gptcore.inference import decode_layout
from gptcore.interfaces import Architecture
from gptcore.kvcache import KVCache
from gptcore.registry import get_architecture, get_loader
from gptcore.sampling import SamplingConfig


def _arch(arch: str | Architecture) -> Architecture:
    return get_architecture(arch) if isinstance(arch, str) else arch


def build_tiny(arch: str | Architecture, config: dict[str, Any], seed: int = 0) -> nn.Module:
    """Build ``arch`` with ``config`` overrides, deterministically initialised, in eval mode."""
    a = _arch(arch)
    torch.manual_seed(seed)
    return a.build(a.make_config(None, **config)).eval()


def assert_one_line_error(exc: BaseException, *needles: str) -> None:
    """The error is a single line that mentions every ``needle`` (file, tensor, shape...)."""
    message = str(exc)
    assert "\n" not in message.strip(), f"error is not one line: {message!r}"
    for needle in needles:
        assert needle in message, f"{needle!r} not in error message {message!r}"


def check_forward_shape(model: nn.Module, batch: int = 2, length: int = 7) -> torch.Tensor:
    """``model(ids)`` gives finite float logits ``[B, T, vocab_size]``; returns them."""
    vocab = model.config.vocab_size
    ids = torch.randint(0, vocab, (batch, length), generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        logits = model(ids)
    assert logits.shape == (batch, length, vocab), logits.shape
    assert logits.is_floating_point() and torch.isfinite(logits).all()
    return logits


def check_causal(model: nn.Module, length: int = 8) -> None:
    """Changing a later token never changes earlier logits."""
    vocab = model.config.vocab_size
    ids = torch.randint(0, vocab, (1, length), generator=torch.Generator().manual_seed(2))
    changed = ids.clone()
    changed[0, -1] = (changed[0, -1] + 1) % vocab
    with torch.no_grad():
        a, b = model(ids), model(changed)
    torch.testing.assert_close(a[:, :-1], b[:, :-1], rtol=0, atol=1e-5)
    assert not torch.allclose(a[:, -1], b[:, -1])


def check_kv_cache(model: nn.Module, length: int = 10, atol: float = 1e-5) -> None:
    """Prefill + chunk + one-token decode through a KV cache equals one full forward."""
    vocab = model.config.vocab_size
    ids = torch.randint(0, vocab, (2, length), generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        full = model(ids)
        cache = KVCache()
        parts = [model(ids[:, :4], cache), model(ids[:, 4:5], cache), model(ids[:, 5:], cache)]
    assert cache.seq_len == length
    torch.testing.assert_close(torch.cat(parts, dim=1), full, rtol=0, atol=atol)


def check_generate(model: nn.Module, max_new_tokens: int = 6) -> None:
    """Greedy with and without cache agree; seeded sampling is reproducible; shapes are right."""
    vocab = model.config.vocab_size
    prompts = [[1, 2, 3], [4, 5, 6], [7, 8]]
    greedy = SamplingConfig(temperature=0.0)
    with_cache = generate_ids(model, prompts, GenerationConfig(max_new_tokens, greedy))
    no_cache = generate_ids(model, prompts, GenerationConfig(max_new_tokens, greedy, use_cache=False))
    assert with_cache == no_cache
    assert all(len(seq) == max_new_tokens and all(0 <= t < vocab for t in seq) for seq in with_cache)
    one = generate_ids(model, [prompts[2]], GenerationConfig(max_new_tokens, greedy))
    assert one[0] == with_cache[2], "batched and unbatched greedy generation differ"
    sampled = GenerationConfig(max_new_tokens, SamplingConfig(temperature=1.0, top_k=5), seed=7,
                               num_return_sequences=2)
    first = generate_ids(model, prompts[:1], sampled)
    assert len(first) == 2
    assert first == generate_ids(model, prompts[:1], sampled)


def check_checkpoint_roundtrip(model: nn.Module, tmp_path: Path) -> None:
    """Model and optimizer state survive save -> load bit for bit (tied weights stay tied)."""
    model.train()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    ids = torch.randint(0, model.config.vocab_size, (2, 6), generator=torch.Generator().manual_seed(4))
    loss = model(ids).float().logsumexp(-1).mean()
    loss.backward()
    opt.step()
    model.eval()
    path = save_checkpoint(tmp_path / "ckpt", model, opt, step=3)
    ckpt = load_checkpoint(path)
    assert ckpt.step == 3
    loaded = ckpt.model
    assert type(loaded.config) is type(model.config) and loaded.config == model.config
    a, b = model.state_dict(), loaded.state_dict()
    assert a.keys() == b.keys()
    for name in a:
        assert torch.equal(a[name], b[name]), f"tensor {name} changed in the round trip"
    shared_before = {n for n, _ in model.named_parameters(remove_duplicate=False)} - \
        {n for n, _ in model.named_parameters()}
    shared_after = {n for n, _ in loaded.named_parameters(remove_duplicate=False)} - \
        {n for n, _ in loaded.named_parameters()}
    assert shared_before == shared_after, "tied parameters were not restored"
    opt2 = torch.optim.AdamW(loaded.parameters(), lr=1e-3)
    opt2.load_state_dict(ckpt.optimizer_state)
    s1, s2 = opt.state_dict(), opt2.state_dict()
    assert s1["param_groups"] == s2["param_groups"]
    for idx, slots in s1["state"].items():
        for key, value in slots.items():
            assert torch.equal(value, s2["state"][idx][key]), f"optimizer state {idx}.{key} changed"


def check_decode_layout(arch: str | Architecture, config: dict[str, Any], max_new_tokens: int = 6) -> None:
    """:func:`gptcore.inference.decode_layout` keeps logits, greedy ids and the state dict."""
    ref, fast = build_tiny(arch, config), build_tiny(arch, config)
    assert decode_layout(fast) > 0, "no float32 nn.Linear weight to re-lay out"
    ids = torch.randint(0, ref.config.vocab_size, (2, 7), generator=torch.Generator().manual_seed(5))
    with torch.no_grad():
        torch.testing.assert_close(fast(ids), ref(ids), rtol=0, atol=1e-5)
    greedy = GenerationConfig(max_new_tokens, SamplingConfig(temperature=0.0))
    prompts = [[1, 2, 3], [4, 5]]
    assert generate_ids(fast, prompts, greedy) == generate_ids(ref, prompts, greedy)
    a, b = ref.state_dict(), fast.state_dict()
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def check_architecture(arch: str | Architecture, config: dict[str, Any], tmp_path: Path) -> nn.Module:
    """Run every architecture check above on a tiny ``config``; returns the model."""
    a = _arch(arch)
    for preset, values in a.presets.items():
        cfg = a.make_config(preset)
        for key, value in values.items():
            assert getattr(cfg, key) == value, f"preset {preset} does not set {key}"
    model = build_tiny(a, config)
    check_forward_shape(model)
    check_causal(model)
    check_kv_cache(model)
    check_generate(model)
    check_decode_layout(a, config)
    check_checkpoint_roundtrip(model, tmp_path)
    return model


# --------------------------------------------------------------------------------------------
# Loader error checks
# --------------------------------------------------------------------------------------------


def _load_error(loader: str, path: Path, what: str) -> GptcoreError:
    """The GptcoreError that loading ``path`` raises; fails the check if it loads."""
    try:
        get_loader(loader).load(path, {})
    except GptcoreError as exc:
        return exc
    raise AssertionError(f"loader {loader} accepted {what}")


def check_loader_missing_path(loader: str, tmp_path: Path) -> None:
    """Loading a path that does not exist raises a one-line GptcoreError naming it."""
    missing = tmp_path / "does-not-exist"
    assert_one_line_error(_load_error(loader, missing, "a missing path"), str(missing))


def _copy(src: Path, tmp_path: Path, name: str) -> Path:
    dst = tmp_path / (name if src.is_dir() else name + src.suffix)
    if src.is_dir():
        shutil.copytree(src, dst)
    else:
        shutil.copy(src, dst)
    return dst


def check_loader_corrupt_file(loader: str, good: Path, weights_name: str | None, tmp_path: Path) -> None:
    """A truncated and a garbage weights file each give a one-line error naming the file."""
    for kind in ("truncated", "garbage"):
        copy = _copy(good, tmp_path, f"corrupt-{kind}")
        target = copy / weights_name if weights_name else copy
        data = target.read_bytes()
        target.write_bytes(data[: len(data) // 2] if kind == "truncated" else b"\x07" * 64)
        assert_one_line_error(_load_error(loader, copy, f"a {kind} file"), str(target))


def check_loader_shape_mismatch(loader: str, good: Path, weights_name: str | None, tensor: str,
                                tmp_path: Path) -> None:
    """Growing one safetensors tensor gives a one-line error naming it and both shapes."""
    copy = _copy(good, tmp_path, "bad-shape")
    target = copy / weights_name if weights_name else copy
    tensors = load_file(str(target))
    original = tuple(tensors[tensor].shape)
    tensors[tensor] = torch.zeros(original[0] + 1, *original[1:])
    save_file(tensors, str(target))
    exc = _load_error(loader, copy, f"tensor {tensor} with a wrong shape")
    assert_one_line_error(exc, tensor.removeprefix("transformer."))
    bad, message = (original[0] + 1, *original[1:]), str(exc)
    assert str(bad) in message or str(bad[::-1]) in message, message
    assert str(original) in message or str(original[::-1]) in message, message
