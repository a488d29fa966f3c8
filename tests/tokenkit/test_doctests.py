"""Every docstring example in tokenkit runs (examples needing a corpus skip when it is absent)."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import tokenkit
from tokenkit.corpora import find_corpus

#: Modules whose examples read a corpus: they skip, with the reason, when it is absent.
NEEDS_CORPUS = {"tokenkit": ("wagahai", "gpt2")}


def modules_with_examples() -> list[str]:
    names = ["tokenkit"] + [m.name for m in pkgutil.walk_packages(tokenkit.__path__, "tokenkit.")
                            if not m.name.endswith("__main__")]
    finder = doctest.DocTestFinder()
    return [n for n in names
            if any(t.examples for t in finder.find(importlib.import_module(n)))]


MODULES = modules_with_examples()


def test_the_front_door_and_helpers_have_examples() -> None:
    assert {"tokenkit", "tokenkit.metrics", "tokenkit.sweep", "tokenkit.training"} <= set(MODULES)


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    missing = [c for c in NEEDS_CORPUS.get(name, ()) if find_corpus(c) is None]
    if missing:
        pytest.skip(f"{name}'s examples need corpora {missing}, not available locally")
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS, verbose=False, report=True)
    assert result.attempted > 0
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples failed in {name}"
