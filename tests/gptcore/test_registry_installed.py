"""A broken plugin really installed with pip is listed with its error and breaks nothing else.

The other isolation tests inject entry points; this one builds a distribution from a
``pyproject.toml`` with pip (``--target`` a temporary site directory, no network, no index) and
runs the ``gptcore`` console script in a fresh interpreter that sees it on ``PYTHONPATH``.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

PYPROJECT = """
[build-system]
requires = ["setuptools>=77"]
build-backend = "setuptools.build_meta"

[project]
name = "gptcore-broken-demo"
version = "0.0.1"

[tool.setuptools]
py-modules = ["gptcore_broken_demo", "gptcore_old_api_demo"]

[project.entry-points."gptcore.architectures"]
broken-demo = "gptcore_broken_demo:ARCHITECTURE"
old-api-demo = "gptcore_old_api_demo:ARCHITECTURE"
missing-attr-demo = "gptcore_old_api_demo:NOT_THERE"

[project.entry-points."gptcore.loaders"]
broken-loader-demo = "gptcore_broken_demo:LOADER"
"""

OLD_API = """
import dataclasses
from gptcore.platform.registry import Architecture

@dataclasses.dataclass
class Config:
    vocab_size: int = 8
    context_length: int = 8

ARCHITECTURE = Architecture("old-api-demo", Config, {}, lambda cfg: None, api_version=0)
"""


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    pytest.importorskip("setuptools", reason="setuptools is needed to build the demo plugin")
    root = tmp_path_factory.mktemp("broken-plugin")
    src = root / "src"
    src.mkdir()
    (src / "pyproject.toml").write_text(textwrap.dedent(PYPROJECT))
    (src / "gptcore_broken_demo.py").write_text("raise ImportError('needs libfoo, which is not installed')\n")
    (src / "gptcore_old_api_demo.py").write_text(textwrap.dedent(OLD_API))
    target = root / "site"
    done = subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-index",
                           "--no-build-isolation", "--target", str(target), str(src)],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert any(p.name.startswith("gptcore_broken_demo-0.0.1") for p in target.glob("*.dist-info"))
    return target


def run(site: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")]))
    return subprocess.run(list(args), capture_output=True, text=True, env=env, timeout=300)


def gptcore_script() -> str:
    return str(Path(sys.executable).with_name("gptcore"))


def test_gptcore_list_shows_each_problem_and_the_working_plugins(site: Path):
    done = run(site, gptcore_script(), "list")
    assert done.returncode == 0, done.stderr
    out = done.stdout
    lines = {line.split()[0]: line for line in out.splitlines() if line.strip()}
    assert "needs libfoo" in lines["broken-demo"] and "gptcore-broken-demo" in lines["broken-demo"]
    assert "API version 0" in lines["old-api-demo"]
    assert "AttributeError" in lines["missing-attr-demo"]
    assert "needs libfoo" in lines["broken-loader-demo"]
    assert "[tokenkit-gptcore]" in lines["gpt2"] and "[tokenkit-gptcore]" in lines["hf-gpt2"]


def test_other_commands_still_work_with_the_broken_plugin_installed(site: Path, tmp_path: Path):
    code = ("from gptcore.platform import registry; from gptcore.runs.checkpoint import save_checkpoint, load_checkpoint;"
            "m = registry.build_model('gpt2', vocab_size=11, emb_dim=8, n_heads=2, n_layers=1, context_length=4);"
            f"save_checkpoint({str(tmp_path / 'c')!r}, m); print(type(load_checkpoint({str(tmp_path / 'c')!r}).model).__name__);"
            "registry.get_architecture('broken-demo')")
    done = run(site, sys.executable, "-c", code)
    assert done.stdout.strip() == "GPT2"
    assert "PluginError" in done.stderr and "needs libfoo" in done.stderr.strip().splitlines()[-1]
    exported = run(site, gptcore_script(), "export", str(tmp_path / "c"), str(tmp_path / "hf"), "--format", "hf")
    assert exported.returncode == 0, exported.stderr
    assert (tmp_path / "hf" / "config.json").is_file()
