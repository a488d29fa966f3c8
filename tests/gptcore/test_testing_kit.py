"""The plugin test kit catches what plugin authors get wrong: each check is run on a correct
plugin (passes) and on deliberately broken ones (fails), and can run twice in one test."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from safetensors.torch import save_file
from torch import nn

from gptcore.platform import registry
from gptcore.kit import testing
from gptcore.models.gpt2 import ARCHITECTURE as GPT2_ARCH
from gptcore.models.gpt2 import GPT2, GPT2Config
from gptcore.models.gpt2.hf import LOADER as HF_GPT2
from gptcore.plugin import KVCache, Loader, LoadResult
from tests.gptcore.plugin_fakes import FakeEntryPoint, inject

TINY = dict(vocab_size=40, context_length=12, emb_dim=16, n_layers=1, n_heads=2)


@pytest.fixture(autouse=True)
def fresh():
    registry.refresh()
    yield
    registry.refresh()


@pytest.fixture(scope="module")
def gpt2_hf(tmp_path_factory) -> Path:
    torch.manual_seed(0)
    model = GPT2_ARCH.build(GPT2_ARCH.make_config(None, **TINY)).eval()
    return _export(model, tmp_path_factory)


def _export(model, factory) -> Path:
    from gptcore.export.writer import export

    return export(model, "hf", factory.mktemp("good") / "hf")


# ---------------------------------------------------------------- loaders


def test_check_loader_passes_a_correct_loader_twice(gpt2_hf):
    for _ in range(2):
        assert testing.check_loader("hf-gpt2", gpt2_hf).architecture == "gpt2"


def _wrapped(**changes) -> Loader:
    return dataclasses.replace(HF_GPT2, name="buggy", **changes)


@pytest.mark.parametrize("bug, needle", [
    (dict(load=lambda p, o: dataclasses.replace(HF_GPT2.load(p, o), model=HF_GPT2.load(p, o).model.train())),
     "training mode"),
    (dict(load=lambda p, o: dataclasses.replace(HF_GPT2.load(p, o), architecture="llama")), "says architecture"),
    (dict(detect=lambda p: False), "does not detect its own"),
    (dict(load=lambda p, o: HF_GPT2.load(p, o).model), "not LoadResult"),
    (dict(architectures=("llama",)), "not one of its architectures"),
])
def test_check_loader_catches_broken_loaders(gpt2_hf, bug, needle):
    with pytest.raises(AssertionError, match=needle):
        testing.check_loader(_wrapped(**bug), gpt2_hf)


def test_check_detect_rejects_passes_every_builtin_loader_twice(tmp_path):
    for name in ("hf-gpt2", "gptcore-checkpoint", "textbook-gpt", "openai-gpt2"):
        testing.check_detect_rejects(name, tmp_path)
        testing.check_detect_rejects(name, tmp_path)


def _raises(path):
    raise OSError("boom")


@pytest.mark.parametrize("detect, needle", [
    (lambda p: True, "detects a gptcore-checkpoint"),  # a broad detect would take over every path
    (lambda p: p.exists(), "detects a"),
    (lambda p: (p / "config.json").is_file(), "detects a hf-gpt2"),
    (lambda p: p.suffix in (".bin", ".pt"), "random file random.bin"),
    (_raises, "detect raised OSError"),
])
def test_check_detect_rejects_catches_broad_or_raising_detect(tmp_path, detect, needle):
    with pytest.raises(AssertionError, match=needle):
        testing.check_detect_rejects(_wrapped(detect=detect), tmp_path)


# ---------------------------------------------------------------- exporters


def _nothing(model, out):
    pass


def _zeros(model, out):
    from gptcore.models.gpt2.hf import export_hf

    export_hf(model, out)
    cfg = json.loads((out / "config.json").read_text())
    from safetensors.torch import load_file

    tensors = {k: torch.zeros_like(v) if "ln_f" in k else v for k, v in load_file(str(out / "model.safetensors")).items()}
    save_file(tensors, str(out / "model.safetensors"))
    (out / "config.json").write_text(json.dumps(cfg))


def _wrong_format(model, out):
    (out / "weights.npz").write_bytes(b"not a hf directory")


@pytest.mark.parametrize("exporter, needle", [(_nothing, "wrote nothing"), (_wrong_format, "does not detect"),
                                              (_zeros, "other logits")])
def test_check_exporter_roundtrip_catches_broken_exporters(monkeypatch, tmp_path, exporter, needle):
    buggy = dataclasses.replace(GPT2_ARCH, exporters={"hf": exporter})
    inject_gpt2(monkeypatch, buggy)
    with pytest.raises(AssertionError, match=needle):
        testing.check_exporter_roundtrip("gpt2", "hf", "hf-gpt2", TINY, tmp_path)


def inject_gpt2(monkeypatch, arch):
    """Replace the registered gpt2 architecture (what a buggy release of it would be)."""
    real = registry.md.entry_points

    def fake(**params):
        eps = [ep for ep in real(**params) if not (ep.name == "gpt2" and params.get("group") == registry.ARCH_GROUP)]
        if params.get("group") == registry.ARCH_GROUP:
            eps.append(FakeEntryPoint("gpt2", arch, dist="buggy-gpt2"))
        return eps

    monkeypatch.setattr(registry.md, "entry_points", fake)
    registry.refresh()


def test_check_exporter_roundtrip_passes_twice(tmp_path):
    for _ in range(2):
        testing.check_exporter_roundtrip("gpt2", "hf", "hf-gpt2", TINY, tmp_path)


# ---------------------------------------------------------------- presets


def test_check_preset_names_catches_a_preset_another_family_defines(monkeypatch):
    testing.check_preset_names("gpt2")
    copy = dataclasses.replace(GPT2_ARCH, name="copy", presets={"gpt2-small": {"n_layers": 1}})
    inject(monkeypatch, FakeEntryPoint("copy", copy, dist="copycat"))
    with pytest.raises(AssertionError, match="'gpt2-small' of 'copy' is also defined by gpt2"):
        testing.check_preset_names("copy")
    lying = dataclasses.replace(GPT2_ARCH, name="copy", presets={"copy-x": {"n_layers": 1, "emb_dim": "16"}})
    with pytest.raises(Exception):
        testing.check_preset_names(lying)


# ---------------------------------------------------------------- model behaviour


class MixedDtypeGPT2(GPT2):
    """Accumulates bf16 logits into a float32 buffer with index_add_ (fails under autocast)."""

    def forward(self, input_ids, cache=None):
        logits = super().forward(input_ids, cache)
        out = torch.zeros(logits.shape[0] * logits.shape[1], logits.shape[2])
        return out.index_add_(0, torch.arange(out.shape[0]), logits.reshape(out.shape)).view(logits.shape)


class AlwaysDropout(GPT2):
    """Applies dropout even in eval mode."""

    def forward(self, input_ids, cache=None):
        return F.dropout(super().forward(input_ids, cache), self.config.dropout, training=True)


class NeverDropout(GPT2):
    """Ignores its dropout setting."""

    def __init__(self, config):
        super().__init__(dataclasses.replace(config, dropout=0.0))
        self.config = config


class OffByOneContext(GPT2):
    """Refuses a full window (``>=`` where ``>`` was meant): only generation past the context,
    which slides a full window through the model, reaches it."""

    def forward(self, input_ids, cache=None):
        start = cache.seq_len if cache is not None else 0
        if start + input_ids.shape[1] >= self.config.context_length:
            raise ValueError("sequence exceeds context_length")
        return super().forward(input_ids, cache)


def _arch_with(cls) -> object:
    return dataclasses.replace(GPT2_ARCH, build=cls)


def test_model_checks_pass_on_gpt2():
    model = testing.build_tiny("gpt2", TINY)
    testing.check_bf16_autocast(model)
    testing.check_dropout("gpt2", TINY)
    testing.check_generate_past_context(model)


def test_check_bf16_autocast_catches_mixed_dtypes():
    with pytest.raises((AssertionError, RuntimeError)):
        testing.check_bf16_autocast(testing.build_tiny(_arch_with(MixedDtypeGPT2), TINY))


@pytest.mark.parametrize("cls, needle", [(AlwaysDropout, "eval mode"), (NeverDropout, "does nothing")])
def test_check_dropout_catches_misapplied_dropout(cls, needle):
    with pytest.raises(AssertionError, match=needle):
        testing.check_dropout(_arch_with(cls), TINY)


def test_check_generate_past_context_catches_an_off_by_one_context():
    model = testing.build_tiny(_arch_with(OffByOneContext), TINY)
    testing.check_kv_cache(model)  # the older checks do not see this bug
    testing.check_generate(model)
    with pytest.raises(AssertionError, match="past context_length"):
        testing.check_generate_past_context(model)


# ---------------------------------------------------------------- loader error checks twice


def test_loader_error_checks_run_twice_with_one_tmp_path(gpt2_hf, tmp_path):
    for _ in range(2):
        testing.check_loader_missing_path("hf-gpt2", tmp_path)
        testing.check_loader_corrupt_file("hf-gpt2", gpt2_hf, "model.safetensors", tmp_path)
        testing.check_loader_shape_mismatch("hf-gpt2", gpt2_hf, "model.safetensors", "transformer.h.0.ln_1.weight",
                                            tmp_path)


def test_bigram_without_linear_passes_check_decode_layout():
    @dataclasses.dataclass
    class BigramConfig:
        vocab_size: int = 16
        context_length: int = 8

    class Bigram(nn.Module):
        def __init__(self, config):
            super().__init__()
            self.config = config
            self.table = nn.Embedding(config.vocab_size, config.vocab_size)

        def forward(self, input_ids, cache: KVCache | None = None):
            if cache is not None:
                ids = input_ids[:, None, :, None].float()
                cache.update(0, ids, ids)
            return self.table(input_ids)

    arch = dataclasses.replace(GPT2_ARCH, name="bigram", config_class=BigramConfig, presets={}, build=Bigram)
    testing.check_decode_layout(arch, {})
    assert LoadResult  # the kit's types are the plugin namespace's


# ---------------------------------------------------------------- silent weight bugs (see also test_testing_kit_mutants.py)


def test_gpt2_passes_config_sensitivity_and_its_loader_refuses_fixed_fields(gpt2_hf):
    testing.check_config_sensitivity("gpt2", TINY)
    testing.check_loader_overrides("hf-gpt2", gpt2_hf)


def test_check_config_sensitivity_names_an_ignored_field():
    class FixedEps(GPT2):
        def __init__(self, config):
            super().__init__(dataclasses.replace(config, layer_norm_eps=1e-5))
            self.config = config

    with pytest.raises(AssertionError, match="layer_norm_eps"):
        testing.check_config_sensitivity(_arch_with(FixedEps), TINY)


def test_check_loader_overrides_catches_a_loader_that_reinterprets_heads(gpt2_hf):
    from gptcore.errors import GptcoreError
    from gptcore.models.gpt2.hf import config_from_hf, load

    def lax(path, overrides):  # applies --set n_heads=8 to the file's weights
        heads = overrides.pop("n_heads", None)
        result = load(path, overrides)
        if heads is None:
            return result
        try:
            cfg = dataclasses.replace(result.model.config, n_heads=int(heads))
        except ValueError as exc:
            raise GptcoreError(str(exc)) from None
        model = GPT2(cfg).eval()
        model.load_state_dict(result.model.state_dict())
        return dataclasses.replace(result, model=model)

    assert config_from_hf  # the real loader refuses it (previous test)
    with pytest.raises(AssertionError, match="n_heads"):
        testing.check_loader_overrides(_wrapped(load=lax), gpt2_hf)


def test_randomize_parameters_reaches_biases_and_norms_and_is_seeded_by_name():
    a = testing.randomize_parameters(testing.build_tiny("gpt2", TINY), seed=3)
    b = testing.randomize_parameters(testing.build_tiny("gpt2", {**TINY, "n_layers": 2}), seed=3)
    for name, p in a.named_parameters():
        if name.endswith("bias"):
            assert p.abs().min() > 0, name
        if "ln" in name and name.endswith("weight"):
            assert not torch.equal(p, torch.ones_like(p)), name
        assert torch.equal(p, dict(b.named_parameters())[name]), name
