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
from collections.abc import Sequence
from pathlib import Path

from torch import nn

import tokenkit
from tokenkit.atomic import atomic_directory
from tokenkit.exporters import export_hf as export_hf_tokenizer

from gptcore.data.encoding import eot_id
from gptcore.errors import GptcoreError
from gptcore.ownership import Kind, check_output
from gptcore.platform.registry import architecture_for, call_plugin
from gptcore.runs.checkpoint import unwrap

HF_SPECIAL_IDS = ("bos_token_id", "eos_token_id")
#: The marker an export directory carries, so a later ``--force`` knows it wrote it.
MARKER = "gptcore-export.json"
MARKER_FORMAT = "gptcore-export"


def _marker(path: Path) -> dict | None:
    try:
        data = json.loads((path / MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("format") != MARKER_FORMAT or not isinstance(data.get("files"), list):
        return None
    return data


def _describe_export(path: Path) -> str | None:
    data = _marker(path)
    return None if data is None else f"an export (format {str(data.get('export_format'))[:40]})"


#: An export directory as :func:`gptcore.ownership.check_output` recognises it.
EXPORT_KIND = Kind("export", _describe_export,
                   lambda path: [MARKER] + [str(f) for f in (_marker(path) or {}).get("files", [])])


def export(model: nn.Module, fmt: str, out: str | os.PathLike[str], *, force: bool = False,
           vocab: tokenkit.Vocabulary | None = None, inputs: Sequence[str | os.PathLike[str]] = ()) -> Path:
    """Write ``model`` as ``fmt`` into directory ``out`` (built in a hidden sibling, then swapped in).

    ``force`` replaces only an earlier export (its ``gptcore-export.json`` lists what it wrote),
    never the working directory, a parent of it, or one of ``inputs`` (the model exported).
    """
    plain = unwrap(model)
    arch = architecture_for(plain)
    if fmt not in arch.exporters:
        raise GptcoreError(f"architecture {arch.name!r} cannot export format {fmt!r} "
                           f"(available: {', '.join(sorted(arch.exporters)) or 'none'})")
    target = Path(out)
    check_output(target, EXPORT_KIND, force=force, flag="OUT", inputs=inputs, swap=True)
    with atomic_directory(target, force=True) as tmp:
        call_plugin(arch, f"exporter {fmt!r}", arch.exporters[fmt], plain, tmp)
        if fmt == "hf" and vocab is not None:
            _add_hf_tokenizer(tmp, vocab)
        files = sorted(e.name for e in tmp.iterdir())
        (tmp / MARKER).write_text(json.dumps({"format": MARKER_FORMAT, "version": 1, "export_format": fmt,
                                              "architecture": arch.name, "files": files}, indent=2) + "\n",
                                  encoding="utf-8")
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
