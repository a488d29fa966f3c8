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

LIKES = ("llama", "gpt2")

MODEL_LLAMA = '''\
"""The {name} model: config, presets and ``nn.Module``, declared from gptcore's building blocks
(RMSNorm, rotary embeddings, grouped-query attention on the KV cache, SwiGLU).

Knows no file format (``hf.py`` and ``format.py`` import it).  Shapes: B batch, T tokens,
C emb_dim, D head_dim.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from gptcore.plugin import GroupedQueryAttention, KVCache, RMSNorm, Rotary, SwiGLU

#: The plugin API this family was written against: a literal, so gptcore can refuse it
#: clearly if it stops supporting this version.
API_VERSION = 1


@dataclass
class {cls}Config:
    """Hyper-parameters: JSON scalars, all defaulted (``vocab_size`` comes from the tokenizer)."""

    vocab_size: int = 256
    context_length: int = 128
    emb_dim: int = 64
    n_layers: int = 2
    n_heads: int = 4
    n_kv_heads: int = 2
    head_dim: int | None = None  # None: emb_dim // n_heads
    hidden_dim: int = 176
    rope_theta: float = 10000.0
    rms_norm_eps: float = 1e-5
    tie_weights: bool = False
    dropout: float = 0.0

    def __post_init__(self) -> None:
        if self.head_dim is None:
            if self.emb_dim % self.n_heads:
                raise ValueError(f"emb_dim {{self.emb_dim}} is not divisible by n_heads {{self.n_heads}}")
            self.head_dim = self.emb_dim // self.n_heads
        if self.n_heads % self.n_kv_heads:
            raise ValueError(f"n_heads {{self.n_heads}} is not a multiple of n_kv_heads {{self.n_kv_heads}}")


# Preset names are global across every installed family: prefix them with the family name.
PRESETS: dict[str, dict[str, object]] = {{
    "{name}-tiny": dict(emb_dim=64, n_layers=2, n_heads=4, n_kv_heads=2, hidden_dim=176, context_length=128),
}}


class Block(nn.Module):
    """x + attn(attn_norm(x)), then x + mlp(mlp_norm(x))."""

    def __init__(self, cfg: {cls}Config, layer: int) -> None:
        super().__init__()
        self.attn_norm = RMSNorm(cfg.emb_dim, cfg.rms_norm_eps)
        self.attn = GroupedQueryAttention(cfg.emb_dim, cfg.n_heads, cfg.n_kv_heads, cfg.head_dim, layer,
                                          dropout=cfg.dropout)
        self.mlp_norm = RMSNorm(cfg.emb_dim, cfg.rms_norm_eps)
        self.mlp = SwiGLU(cfg.emb_dim, cfg.hidden_dim)

    def forward(self, x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor, cache: KVCache | None) -> torch.Tensor:
        x = x + self.attn(self.attn_norm(x), cos, sin, cache)  # [B, T, C]
        return x + self.mlp(self.mlp_norm(x))


class {cls}(nn.Module):
    """``forward(input_ids [B, T], cache=None) -> logits [B, T, vocab_size]``."""

    def __init__(self, config: {cls}Config) -> None:
        super().__init__()
        self.config = config
        self.tok_emb = nn.Embedding(config.vocab_size, config.emb_dim)
        self.rotary = Rotary(config.head_dim, config.rope_theta)
        self.blocks = nn.ModuleList(Block(config, i) for i in range(config.n_layers))
        self.norm = RMSNorm(config.emb_dim, config.rms_norm_eps)
        self.lm_head = nn.Linear(config.emb_dim, config.vocab_size, bias=False)
        for module in self.modules():
            if isinstance(module, (nn.Linear, nn.Embedding)):
                nn.init.normal_(module.weight, std=0.02)
        if config.tie_weights:
            self.lm_head.weight = self.tok_emb.weight

    def forward(self, input_ids: torch.Tensor, cache: KVCache | None = None) -> torch.Tensor:
        start = cache.seq_len if cache is not None else 0  # read before any layer updates it
        x = self.tok_emb(input_ids)  # [B, T, C]
        cos, sin = self.rotary(start, input_ids.shape[1], x.dtype)  # [T, D]
        for block in self.blocks:
            x = block(x, cos, sin, cache)
        return self.lm_head(self.norm(x))


def build(config: {cls}Config) -> {cls}:
    """What the architecture's ``build`` calls."""
    return {cls}(config)
'''

HF_LLAMA = '''\
"""Hugging Face directories in the ``LlamaForCausalLM`` layout: the ``hf-{name}`` loader and the
``hf`` exporter (single, sharded or ``pytorch_model.bin`` files, via gptcore's HF helpers).

``CLAIMS`` lists the ``model_type`` values this loader takes in format detection.  It is empty:
a real Llama directory stays hf-llama's, and no directory of another family is claimed by a
loader that cannot read it.  Use ``--loader hf-{name}``; once the parity test passes on your
family's real layout, put its ``model_type`` here (and in ``READS``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from torch import nn

from gptcore.plugin import (GptcoreError, LoadResult, Loader, apply_overrides, detect_hf, hf_state, layer_map,
                            load_hf_state, read_hf_config, read_hf_weights, skip_init, write_hf)
from {package}.model import API_VERSION, {cls}, {cls}Config

REFERENCE = "LlamaForCausalLM"  # the transformers class this layout belongs to (the parity test builds it)
READS = ("llama",)  # model_type values load() accepts
CLAIMS: tuple[str, ...] = ()  # model_type values detect() accepts (see the module docstring)
#: Fields the file fixes: --set may not change them (it would drop or reinterpret tensors).
FIXED = ("vocab_size", "emb_dim", "n_layers", "n_heads", "n_kv_heads", "head_dim", "hidden_dim", "tie_weights")
_LAYER = {{"attn_norm.weight": "input_layernorm.weight", "mlp_norm.weight": "post_attention_layernorm.weight",
          **{{f"attn.{{p}}.weight": f"self_attn.{{p}}.weight" for p in ("q_proj", "k_proj", "v_proj", "o_proj")}},
          **{{f"mlp.{{p}}.weight": f"mlp.{{p}}.weight" for p in ("gate_proj", "up_proj", "down_proj")}}}}


def name_map(cfg: {cls}Config) -> dict[str, str]:
    """Our parameter name -> the file's."""
    m = {{"tok_emb.weight": "model.embed_tokens.weight", "norm.weight": "model.norm.weight"}}
    m |= layer_map(cfg.n_layers, "blocks.{{i}}", "model.layers.{{i}}", _LAYER)
    if not cfg.tie_weights:
        m["lm_head.weight"] = "lm_head.weight"
    return m


def config_from_hf(hf: dict[str, Any], where: Path) -> {cls}Config:
    """config.json -> config; anything this model does not implement is a one-line error."""
    if hf.get("model_type") not in READS:
        raise GptcoreError(f"{{where}} is model_type {{hf.get('model_type')!r}}, not one of {{READS}}")
    rope = {{**(hf.get("rope_scaling") or {{}}), **(hf.get("rope_parameters") or {{}})}}
    if rope.get("rope_type", rope.get("type", "default")) != "default" or hf.get("attention_bias") \\
            or hf.get("mlp_bias") or hf.get("hidden_act", "silu") != "silu":
        raise GptcoreError(f"{{where}}: rope scaling, biases and activations other than silu are not supported")
    try:
        return {cls}Config(
            vocab_size=hf["vocab_size"], context_length=hf["max_position_embeddings"], emb_dim=hf["hidden_size"],
            n_layers=hf["num_hidden_layers"], n_heads=hf["num_attention_heads"],
            n_kv_heads=hf.get("num_key_value_heads") or hf["num_attention_heads"], head_dim=hf.get("head_dim"),
            hidden_dim=hf["intermediate_size"], rope_theta=float(rope.get("rope_theta", hf.get("rope_theta", 1e4))),
            rms_norm_eps=hf.get("rms_norm_eps", 1e-6), tie_weights=hf.get("tie_word_embeddings", False),
            dropout=hf.get("attention_dropout", 0.0))
    except KeyError as exc:
        raise GptcoreError(f"{{where}} lacks field {{exc.args[0]!r}}") from None
    except (TypeError, ValueError) as exc:
        raise GptcoreError(f"invalid config {{where}}: {{exc}}") from None


def config_to_hf(cfg: {cls}Config) -> dict[str, Any]:
    """The config.json transformers reads back into the same model."""
    return {{"architectures": [REFERENCE], "model_type": READS[0], "vocab_size": cfg.vocab_size,
            "max_position_embeddings": cfg.context_length, "hidden_size": cfg.emb_dim,
            "intermediate_size": cfg.hidden_dim, "num_hidden_layers": cfg.n_layers,
            "num_attention_heads": cfg.n_heads, "num_key_value_heads": cfg.n_kv_heads, "head_dim": cfg.head_dim,
            "hidden_act": "silu", "rms_norm_eps": cfg.rms_norm_eps, "tie_word_embeddings": cfg.tie_weights,
            "attention_dropout": cfg.dropout, "rope_theta": cfg.rope_theta,
            "rope_parameters": {{"rope_type": "default", "rope_theta": cfg.rope_theta}}, "torch_dtype": "float32"}}


def detect(path: Path) -> bool:
    """Cheap, never raises; claims only the model types in CLAIMS (none yet)."""
    return bool(CLAIMS) and detect_hf(path, *CLAIMS)


def load(path: Path, overrides: dict[str, Any]) -> LoadResult:
    """A HF directory -> a {cls} in eval mode (every tensor checked; errors name the file's tensor)."""
    path = Path(path)
    where = path / "config.json"
    cfg = apply_overrides(config_from_hf(read_hf_config(path), where), overrides, str(where), fixed=FIXED)
    weights = read_hf_weights(path)
    with skip_init():  # load_hf_state sets (and checks) every parameter
        model = {cls}(cfg)
    load_hf_state(model, weights, name_map(cfg), path, skip="lm_head\\\\.weight" if cfg.tie_weights else None)
    vocabulary = str(path) if (path / "tokenizer.json").is_file() else None  # tokenkit reads the directory
    return LoadResult(model.eval(), "{name}", vocabulary, {{"source": [str(f) for f in weights.files]}})


def export_hf(model: nn.Module, out_dir: Path) -> None:
    """Write ``model`` as a directory ``transformers.{{REFERENCE}}.from_pretrained`` reads."""
    write_hf(Path(out_dir), hf_state(model, name_map(model.config)), config_to_hf(model.config))


LOADER = Loader(name="hf-{name}", detect=detect, load=load, architectures=("{name}",),
                description=f"HF {{REFERENCE}} directory read as {name} (use --loader hf-{name})",
                api_version=API_VERSION)
'''

MODEL_GPT2 = '''\
"""The {name} model: config, presets and ``nn.Module`` in GPT-2's shape (LayerNorm, learned
positions, tanh-GELU MLP, fused multi-head QKV, tied head), attention through gptcore's
``causal_attention`` (the KV cache and its masks).

Knows no file format (``hf.py`` and ``format.py`` import it).  Shapes: B batch, T tokens,
C emb_dim, H heads, D head size.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from gptcore.plugin import KVCache, causal_attention

#: The plugin API this family was written against: a literal, so gptcore can refuse it
#: clearly if it stops supporting this version.
API_VERSION = 1


@dataclass
class {cls}Config:
    """Hyper-parameters: JSON scalars, all defaulted (``vocab_size`` comes from the tokenizer)."""

    vocab_size: int = 256
    context_length: int = 128
    emb_dim: int = 64
    n_layers: int = 2
    n_heads: int = 4
    layer_norm_eps: float = 1e-5
    tie_weights: bool = True
    dropout: float = 0.0

    def __post_init__(self) -> None:
        if self.emb_dim % self.n_heads:
            raise ValueError(f"emb_dim {{self.emb_dim}} is not divisible by n_heads {{self.n_heads}}")


# Preset names are global across every installed family: prefix them with the family name.
PRESETS: dict[str, dict[str, object]] = {{
    "{name}-tiny": dict(emb_dim=64, n_layers=2, n_heads=4, context_length=128),
}}


class Attention(nn.Module):
    def __init__(self, cfg: {cls}Config, layer: int) -> None:
        super().__init__()
        self.layer, self.n_heads, self.dropout = layer, cfg.n_heads, cfg.dropout
        self.qkv = nn.Linear(cfg.emb_dim, 3 * cfg.emb_dim)  # C -> 3C: q, k, v
        self.proj = nn.Linear(cfg.emb_dim, cfg.emb_dim)

    def forward(self, x: torch.Tensor, cache: KVCache | None) -> torch.Tensor:
        b, t, c = x.shape
        q, k, v = self.qkv(x).view(b, t, 3, self.n_heads, c // self.n_heads).permute(2, 0, 3, 1, 4)  # [B, H, T, D]
        y = causal_attention(q, k, v, cache, self.layer, self.dropout if self.training else 0.0)
        return self.proj(y.transpose(1, 2).reshape(b, t, c))


class Block(nn.Module):
    def __init__(self, cfg: {cls}Config, layer: int) -> None:
        super().__init__()
        self.ln1 = nn.LayerNorm(cfg.emb_dim, eps=cfg.layer_norm_eps)
        self.ln2 = nn.LayerNorm(cfg.emb_dim, eps=cfg.layer_norm_eps)
        self.attn = Attention(cfg, layer)
        self.fc, self.out = nn.Linear(cfg.emb_dim, 4 * cfg.emb_dim), nn.Linear(4 * cfg.emb_dim, cfg.emb_dim)
        self.drop = nn.Dropout(cfg.dropout)

    def forward(self, x: torch.Tensor, cache: KVCache | None) -> torch.Tensor:
        x = x + self.drop(self.attn(self.ln1(x), cache))  # [B, T, C]
        return x + self.drop(self.out(F.gelu(self.fc(self.ln2(x)), approximate="tanh")))


class {cls}(nn.Module):
    """``forward(input_ids [B, T], cache=None) -> logits [B, T, vocab_size]``."""

    def __init__(self, config: {cls}Config) -> None:
        super().__init__()
        self.config = config
        self.tok_emb = nn.Embedding(config.vocab_size, config.emb_dim)
        self.pos_emb = nn.Embedding(config.context_length, config.emb_dim)
        self.drop = nn.Dropout(config.dropout)
        self.blocks = nn.ModuleList(Block(config, i) for i in range(config.n_layers))
        self.ln_f = nn.LayerNorm(config.emb_dim, eps=config.layer_norm_eps)
        self.head = nn.Linear(config.emb_dim, config.vocab_size, bias=False)
        if config.tie_weights:
            self.head.weight = self.tok_emb.weight

    def forward(self, input_ids: torch.Tensor, cache: KVCache | None = None) -> torch.Tensor:
        start = cache.seq_len if cache is not None else 0  # read before any layer updates it
        pos = torch.arange(start, start + input_ids.shape[1], device=input_ids.device)
        x = self.drop(self.tok_emb(input_ids) + self.pos_emb(pos))  # [B, T, C]
        for block in self.blocks:
            x = block(x, cache)
        return self.head(self.ln_f(x))


def build(config: {cls}Config) -> {cls}:
    """What the architecture's ``build`` calls."""
    return {cls}(config)
'''

HF_GPT2 = '''\
"""Hugging Face directories in the ``GPT2LMHeadModel`` layout: the ``hf-{name}`` loader and the
``hf`` exporter (single, sharded or ``pytorch_model.bin`` files, via gptcore's HF helpers).
HF's ``Conv1D`` stores weights ``[in, out]``: those are transposed both ways.

``CLAIMS`` lists the ``model_type`` values this loader takes in format detection.  It is empty:
a real GPT-2 directory stays hf-gpt2's, and no directory of another family is claimed by a
loader that cannot read it.  Use ``--loader hf-{name}``; once the parity test passes on your
family's real layout, put its ``model_type`` here (and in ``READS``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from torch import nn

from gptcore.plugin import (GptcoreError, LoadResult, Loader, apply_overrides, detect_hf, hf_state, layer_map,
                            load_hf_state, read_hf_config, read_hf_weights, skip_init, write_hf)
from {package}.model import API_VERSION, {cls}, {cls}Config

REFERENCE = "GPT2LMHeadModel"  # the transformers class this layout belongs to (the parity test builds it)
READS = ("gpt2",)  # model_type values load() accepts
CLAIMS: tuple[str, ...] = ()  # model_type values detect() accepts (see the module docstring)
#: Fields the file fixes: --set may not change them (it would drop or reinterpret tensors).
FIXED = ("vocab_size", "emb_dim", "n_layers", "n_heads", "tie_weights")
TRANSPOSED = ("attn.c_attn.weight", "attn.c_proj.weight", "mlp.c_fc.weight", "mlp.c_proj.weight")
_LAYER = {{f"{{ours}}.{{kind}}": f"{{theirs}}.{{kind}}" for kind in ("weight", "bias") for ours, theirs in (
    ("ln1", "ln_1"), ("ln2", "ln_2"), ("attn.qkv", "attn.c_attn"), ("attn.proj", "attn.c_proj"),
    ("fc", "mlp.c_fc"), ("out", "mlp.c_proj"))}}
_SKIP = r"(transformer\\.)?h\\.\\d+\\.attn\\.(bias|masked_bias)"  # causal-mask buffers of old exports


def name_map(cfg: {cls}Config) -> dict[str, str]:
    """Our parameter name -> the file's."""
    m = {{"tok_emb.weight": "transformer.wte.weight", "pos_emb.weight": "transformer.wpe.weight",
         "ln_f.weight": "transformer.ln_f.weight", "ln_f.bias": "transformer.ln_f.bias"}}
    m |= layer_map(cfg.n_layers, "blocks.{{i}}", "transformer.h.{{i}}", _LAYER)
    if not cfg.tie_weights:
        m["head.weight"] = "lm_head.weight"
    return m


def config_from_hf(hf: dict[str, Any], where: Path) -> {cls}Config:
    """config.json -> config; anything this model does not implement is a one-line error."""
    if hf.get("model_type") not in READS:
        raise GptcoreError(f"{{where}} is model_type {{hf.get('model_type')!r}}, not one of {{READS}}")
    if hf.get("activation_function", "gelu_new") not in ("gelu_new", "gelu_pytorch_tanh") \\
            or hf.get("n_inner") not in (None, 4 * hf.get("n_embd", 0)):
        raise GptcoreError(f"{{where}}: only tanh-GELU MLPs of 4 * n_embd are supported")
    try:
        return {cls}Config(vocab_size=hf["vocab_size"], context_length=hf["n_positions"], emb_dim=hf["n_embd"],
                           n_layers=hf["n_layer"], n_heads=hf["n_head"],
                           layer_norm_eps=hf.get("layer_norm_epsilon", 1e-5),
                           tie_weights=hf.get("tie_word_embeddings", True), dropout=hf.get("resid_pdrop", 0.0))
    except KeyError as exc:
        raise GptcoreError(f"{{where}} lacks field {{exc.args[0]!r}}") from None
    except (TypeError, ValueError) as exc:
        raise GptcoreError(f"invalid config {{where}}: {{exc}}") from None


def config_to_hf(cfg: {cls}Config) -> dict[str, Any]:
    """The config.json transformers reads back into the same model."""
    return {{"architectures": [REFERENCE], "model_type": READS[0], "vocab_size": cfg.vocab_size,
            "n_positions": cfg.context_length, "n_embd": cfg.emb_dim, "n_layer": cfg.n_layers, "n_head": cfg.n_heads,
            "n_inner": None, "activation_function": "gelu_new", "layer_norm_epsilon": cfg.layer_norm_eps,
            "tie_word_embeddings": cfg.tie_weights, "resid_pdrop": cfg.dropout, "embd_pdrop": cfg.dropout,
            "attn_pdrop": cfg.dropout, "torch_dtype": "float32"}}


def detect(path: Path) -> bool:
    """Cheap, never raises; claims only the model types in CLAIMS (none yet)."""
    return bool(CLAIMS) and detect_hf(path, *CLAIMS)


def load(path: Path, overrides: dict[str, Any]) -> LoadResult:
    """A HF directory -> a {cls} in eval mode (every tensor checked; errors name the file's tensor)."""
    path = Path(path)
    where = path / "config.json"
    cfg = apply_overrides(config_from_hf(read_hf_config(path), where), overrides, str(where), fixed=FIXED)
    weights = read_hf_weights(path)
    with skip_init():  # load_hf_state sets (and checks) every parameter
        model = {cls}(cfg)
    skip = _SKIP + ("|lm_head\\\\.weight" if cfg.tie_weights else "")
    load_hf_state(model, weights, name_map(cfg), path, skip=skip, transposed=TRANSPOSED,
                  rename=lambda name: name if name.startswith(("transformer.", "lm_head.")) else "transformer." + name)
    vocabulary = str(path) if (path / "tokenizer.json").is_file() else None  # tokenkit reads the directory
    return LoadResult(model.eval(), "{name}", vocabulary, {{"source": [str(f) for f in weights.files]}})


def export_hf(model: nn.Module, out_dir: Path) -> None:
    """Write ``model`` as a directory ``transformers.{{REFERENCE}}.from_pretrained`` reads."""
    tensors = hf_state(model, name_map(model.config), transposed=TRANSPOSED)
    write_hf(Path(out_dir), tensors, config_to_hf(model.config))


LOADER = Loader(name="hf-{name}", detect=detect, load=load, architectures=("{name}",),
                description=f"HF {{REFERENCE}} directory read as {name} (use --loader hf-{name})",
                api_version=API_VERSION)
'''

TESTS_LIKE = '''\
"""The gptcore plugin test kit and parity with transformers' {reference} on the {name}
family (tiny configs: seconds on a laptop CPU)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from gptcore import testing
from gptcore.export import export

TINY = {tiny}
TINY_HF = {tiny_hf}


@pytest.fixture
def good(tmp_path: Path) -> Path:
    return export(testing.build_tiny("{name}", TINY), "dir", tmp_path / "good")


def test_architecture(tmp_path: Path) -> None:
    testing.check_architecture("{name}", TINY, tmp_path)
    testing.check_config_sensitivity("{name}", TINY)


def test_own_format_loader_and_exporter(good: Path, tmp_path: Path) -> None:
    testing.check_loader("{name}-dir", good)
    testing.check_detect_rejects("{name}-dir", tmp_path)
    testing.check_exporter_roundtrip("{name}", "dir", "{name}-dir", TINY, tmp_path)
    testing.check_loader_overrides("{name}-dir", good)


def test_loader_errors(good: Path, tmp_path: Path) -> None:
    testing.check_loader_missing_path("{name}-dir", tmp_path)
    testing.check_loader_corrupt_file("{name}-dir", good, "model.safetensors", tmp_path)
    testing.check_loader_shape_mismatch("{name}-dir", good, "model.safetensors", "{shape_tensor}", tmp_path)


@pytest.mark.parametrize("layout", ["safetensors", "sharded", "bin"])
def test_parity_with_transformers(layout: str, tmp_path: Path) -> None:
    pytest.importorskip("transformers")
    result = testing.check_transformers_parity("{reference}", TINY_HF, tmp_path, loader="hf-{name}", layout=layout)
    testing.check_loader_overrides("hf-{name}", Path(result.extra["source"][0]).parent)


def test_hf_export_loads_in_transformers(tmp_path: Path) -> None:
    transformers = pytest.importorskip("transformers")
    model = testing.randomize_parameters(testing.build_tiny("{name}", TINY))
    out = export(model, "hf", tmp_path / "hf")
    ref = getattr(transformers, "{reference}").from_pretrained(out).eval()
    ids = torch.randint(0, TINY["vocab_size"], (2, 12), generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        assert (ref(ids).logits - model(ids)).abs().max().item() <= 1e-4


def test_claims_no_real_hf_directory(tmp_path: Path) -> None:
    """hf-{name} and {name}-dir leave real HF directories to their own loaders (no ambiguity)."""
    transformers = pytest.importorskip("transformers")
    ref = getattr(transformers, "{reference}")
    ref(ref.config_class(**TINY_HF)).save_pretrained(tmp_path / "real")
    testing.check_detect_rejects("hf-{name}", tmp_path)
    from gptcore.registry import get_loader

    assert not get_loader("hf-{name}").detect(tmp_path / "real")
    assert not get_loader("{name}-dir").detect(tmp_path / "real")
'''

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


def like_files(like: str, values: dict[str, str]) -> dict[str, str]:
    """``model.py``, ``hf.py`` and the test file of a family shaped like ``like``."""
    tiny, tiny_hf, reference, shape_tensor = _TINY[like]
    package = values["package"]
    model, hf = (MODEL_LLAMA, HF_LLAMA) if like == "llama" else (MODEL_GPT2, HF_GPT2)
    return {
        f"src/{package}/model.py": model.format(**values),
        f"src/{package}/hf.py": hf.format(**values),
        f"tests/test_{package}.py": TESTS_LIKE.format(**values, tiny=tiny, tiny_hf=tiny_hf, reference=reference,
                                                      shape_tensor=shape_tensor),
    }


__all__ = ["LIKES", "like_files"]
