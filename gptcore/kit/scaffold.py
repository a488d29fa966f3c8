"""``gptcore new-plugin``: the files of a working plugin skeleton, written from nothing.

The skeleton is a complete family in the layout the guide describes (``model.py`` knows no
file format ← ``format.py`` reads and writes its own directory format ← ``__init__.py``
registers both), with a test file that runs the whole plugin test kit.  It passes that kit as
generated (``tests/gptcore/test_scaffold.py`` installs one and runs its tests), so an author
starts from green and changes one thing at a time.

``--like llama|gpt2`` (:mod:`gptcore.kit.scaffold_like`) builds the model from the shared blocks
and adds ``hf.py``, a Hugging Face loader and exporter for the reference layout, with a parity
test against ``transformers``.  The own format is marked by a ``gptcore_architecture`` key in
its ``config.json``, which no Hugging Face directory has: the skeleton never claims a real HF
directory (``new-plugin qwen2`` must not take Qwen2 checkpoints it cannot read).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from tokenkit.atomic import atomic_directory

from gptcore.errors import GptcoreError
from gptcore.kit.scaffold_like import LIKES, like_files

NAME = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")

PYPROJECT = '''\
[build-system]
requires = ["setuptools>=77"]
build-backend = "setuptools.build_meta"

[project]
name = "gptcore-{name}"
version = "0.1.0"
description = "The {name} model family for gptcore (plugin API 1)."
requires-python = ">=3.10"
# gptcore ships in the tokenkit-gptcore distribution (see docs/plugins.md, "Depending on gptcore")
dependencies = ["tokenkit-gptcore", "torch", "safetensors"]

[project.optional-dependencies]
test = ["pytest>=8"{test_extra}]

[project.entry-points."gptcore.architectures"]
{name} = "{package}:ARCHITECTURE"

[project.entry-points."gptcore.loaders"]
{name}-dir = "{package}.format:LOADER"
{hf_entry}
[tool.setuptools.packages.find]
where = ["src"]

[tool.pytest.ini_options]
testpaths = ["tests"]
'''

README = '''\
# gptcore-{name}

A gptcore model family: architecture `{name}` (preset `{name}-tiny`), loader `{name}-dir` and
exporter `dir` for its own directory format (`config.json` with `gptcore_architecture: {name}` +
`model.safetensors`).

```bash
pip install -e .            # then: gptcore list
pytest -q                   # the gptcore plugin test kit, on a tiny config
```
'''

INIT = '''\
"""The {name} family for gptcore: registers the architecture (entry point
``{name} = "{package}:ARCHITECTURE"``); the loader is ``{package}.format:LOADER``."""

from __future__ import annotations

from gptcore.plugin import Architecture

from {package}.format import export_dir
{hf_import}from {package}.model import API_VERSION, PRESETS, {cls}Config, build

ARCHITECTURE = Architecture(
    name="{name}",
    config_class={cls}Config,
    presets=PRESETS,
    build=build,
    exporters={{"dir": export_dir{hf_exporter}}},
    description="{description} (plugin gptcore-{name})",
    api_version=API_VERSION,
)
'''

MODEL = '''\
"""The {name} model: config, presets and ``nn.Module`` (knows no file format).

It follows gptcore's model protocol (``gptcore.plugin.LanguageModel``): ``forward(ids, cache)``
reads positions from ``cache.seq_len`` and every attention layer goes through
``causal_attention``, which stores keys/values in the cache and applies the right mask.
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
        self.qkv = nn.Linear(cfg.emb_dim, 3 * cfg.emb_dim)
        self.proj = nn.Linear(cfg.emb_dim, cfg.emb_dim)

    def forward(self, x: torch.Tensor, cache: KVCache | None) -> torch.Tensor:
        b, t, c = x.shape
        q, k, v = self.qkv(x).view(b, t, 3, self.n_heads, c // self.n_heads).permute(2, 0, 3, 1, 4)
        y = causal_attention(q, k, v, cache, self.layer, self.dropout if self.training else 0.0)
        return self.proj(y.transpose(1, 2).reshape(b, t, c))


class Block(nn.Module):
    def __init__(self, cfg: {cls}Config, layer: int) -> None:
        super().__init__()
        self.ln1, self.ln2 = nn.LayerNorm(cfg.emb_dim), nn.LayerNorm(cfg.emb_dim)
        self.attn = Attention(cfg, layer)
        self.fc, self.out = nn.Linear(cfg.emb_dim, 4 * cfg.emb_dim), nn.Linear(4 * cfg.emb_dim, cfg.emb_dim)
        self.drop = nn.Dropout(cfg.dropout)

    def forward(self, x: torch.Tensor, cache: KVCache | None) -> torch.Tensor:
        x = x + self.drop(self.attn(self.ln1(x), cache))
        return x + self.drop(self.out(F.gelu(self.fc(self.ln2(x)))))


class {cls}(nn.Module):
    """``forward(input_ids [B, T], cache=None) -> logits [B, T, vocab_size]``."""

    def __init__(self, config: {cls}Config) -> None:
        super().__init__()
        self.config = config
        self.tok_emb = nn.Embedding(config.vocab_size, config.emb_dim)
        self.pos_emb = nn.Embedding(config.context_length, config.emb_dim)
        self.drop = nn.Dropout(config.dropout)
        self.blocks = nn.ModuleList(Block(config, i) for i in range(config.n_layers))
        self.ln_f = nn.LayerNorm(config.emb_dim)
        self.head = nn.Linear(config.emb_dim, config.vocab_size, bias=False)

    def forward(self, input_ids: torch.Tensor, cache: KVCache | None = None) -> torch.Tensor:
        start = cache.seq_len if cache is not None else 0  # read before any layer updates it
        pos = torch.arange(start, start + input_ids.shape[1], device=input_ids.device)
        x = self.drop(self.tok_emb(input_ids) + self.pos_emb(pos))
        for block in self.blocks:
            x = block(x, cache)
        return self.head(self.ln_f(x))


def build(config: {cls}Config) -> {cls}:
    """What the architecture's ``build`` calls."""
    return {cls}(config)
'''

FORMAT = '''\
\"\"\"The {name}-dir format: ``config.json`` (``{{"gptcore_architecture": "{name}", "config": {{...}}}}``,
the config fields as the dataclass names them) and ``model.safetensors`` with the model's own
tensor names.

The ``gptcore_architecture`` key is the format's mark: no Hugging Face directory has it, so
this loader never claims one.  It never unpickles, raises only one-line ``GptcoreError``
messages naming the file or tensor, and refuses a ``--set`` of any field the file fixes.
\"\"\"

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

from safetensors.torch import save_file
from torch import nn

from gptcore.plugin import (GptcoreError, LoadResult, Loader, apply_overrides, assign, read_json, read_tensors,
                            skip_init)
from {package}.model import API_VERSION, {cls}, {cls}Config

MARK = "gptcore_architecture"
#: --set may change only these; every other field is fixed by the file.
SETTABLE = ("context_length", "dropout")


def detect(path: Path) -> bool:
    \"\"\"Cheap, never raises: a directory whose config.json carries this format's mark.\"\"\"
    try:
        return json.loads((Path(path) / "config.json").read_text(encoding="utf-8")).get(MARK) == "{name}"
    except (OSError, ValueError, AttributeError):
        return False


def load(path: Path, overrides: dict[str, Any]) -> LoadResult:
    \"\"\"Read a {name}-dir directory into a {cls} in eval mode.\"\"\"
    path = Path(path)
    if not path.exists():
        raise GptcoreError(f"model path not found: {{path}}")
    where = path / "config.json"
    stored = read_json(where)
    if stored.get(MARK) != "{name}" or not isinstance(stored.get("config"), dict):
        raise GptcoreError(f"{{where}} is not a {name}-dir config (no {{MARK}}: {name})")
    try:
        cfg = {cls}Config(**stored["config"])
    except (TypeError, ValueError) as exc:
        raise GptcoreError(f"invalid config {{where}}: {{exc}}") from None
    fixed = [f.name for f in dataclasses.fields(cfg) if f.name not in SETTABLE]
    cfg = apply_overrides(cfg, overrides, str(where), fixed=fixed)
    weights = path / "model.safetensors"
    tensors = read_tensors(weights)
    with skip_init():  # assign() below sets (and checks) every parameter
        model = {cls}(cfg)
    assign(model, tensors, weights)
    vocabulary = str(path) if (path / "tokenizer.json").is_file() else None
    return LoadResult(model.eval(), "{name}", vocabulary, {{"source": str(weights)}})


def export_dir(model: nn.Module, out_dir: Path) -> None:
    \"\"\"Write ``model`` in the format :func:`load` reads (``out_dir`` is empty and temporary).\"\"\"
    tensors = {{k: v.detach().contiguous().clone() for k, v in model.state_dict().items()}}
    save_file(tensors, str(Path(out_dir) / "model.safetensors"), metadata={{"format": "pt"}})
    config = {{MARK: "{name}", "config": dataclasses.asdict(model.config)}}
    (Path(out_dir) / "config.json").write_text(json.dumps(config, indent=2) + "\\n")


LOADER = Loader(name="{name}-dir", detect=detect, load=load, architectures=("{name}",),
                description="{name} directory (config.json + model.safetensors)", api_version=API_VERSION)
'''

TESTS = '''\
"""The gptcore plugin test kit on the {name} family (tiny configs: seconds on a laptop CPU)."""

from __future__ import annotations

from pathlib import Path

import pytest

from gptcore.kit import testing
from gptcore.export import export

TINY = dict(vocab_size=97, context_length=32, emb_dim=32, n_layers=2, n_heads=4)


@pytest.fixture
def good(tmp_path: Path) -> Path:
    return export(testing.build_tiny("{name}", TINY), "dir", tmp_path / "good")


def test_architecture(tmp_path: Path) -> None:
    testing.check_architecture("{name}", TINY, tmp_path)
    testing.check_config_sensitivity("{name}", TINY)


def test_loader_and_exporter(good: Path, tmp_path: Path) -> None:
    testing.check_loader("{name}-dir", good)
    testing.check_detect_rejects("{name}-dir", tmp_path)
    testing.check_exporter_roundtrip("{name}", "dir", "{name}-dir", TINY, tmp_path)
    testing.check_loader_overrides("{name}-dir", good)


def test_loader_errors(good: Path, tmp_path: Path) -> None:
    testing.check_loader_missing_path("{name}-dir", tmp_path)
    testing.check_loader_corrupt_file("{name}-dir", good, "model.safetensors", tmp_path)
    testing.check_loader_shape_mismatch("{name}-dir", good, "model.safetensors", "ln_f.weight", tmp_path)
'''


def plugin_files(name: str, like: str | None = None) -> dict[str, str]:
    """Relative path -> text of the skeleton for family ``name`` (lowercase, digits, hyphens),
    shaped like ``like`` (``llama``, ``gpt2``) or, by default, a small GPT without a HF layout."""
    if not NAME.match(name):
        raise GptcoreError(f"plugin name {name!r} must be lowercase letters and digits, words joined "
                           f"by '-', starting with a letter (e.g. my-gpt)")
    if like is not None and like not in LIKES:
        raise GptcoreError(f"--like {like!r} is not a family the skeleton knows ({', '.join(LIKES)})")
    package = "gptcore_" + name.replace("-", "_")
    cls = "".join(part.capitalize() for part in name.split("-"))
    values = dict(name=name, package=package, cls=cls, hf_entry="", test_extra="", hf_import="", hf_exporter="",
                  description=f"{name}: pre-norm transformer, learned positions")
    if like is not None:
        values.update(hf_entry=f'hf-{name} = "{package}.hf:LOADER"\n', test_extra=', "transformers>=4.45"',
                      hf_import=f"from {package}.hf import export_hf\n", hf_exporter=', "hf": export_hf',
                      description=f"{name}: built from gptcore's blocks like {like}")
    files = {
        "pyproject.toml": PYPROJECT.format(**values),
        "README.md": README.format(**values),
        f"src/{package}/__init__.py": INIT.format(**values),
        f"src/{package}/model.py": MODEL.format(**values),
        f"src/{package}/format.py": FORMAT.format(**values),
        f"tests/test_{package}.py": TESTS.format(**values),
    }
    if like is not None:
        files.update(like_files(like, values))
    return files


def write_plugin(name: str, out: str | os.PathLike[str], like: str | None = None) -> list[Path]:
    """Write the skeleton into the new directory ``out`` (atomically; never over an existing path)."""
    target = Path(out)
    files = plugin_files(name, like)
    if target.exists():
        raise GptcoreError(f"output exists: {target} (choose another --out)")
    with atomic_directory(target) as tmp:
        for rel, text in files.items():
            (tmp / rel).parent.mkdir(parents=True, exist_ok=True)
            (tmp / rel).write_text(text, encoding="utf-8")
    return [target / rel for rel in files]


__all__ = ["plugin_files", "write_plugin"]
