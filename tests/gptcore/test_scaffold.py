"""``gptcore new-plugin`` writes a plugin that, installed by pip as generated, shows up in
``gptcore list`` and passes the plugin test kit (its own tests) unchanged."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from gptcore.cli import main
from gptcore.kit.scaffold import plugin_files


def test_generated_plugin_installs_lists_and_passes_the_kit(tmp_path: Path):
    pytest.importorskip("setuptools", reason="setuptools is needed to build the generated plugin")
    src = tmp_path / "gptcore-tiny-gpt"
    made = CliRunner().invoke(main, ["new-plugin", "tiny-gpt", "--out", str(src)])
    assert made.exit_code == 0, made.output
    assert (src / "src/gptcore_tiny_gpt/model.py").is_file() and "wrote" in made.output
    site = tmp_path / "site"
    done = subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-index",
                           "--no-build-isolation", "--target", str(site), str(src)],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")]))
    listed = subprocess.run([str(Path(sys.executable).with_name("gptcore")), "list"], capture_output=True,
                            text=True, env=env, timeout=300)
    assert listed.returncode == 0, listed.stderr
    lines = {line.split()[0]: line for line in listed.stdout.splitlines() if line.strip()}
    assert "[gptcore-tiny-gpt]" in lines["tiny-gpt"] and "[gptcore-tiny-gpt]" in lines["tiny-gpt-dir"]
    assert "Unusable" not in listed.stdout
    tests = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(src / "tests")],
                           capture_output=True, text=True, env=env, cwd=src, timeout=600)
    assert tests.returncode == 0, tests.stdout + tests.stderr
    assert "3 passed" in tests.stdout


def test_new_plugin_refuses_bad_names_and_existing_directories(tmp_path: Path):
    bad = CliRunner().invoke(main, ["new-plugin", "My_GPT", "--out", str(tmp_path / "x")])
    assert bad.exit_code == 1 and "plugin name 'My_GPT'" in bad.output and not (tmp_path / "x").exists()
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "keep.txt").write_text("mine")
    taken = CliRunner().invoke(main, ["new-plugin", "ok", "--out", str(tmp_path / "taken")])
    assert taken.exit_code == 1 and "output exists" in taken.output
    assert os.listdir(tmp_path / "taken") == ["keep.txt"]


@pytest.mark.parametrize("name", ["a", "my-gpt", "neox2", "x-1-y"])
def test_every_generated_python_file_compiles(name: str):
    for rel, text in plugin_files(name).items():
        if rel.endswith(".py"):
            compile(text, rel, "exec")
