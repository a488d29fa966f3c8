"""Reusable checks for architecture and loader plugins (plain ``assert``s, pytest-friendly).

A plugin's test suite can run the whole contract on a tiny config::

    from gptcore.kit import testing

    def test_llama_contract(tmp_path):
        testing.check_architecture("llama", dict(vocab_size=97, context_length=32, ...), tmp_path)

    def test_loader(tmp_path):
        testing.check_loader("hf-llama", good_dir)             # detects, eval mode, right arch
        testing.check_detect_rejects("hf-llama", tmp_path)     # other formats, empty dir, junk
        testing.check_exporter_roundtrip("llama", "hf", "hf-llama", TINY, tmp_path)
        testing.check_loader_missing_path("hf-llama", tmp_path)
        testing.check_loader_corrupt_file("hf-llama", good_dir, "model.safetensors", tmp_path)
        testing.check_loader_shape_mismatch("hf-llama", good_dir, "model.safetensors",
                                            "model.norm.weight", tmp_path)

    def test_silent_weight_bugs(tmp_path):
        testing.check_config_sensitivity("llama", TINY)          # every field read changes logits
        testing.check_loader_overrides("hf-llama", good_dir)      # --set of fixed fields refused
        testing.check_transformers_parity("LlamaForCausalLM", HF_TINY, tmp_path, loader="hf-llama")

Every check may be called any number of times with the same ``tmp_path`` (each makes its own
fresh subdirectory), and none assumes anything about a family's tensor names.  Round trips
start from :func:`randomize_parameters` (biases and norms too) and compare configs, so a loader
that drops, zeroes or swaps tensors, or ignores a config field, fails; a bug the loader and the
exporter share is caught by :func:`check_transformers_parity`.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
from collections.abc import Collection
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file
from torch import nn

from gptcore.errors import GptcoreError
from gptcore.export.writer import export
from gptcore.generation.decoding import GenerationConfig, generate_ids
from gptcore.generation.inference import decode_layout
from gptcore.generation.sampling import SamplingConfig
from gptcore.kit.fixtures import (
    architecture_of,
    assert_one_line_error,
    build_tiny,
    fresh_dir,
    loader_of,
    randomize_parameters,
)
from gptcore.kit.parity import check_config_sensitivity, check_loader_overrides, check_transformers_parity
from gptcore.platform.interfaces import Architecture, Loader, LoadResult
from gptcore.platform.kvcache import KVCache
from gptcore.platform.registry import architecture_for, architectures, get_architecture
from gptcore.runs.checkpoint import load_checkpoint, save_checkpoint


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
    """Model and optimizer state survive save -> load bit for bit (tied weights stay tied);
    every parameter is randomised first (:func:`randomize_parameters`)."""
    randomize_parameters(model, seed=4)
    model.train()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    ids = torch.randint(0, model.config.vocab_size, (2, 6), generator=torch.Generator().manual_seed(4))
    loss = model(ids).float().logsumexp(-1).mean()
    loss.backward()
    opt.step()
    model.eval()
    path = save_checkpoint(fresh_dir(tmp_path, "ckpt") / "ckpt", model, opt, step=3)
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
    """:func:`gptcore.generation.inference.decode_layout` keeps logits, greedy ids and the state dict.

    A model without float32 ``nn.Linear`` weights (a bigram table) has nothing to re-lay out:
    then the check is that ``decode_layout`` leaves it alone.
    """
    ref, fast = build_tiny(arch, config), build_tiny(arch, config)
    changed = decode_layout(fast)
    if not any(isinstance(m, nn.Linear) and m.weight.dtype == torch.float32 for m in ref.modules()):
        assert changed == 0, "decode_layout changed a model without float32 nn.Linear weights"
    ids = torch.randint(0, ref.config.vocab_size, (2, 7), generator=torch.Generator().manual_seed(5))
    with torch.no_grad():
        torch.testing.assert_close(fast(ids), ref(ids), rtol=0, atol=1e-5)
    greedy = GenerationConfig(max_new_tokens, SamplingConfig(temperature=0.0))
    prompts = [[1, 2, 3], [4, 5]]
    assert generate_ids(fast, prompts, greedy) == generate_ids(ref, prompts, greedy)
    a, b = ref.state_dict(), fast.state_dict()
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def check_bf16_autocast(model: nn.Module, length: int = 7) -> None:
    """A forward under CPU bf16 autocast (``gptcore pretrain --bf16``) runs and stays close to
    float32: finite logits of the right shape, same argmax at most positions."""
    vocab = model.config.vocab_size
    ids = torch.randint(0, vocab, (2, length), generator=torch.Generator().manual_seed(6))
    with torch.no_grad():
        ref = model(ids).float()
        with torch.autocast("cpu", dtype=torch.bfloat16):
            low = model(ids)
    assert low.shape == ref.shape, f"bf16 autocast changed the logits' shape: {tuple(low.shape)}"
    low = low.float()
    assert torch.isfinite(low).all(), "bf16 autocast gives non-finite logits"
    scale = ref.abs().max().clamp_min(1e-3)
    assert (low - ref).abs().max() <= 0.1 * scale + 0.05, "bf16 autocast logits are far from float32"


def check_dropout(arch: str | Architecture, config: dict[str, Any], p: float = 0.5) -> None:
    """With ``dropout`` (if the config has that field): training forwards are random, eval
    forwards are deterministic and equal to the same weights built with ``dropout=0``."""
    a = architecture_of(arch)
    if "dropout" not in {f.name for f in dataclasses.fields(a.config_class)}:
        return
    model, plain = build_tiny(a, {**config, "dropout": p}), build_tiny(a, {**config, "dropout": 0.0})
    plain.load_state_dict(model.state_dict())
    ids = torch.randint(0, model.config.vocab_size, (2, 8), generator=torch.Generator().manual_seed(7))
    model.train()
    with torch.no_grad():
        torch.manual_seed(0)
        first = model(ids)
        torch.manual_seed(1)
        second = model(ids)
    assert not torch.equal(first, second), f"dropout={p} does nothing in training mode"
    model.eval()
    with torch.no_grad():
        torch.testing.assert_close(model(ids), plain(ids), rtol=0, atol=1e-6,
                                   msg="dropout is applied in eval mode")


def check_generate_past_context(model: nn.Module, extra: int = 5) -> None:
    """Generating past ``context_length`` (gptcore then slides a window without a cache) works
    and agrees with the cache-free loop, greedy ids identical."""
    ctx = model.config.context_length
    prompt = [[(3 * i + 1) % model.config.vocab_size for i in range(max(1, ctx - 2))]]
    greedy = SamplingConfig(temperature=0.0)
    n = extra + 2
    try:
        with_cache = generate_ids(model, prompt, GenerationConfig(n, greedy))
        no_cache = generate_ids(model, prompt, GenerationConfig(n, greedy, use_cache=False))
    except Exception as exc:  # noqa: BLE001 - reported as the failure it is
        raise AssertionError(f"generation past context_length fails: {type(exc).__name__}: {exc}") from exc
    assert len(with_cache[0]) == n, "generation stopped at context_length"
    assert with_cache == no_cache, "generation past context_length differs with and without the cache"


def check_preset_names(arch: str | Architecture) -> None:
    """Each preset builds a valid config, sets what it says, and no other registered
    architecture defines the same name (preset names are global: prefix them with the family)."""
    a = architecture_of(arch)
    for preset, values in a.presets.items():
        cfg = a.make_config(preset)
        for key, value in values.items():
            assert getattr(cfg, key) == value, f"preset {preset} does not set {key}"
        others = [i.name for i in architectures().plugins.values() if i.plugin is not a and preset in i.plugin.presets]
        assert not others, f"preset {preset!r} of {a.name!r} is also defined by {', '.join(others)}"


def check_architecture(arch: str | Architecture, config: dict[str, Any], tmp_path: Path) -> nn.Module:
    """Run every architecture check above on a tiny ``config``; returns the model."""
    a = architecture_of(arch)
    check_preset_names(a)
    model = build_tiny(a, config)
    check_forward_shape(model)
    check_causal(model)
    check_kv_cache(model)
    check_generate(model)
    check_generate_past_context(model)
    check_decode_layout(a, config)
    check_bf16_autocast(model)
    check_dropout(a, config)
    check_checkpoint_roundtrip(model, tmp_path)
    return model


def check_loader(loader: str | Loader, good: Path, overrides: dict[str, Any] | None = None) -> LoadResult:
    """``detect`` accepts ``good``; ``load`` returns a :class:`LoadResult` whose model is in eval
    mode on the CPU, of the architecture it declares (``architecture_for(model)``), one the
    loader lists, and runs a forward; ``vocabulary`` is None or a string."""
    lo = loader_of(loader)
    assert lo.detect(Path(good)) is True, f"loader {lo.name} does not detect its own {good}"
    result = lo.load(Path(good), dict(overrides or {}))
    assert isinstance(result, LoadResult), f"loader {lo.name} returned {type(result).__name__}, not LoadResult"
    model = result.model
    assert not any(m.training for m in model.modules()), f"loader {lo.name} returned a model in training mode"
    assert all(p.device.type == "cpu" for p in model.parameters()), f"loader {lo.name} left weights off the CPU"
    declared = architecture_for(model).name
    assert result.architecture == declared, \
        f"loader {lo.name} says architecture {result.architecture!r}, the model is {declared!r}"
    assert not lo.architectures or declared in lo.architectures, \
        f"loader {lo.name} produced {declared!r}, not one of its architectures {lo.architectures}"
    assert result.vocabulary is None or isinstance(result.vocabulary, str)
    check_forward_shape(model)
    return result


def _other_formats(tmp_path: Path) -> dict[str, Path]:
    """Paths of other formats, built without any optional dependency."""
    root = fresh_dir(tmp_path, "formats")
    gpt2 = get_architecture("gpt2")
    torch.manual_seed(0)
    tiny = gpt2.build(gpt2.make_config(None, vocab_size=11, context_length=8, emb_dim=8, n_layers=1, n_heads=2))
    found = {"gptcore-checkpoint": save_checkpoint(root / "checkpoint", tiny.eval(), save_rng=False),
             "hf-gpt2": export(tiny, "hf", root / "hf-gpt2"), "empty directory": root / "empty"}
    found["empty directory"].mkdir()
    junk = os.urandom(256)
    for name in ("random.bin", "random.safetensors", "random.json"):
        (root / name).write_bytes(junk)
        found[f"random file {name}"] = root / name
    found["missing path"] = root / "does-not-exist"
    return found


def check_detect_rejects(loader: str | Loader, tmp_path: Path) -> None:
    """``detect`` says no, without raising, to a gptcore checkpoint, a HF GPT-2 directory, an
    empty directory, random files and a missing path (except the loader's own format)."""
    lo = loader_of(loader)
    for what, path in _other_formats(tmp_path).items():
        if what == lo.name:
            continue
        try:
            accepted = lo.detect(path)
        except Exception as exc:  # noqa: BLE001 - reported as the failure it is
            raise AssertionError(f"loader {lo.name}: detect raised {type(exc).__name__} on a {what}") from exc
        assert accepted is False, f"loader {lo.name} detects a {what} ({path}) as its format"


def check_exporter_roundtrip(arch: str | Architecture, fmt: str, loader: str | Loader, config: dict[str, Any],
                             tmp_path: Path, atol: float = 1e-5, config_ignore: Collection[str] = ()) -> None:
    """Exporting a tiny model whose every parameter is random (biases and norms included)
    as ``fmt`` writes files ``loader`` detects and loads back to the same architecture, the
    same config (every field but ``config_ignore``) and the same logits.

    A round trip cannot see a bug the exporter and the loader share (a transpose or a swap
    done on both sides): :func:`check_transformers_parity` does.
    """
    a, lo = architecture_of(arch), loader_of(loader)
    model = randomize_parameters(build_tiny(a, config, seed=8), seed=8)
    out = fresh_dir(tmp_path, f"export-{fmt}") / "out"
    out.mkdir()
    if fmt not in a.exporters:
        raise AssertionError(f"architecture {a.name} has no exporter {fmt!r}")
    a.exporters[fmt](model, out)
    assert out.is_dir() and any(out.iterdir()), f"exporter {fmt!r} of {a.name} wrote nothing"
    assert lo.detect(out) is True, f"loader {lo.name} does not detect what exporter {fmt!r} wrote"
    result = lo.load(out, {})
    assert result.architecture == a.name, f"{fmt!r} export loads back as {result.architecture!r}"
    saved, loaded = dataclasses.asdict(model.config), dataclasses.asdict(result.model.config)
    changed = {k: (saved[k], loaded.get(k)) for k in saved if k not in config_ignore and saved[k] != loaded.get(k)}
    assert not changed, f"{fmt!r} export of {a.name} loads back with another config (saved, loaded): {changed}"
    ids = torch.randint(0, model.config.vocab_size, (2, 6), generator=torch.Generator().manual_seed(9))
    with torch.no_grad():
        torch.testing.assert_close(result.model(ids), model(ids), rtol=0, atol=atol,
                                   msg=f"{fmt!r} export of {a.name} loads back with other logits")


def _load_error(loader: str | Loader, path: Path, what: str) -> GptcoreError:
    """The GptcoreError that loading ``path`` raises; fails the check if it loads."""
    try:
        loader_of(loader).load(path, {})
    except GptcoreError as exc:
        return exc
    raise AssertionError(f"loader {loader} accepted {what}")


def check_loader_missing_path(loader: str | Loader, tmp_path: Path) -> None:
    """Loading a path that does not exist raises a one-line GptcoreError naming it."""
    missing = fresh_dir(tmp_path, "missing") / "does-not-exist"
    assert_one_line_error(_load_error(loader, missing, "a missing path"), str(missing))


def _copy(src: Path, tmp_path: Path, name: str) -> Path:
    dst = fresh_dir(tmp_path, name) / (name if src.is_dir() else name + src.suffix)
    if src.is_dir():
        shutil.copytree(src, dst)
    else:
        shutil.copy(src, dst)
    return dst


def check_loader_corrupt_file(loader: str | Loader, good: Path, weights_name: str | None, tmp_path: Path) -> None:
    """A truncated and a garbage weights file each give a one-line error naming the file."""
    for kind in ("truncated", "garbage"):
        copy = _copy(good, tmp_path, f"corrupt-{kind}")
        target = copy / weights_name if weights_name else copy
        data = target.read_bytes()
        target.write_bytes(data[: len(data) // 2] if kind == "truncated" else b"\x07" * 64)
        assert_one_line_error(_load_error(loader, copy, f"a {kind} file"), str(target))


def check_loader_shape_mismatch(loader: str | Loader, good: Path, weights_name: str | None, tensor: str,
                                tmp_path: Path) -> None:
    """Growing one safetensors tensor gives a one-line error naming it (as the file spells it:
    ``tensor`` verbatim) and both shapes."""
    copy = _copy(good, tmp_path, "bad-shape")
    target = copy / weights_name if weights_name else copy
    tensors = load_file(str(target))
    original = tuple(tensors[tensor].shape)
    tensors[tensor] = torch.zeros(original[0] + 1, *original[1:])
    save_file(tensors, str(target))
    exc = _load_error(loader, copy, f"tensor {tensor} with a wrong shape")
    assert_one_line_error(exc, tensor)
    bad, message = (original[0] + 1, *original[1:]), str(exc)
    assert str(bad) in message or str(bad[::-1]) in message, message
    assert str(original) in message or str(original[::-1]) in message, message


# the whole kit from one module: `from gptcore.kit import testing` (or gptcore.plugin's re-exports)
__all__ = [
    "assert_one_line_error", "build_tiny", "check_architecture", "check_bf16_autocast",
    "check_causal", "check_checkpoint_roundtrip", "check_config_sensitivity",
    "check_decode_layout", "check_detect_rejects", "check_dropout", "check_exporter_roundtrip",
    "check_forward_shape", "check_generate", "check_generate_past_context", "check_kv_cache",
    "check_loader", "check_loader_corrupt_file", "check_loader_missing_path",
    "check_loader_overrides", "check_loader_shape_mismatch", "check_preset_names",
    "check_transformers_parity", "randomize_parameters",
]
