"""gptcore/__init__.py: the front door exports the main path lazily, and every docstring
example in the package runs as a doctest."""

from __future__ import annotations

import doctest
import importlib
import pkgutil
import subprocess
import sys

import pytest

import gptcore

SKIP = {"gptcore.__main__", "gptcore.loaders.hf_gpt2", "gptcore.loaders.textbook"}  # runs / deprecated aliases
MODULES = sorted(m.name for m in pkgutil.walk_packages(gptcore.__path__, "gptcore.") if m.name not in SKIP)


def test_import_is_cheap_and_names_load_on_first_use():
    code = ("import sys, gptcore; assert 'torch' not in sys.modules, 'import gptcore pulled in torch';"
            "gptcore.build_model; assert 'torch' in sys.modules; print(sorted(gptcore.__all__))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    for name in ("build_model", "load_model", "generate", "GenerationConfig", "SamplingConfig", "train",
                 "TrainConfig", "save_checkpoint", "load_checkpoint", "GptcoreError"):
        assert repr(name) in done.stdout


@pytest.mark.parametrize("name", gptcore.__all__)
def test_every_export_is_the_library_object(name):
    value = getattr(gptcore, name)
    assert value is getattr(importlib.import_module(value.__module__), name)
    assert name in dir(gptcore)


def test_unknown_name_is_an_attribute_error():
    with pytest.raises(AttributeError, match="no_such_thing"):
        gptcore.no_such_thing  # noqa: B018


@pytest.mark.parametrize("module", MODULES)
def test_docstring_examples(module):
    result = doctest.testmod(importlib.import_module(module), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0, f"{result.failed} doctest(s) failed in {module}"
