"""Export a model to a foreign format through its architecture's exporters (atomically).

Given the model's vocabulary, an ``hf`` export also carries the tokenizer (tokenkit's HF
export: ``tokenizer.json`` and its config files) and sets the config's special-token ids from
that vocabulary's end-of-text token, or to none when it has none (transformers would otherwise
assume GPT-2's 50256), so ``AutoTokenizer`` and ``AutoModelForCausalLM`` both load the directory.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from torch import nn

import tokenkit
from tokenkit.atomic import atomic_directory
from tokenkit.exporters import export_hf as export_hf_tokenizer

from gptcore.data.encoding import eot_id
from gptcore.errors import GptcoreError
from gptcore.platform.registry import architecture_for, call_plugin
from gptcore.runs.checkpoint import unwrap

HF_SPECIAL_IDS = ("bos_token_id", "eos_token_id")


def export(model: nn.Module, fmt: str, out: str | os.PathLike[str], *, force: bool = False,
           vocab: tokenkit.Vocabulary | None = None) -> Path:
    """Write ``model`` as ``fmt`` into directory ``out`` (built in a hidden sibling, then swapped in)."""
    plain = unwrap(model)
    arch = architecture_for(plain)
    if fmt not in arch.exporters:
        raise GptcoreError(f"architecture {arch.name!r} cannot export format {fmt!r} "
                           f"(available: {', '.join(sorted(arch.exporters)) or 'none'})")
    target = Path(out)
    if target.exists() and not force:
        raise GptcoreError(f"output exists: {target} (use --force to replace it)")
    with atomic_directory(target, force=force) as tmp:
        call_plugin(arch, f"exporter {fmt!r}", arch.exporters[fmt], plain, tmp)
        if fmt == "hf" and vocab is not None:
            _add_hf_tokenizer(tmp, vocab)
    return target


def _add_hf_tokenizer(directory: Path, vocab: tokenkit.Vocabulary) -> None:
    """Tokenizer files beside the weights; special-token ids in config.json from ``vocab``."""
    staging = directory / ".tokenizer"
    export_hf_tokenizer(vocab, staging)
    for file in staging.iterdir():
        if file.name != "config.json":
            shutil.move(str(file), directory / file.name)
    shutil.rmtree(staging)
    config_file = directory / "config.json"
    if config_file.is_file():
        config = json.loads(config_file.read_text(encoding="utf-8"))
        eot = eot_id(vocab)
        config.update({key: eot for key in HF_SPECIAL_IDS})
        config_file.write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
