"""docs/plugins.md cannot rot: its code is extracted from the Markdown and run.

The walk-through plugin (section 3) is installed as a distribution from the guide's own
``pyproject.toml`` entry points and module, then run through the whole kit and the CLI; the
section-4 test module runs under pytest against gptcore-llama; every Python block compiles.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys

from pathlib import Path

import pytest
from click.testing import CliRunner

from gptcore.platform import registry
from gptcore.kit import testing
from gptcore.cli import main
from tests.gptcore.test_registry import install_fake_dist

tomllib = pytest.importorskip("tomllib", reason="Python 3.11+ reads the guide's pyproject.toml")

GUIDE = Path(__file__).resolve().parents[2] / "docs" / "plugins.md"
BLOCK = re.compile(r"```(\w+)\n(.*?)```", re.S)


def blocks_after(marker: str, lang: str, section: str = "") -> str:
    """The first ``lang`` code block after ``marker`` (after heading ``section``) in the guide."""
    text = GUIDE.read_text(encoding="utf-8")
    start = text.index(marker, text.index(section))
    for m in BLOCK.finditer(text, start):
        if m.group(1) == lang:
            return m.group(2)
    raise AssertionError(f"no {lang} block after {marker!r} in {GUIDE}")


@pytest.fixture
def guide_bigram(tmp_path, monkeypatch):
    walkthrough = "## 3. Walk-through"
    pyproject = tomllib.loads(blocks_after("`pyproject.toml`:", "toml", walkthrough))
    module = blocks_after("`src/gptcore_bigram/__init__.py`:", "python", walkthrough)
    eps = pyproject["project"]["entry-points"]
    lines = "".join(f"[{group}]\n" + "".join(f"{k} = {v}\n" for k, v in items.items()) for group, items in eps.items())
    site = tmp_path / "site"
    site.mkdir()
    install_fake_dist(site, pyproject["project"]["name"], "gptcore_bigram", module, lines)
    monkeypatch.syspath_prepend(str(site))
    monkeypatch.delitem(sys.modules, "gptcore_bigram", raising=False)
    registry.refresh()
    yield tmp_path
    registry.refresh()
    sys.modules.pop("gptcore_bigram", None)


def test_walkthrough_plugin_passes_the_whole_kit(guide_bigram):
    assert registry.architectures().plugins["bigram"].distribution == "gptcore-bigram"
    testing.check_architecture("bigram", dict(vocab_size=31, context_length=16), guide_bigram)


def test_walkthrough_plugin_works_through_the_cli(guide_bigram, vocab_dir):
    listed = CliRunner().invoke(main, ["list"])
    assert listed.exit_code == 0 and "[gptcore-bigram]" in listed.output
    out = CliRunner().invoke(main, ["generate", "bigram-bytes", "--tokenizer", str(vocab_dir), "--prompt", "the",
                                    "--greedy", "--max-new-tokens", "4"])
    assert out.exit_code == 0, out.output
    assert out.output.startswith("the")


def test_section_4_test_module_runs_against_llama(tmp_path):
    pytest.importorskip("gptcore_llama", reason="plugins/gptcore-llama is not installed")
    code = blocks_after("## 4. Testing against gptcore's plugin test kit", "python")
    (tmp_path / "test_from_guide.py").write_text(code)
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tmp_path)],
                          capture_output=True, text=True, cwd=tmp_path, timeout=600,
                          env=dict(os.environ, PYTHONDONTWRITEBYTECODE="1"))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "3 passed" in done.stdout


def test_every_python_block_compiles():
    text = GUIDE.read_text(encoding="utf-8")
    python = [m.group(2) for m in BLOCK.finditer(text) if m.group(1) == "python"]
    assert len(python) >= 4
    for i, code in enumerate(python):
        compile(code, f"{GUIDE.name} python block {i}", "exec")
