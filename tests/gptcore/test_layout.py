"""gptcore grouped by stage: old import paths keep working, every stage re-exports its names."""

from __future__ import annotations

import ast
import importlib
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

from gptcore import _moved

STAGES = ("data", "training", "runs", "generation", "eval", "export", "sweep")


@pytest.mark.parametrize("old, new", sorted(_moved.MOVED.items()))
def test_a_moved_module_is_the_same_module_under_its_old_name_with_a_warning(old: str, new: str) -> None:
    code = ("import warnings, importlib, sys\n"
            "warnings.simplefilter('error')\n"
            f"new = importlib.import_module({new!r})\n"
            "try:\n"
            f"    importlib.import_module({old!r})\n"
            "except DeprecationWarning as w:\n"
            "    print(w)\n"
            "warnings.simplefilter('ignore')\n"
            f"assert importlib.import_module({old!r}) is new\n"
            f"assert sys.modules[{old!r}] is new\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == f"{old} moved to {new}; import it from there"


def test_monkeypatching_the_old_name_patches_the_module(monkeypatch) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        old = importlib.import_module("gptcore.sampling")
    from gptcore.generation import sampling

    monkeypatch.setattr(old, "NEG_INF", -1.0)
    assert sampling.NEG_INF == -1.0


@pytest.mark.parametrize("stage", STAGES)
def test_every_export_of_a_stage_is_the_object_its_module_defines(stage: str) -> None:
    package = importlib.import_module(f"gptcore.{stage}")
    assert package.__doc__ and package.__doc__.strip()
    for name, module in package._EXPORTS.items():
        assert module.startswith(f"gptcore.{stage}."), (name, module)
        assert getattr(package, name) is getattr(importlib.import_module(module), name), name
    with pytest.raises(AttributeError, match=f"module 'gptcore.{stage}' has no attribute 'nope'"):
        package.nope  # noqa: B018
    assert set(package._EXPORTS) <= set(dir(package))


@pytest.mark.parametrize("stage", STAGES)
def test_a_stage_exports_every_public_name_of_its_modules(stage: str) -> None:
    package = importlib.import_module(f"gptcore.{stage}")
    for path in Path(package.__file__).parent.glob("*.py"):
        if path.name == "__init__.py":
            continue
        own = set()
        for node in ast.parse(path.read_text(encoding="utf-8")).body:  # what the module defines
            if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
                own.add(node.name)
            elif isinstance(node, ast.Assign):
                own |= {t.id for t in node.targets if isinstance(t, ast.Name)}
        own = {n for n in own if not n.startswith("_")}
        assert own <= set(package._EXPORTS), (path.name, own - set(package._EXPORTS))


def test_the_old_flat_api_still_imports() -> None:
    from gptcore.data import Manifest, TokenShards, eot_id, prepare, resolve_sources  # noqa: F401
    from gptcore.eval import evaluate, token_bytes  # noqa: F401
    from gptcore.export import export  # noqa: F401
    from gptcore.generation import GenerationConfig, chat, generate  # noqa: F401
    from gptcore.runs import Run, is_run, plot_losses  # noqa: F401
    from gptcore.sweep import SweepConfig, run_sweep  # noqa: F401
    from gptcore.training import TrainConfig, get_batch, get_lr, train  # noqa: F401

    assert callable(train) and callable(prepare) and TokenShards.__module__ == "gptcore.data.shards"
