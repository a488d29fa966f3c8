"""pyproject.toml lists every package of the tree (the list is explicit: corpora/ is mapped)."""

from __future__ import annotations

import sys
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    tomllib = __import__("pytest").importorskip("tomli")

ROOT = Path(__file__).resolve().parents[1]


def test_pyproject_lists_every_package_and_maps_corpora() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]
    in_tree = {".".join(p.parent.relative_to(ROOT).parts) for top in ("tokenkit", "gptcore")
               for p in (ROOT / top).rglob("__init__.py")}
    assert set(config["packages"]) == in_tree | {"tokenkit.corpora"}
    assert config["package-dir"] == {"tokenkit.corpora": "corpora"}
    assert (ROOT / "corpora" / "__init__.py").is_file() and (ROOT / "corpora" / "manifest.json").is_file()


def test_corpora_is_importable_only_inside_tokenkit() -> None:
    import tokenkit.corpora

    assert Path(tokenkit.corpora.__file__).resolve().parent == ROOT / "corpora"
    assert tokenkit.corpora.MANIFEST.is_file()
