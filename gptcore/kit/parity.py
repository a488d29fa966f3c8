"""Kit checks against silent weight bugs: config sensitivity, refused overrides, parity with transformers."""

from __future__ import annotations

import dataclasses
from collections.abc import Collection, Mapping
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file

from gptcore.errors import GptcoreError
from gptcore.generation.decoding import GenerationConfig, generate_ids
from gptcore.generation.sampling import SamplingConfig
from gptcore.kit.fixtures import (
    architecture_of,
    assert_one_line_error,
    fresh_dir,
    loader_of,
    logits_of,
    randomize_parameters,
)
from gptcore.platform.interfaces import Architecture, Loader, LoadResult
from gptcore.platform.registry import load_model


def _perturbed(value: Any) -> list[Any]:
    """Other values of a config field to try (none for strings and None)."""
    if isinstance(value, bool):
        return [not value]
    if isinstance(value, int):
        return [value * 2, value + 1, value - 1, value // 2]
    if isinstance(value, float):
        return [value * 4 if value else 0.25]
    return []


def _with(a: Architecture, config: Any, key: str, candidates: list[Any]) -> Any | None:
    """``config`` with ``key`` set to the first candidate that makes a valid config."""
    for value in candidates:
        try:
            return a.make_config(None, **{**dataclasses.asdict(config), key: value})
        except (ValueError, GptcoreError):
            continue
    return None


def check_config_sensitivity(arch: str | Architecture, config: dict[str, Any],
                             ignore: Collection[str] = ("context_length", "dropout"),
                             values: Mapping[str, Any] | None = None) -> None:
    """Changing any config field the model reads changes its logits (``rope_theta``, eps,
    heads, a tied head ...): a family that builds a layer with a constant where the config
    says otherwise, or drops a field, fails here.

    Both models get the same random parameters wherever shapes agree
    (:func:`randomize_parameters`).  Booleans are flipped, numbers scaled; strings and None
    are tried only with a value from ``values`` (field -> value).  Fields only some configs use
    (``rope_factor`` without rope scaling) belong in ``ignore`` or in a second call whose
    ``config`` uses them.
    """
    a = architecture_of(arch)
    base_cfg = a.make_config(None, **config)
    base = logits_of(randomize_parameters(a.build(base_cfg).eval()))
    inert = []
    for f in dataclasses.fields(base_cfg):
        if f.name in ignore:
            continue
        candidates = [values[f.name]] if values and f.name in values else _perturbed(getattr(base_cfg, f.name))
        changed = _with(a, base_cfg, f.name, candidates)
        if changed is None:
            continue
        other = logits_of(randomize_parameters(a.build(changed).eval()))
        if other.shape == base.shape and torch.equal(other, base):
            inert.append(f"{f.name}={getattr(changed, f.name)!r}")
    assert not inert, (f"{a.name}: changing {', '.join(inert)} leaves the logits unchanged: the model ignores "
                       "these fields (or pass them in ignore= if this config does not use them)")


def check_loader_overrides(loader: str | Loader, good: Path,
                           settable: Collection[str] = ("context_length", "dropout")) -> None:
    """``--set`` of a field the weights file fixes is refused or harmless.

    For every int and bool field of the loaded config except ``settable``, loading ``good``
    with a changed value must raise a one-line :class:`GptcoreError` or give the same logits:
    ``--set tie_weights=true`` on an untied file must not silently drop its head, and
    ``--set n_heads=8`` must not reinterpret the attention weights.  Float fields (eps,
    ``rope_theta``) are deliberate experiments and are not checked.
    """
    lo = loader_of(loader)
    base = lo.load(Path(good), {}).model
    want = logits_of(base, length=4)
    accepted = []
    for f in dataclasses.fields(base.config):
        value = getattr(base.config, f.name)
        if f.name in settable or isinstance(value, float) or not isinstance(value, (bool, int)):
            continue
        for candidate in _perturbed(value)[:2]:
            override = {f.name: str(candidate).lower() if isinstance(candidate, bool) else str(candidate)}
            try:
                model = lo.load(Path(good), override).model
            except GptcoreError as exc:
                assert_one_line_error(exc)
                continue
            got = logits_of(model, length=4)
            if got.shape != want.shape or not torch.equal(got, want):
                accepted.append(f"{f.name}={candidate}")
    assert not accepted, (f"loader {lo.name} accepts --set {', '.join(accepted)} and loads another model from "
                          f"{good}: refuse fields the file fixes (apply_overrides(..., fixed=...))")


def check_transformers_parity(hf_class: str | type, hf_config: Mapping[str, Any], tmp_path: Path, *,
                              loader: str | Loader | None = None, init_scale: float = 0.5, atol: float = 1e-4,
                              seed: int = 0, new_tokens: int = 12, layout: str = "safetensors",
                              expect_architecture: str | None = None) -> LoadResult:
    """Parity with the reference: a random ``transformers`` model of class ``hf_class``
    (e.g. ``"Qwen2ForCausalLM"``) with ``hf_config``, saved with ``save_pretrained`` in
    ``layout`` (``"safetensors"``, ``"sharded"`` (an index and several shards) or ``"bin"``
    (``pytorch_model.bin``)), loaded through the plugin (``loader``, or format detection), gives the same logits
    (max |difference| <= ``atol``) and the same greedy ids.

    The reference is built so that a wrong loader cannot match it: weights at a large
    ``initializer_range`` (``init_scale``; at HF's default of 0.02 a loader ignoring
    ``rope_theta`` moves logits by less than 1e-4), every norm scale and bias randomised (HF
    sets them to 1 and 0, hiding swaps), eager attention, and ``generate`` forced to run
    ``new_tokens`` steps.  Returns the plugin's :class:`LoadResult`.
    """
    import transformers  # heavy: only a parity test needs it

    cls = getattr(transformers, hf_class) if isinstance(hf_class, str) else hf_class
    cfg = cls.config_class(**{**hf_config, "initializer_range": init_scale})
    cfg._attn_implementation = "eager"
    torch.manual_seed(seed)
    ref = randomize_parameters(cls(cfg).eval(), seed=seed, matrices=None, vectors=init_scale)
    path = fresh_dir(tmp_path, "parity") / "hf"
    if layout not in ("safetensors", "sharded", "bin"):
        raise ValueError(f"layout must be safetensors, sharded or bin, not {layout!r}")
    ref.save_pretrained(path, **({"max_shard_size": "20KB"} if layout == "sharded" else {}))
    if layout == "bin":  # the older pickle layout, as transformers 4 wrote it
        torch.save(load_file(str(path / "model.safetensors")), path / "pytorch_model.bin")
        (path / "model.safetensors").unlink()
    result = load_model(path) if loader is None else loader_of(loader).load(path, {})
    if expect_architecture is not None:
        assert result.architecture == expect_architecture, result.architecture
    vocab = ref.config.vocab_size
    ids = torch.randint(0, vocab, (2, 24), generator=torch.Generator().manual_seed(seed + 1))
    with torch.no_grad():
        want, got = ref(ids).logits, result.model(ids)
    diff = (got - want).abs().max().item()
    assert diff <= atol, f"logits differ from {cls.__name__} by {diff:.3g} (> {atol}; largest logit {want.abs().max():.3g})"
    prompt = ids[0, :5].tolist()
    x = torch.tensor([prompt])  # an explicit mask: HF would mask prompt ids equal to pad_token_id
    out = ref.generate(x, attention_mask=torch.ones_like(x), max_new_tokens=new_tokens, min_new_tokens=new_tokens,
                       do_sample=False, pad_token_id=0, eos_token_id=None)
    ours = generate_ids(result.model, [prompt], GenerationConfig(new_tokens, SamplingConfig(temperature=0.0)))[0]
    assert ours == out[0, len(prompt):].tolist(), f"greedy ids differ from {cls.__name__}"
    return result
