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


def _install(src: Path, site: Path) -> dict[str, str]:
    done = subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-index",
                           "--no-build-isolation", "--target", str(site), str(src)],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return dict(os.environ, PYTHONPATH=os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")]))


@pytest.mark.parametrize("like, reference", [("llama", "LlamaForCausalLM"), ("gpt2", "GPT2LMHeadModel")])
def test_a_family_like_llama_or_gpt2_passes_its_kit_and_parity_as_generated(like: str, reference: str,
                                                                            tmp_path: Path):
    """From the shared blocks, with a HF loader/exporter and parity with transformers, green before
    the author edits a line; and installed beside the real loaders it makes nothing ambiguous."""
    pytest.importorskip("setuptools", reason="setuptools is needed to build the generated plugin")
    transformers = pytest.importorskip("transformers")
    src = tmp_path / f"gptcore-my-{like}"
    made = CliRunner().invoke(main, ["new-plugin", f"my-{like}", "--like", like, "--out", str(src)])
    assert made.exit_code == 0, made.output
    model_py = (src / f"src/gptcore_my_{like}/model.py").read_text()
    assert "from gptcore.plugin import" in model_py and (like != "llama" or "GroupedQueryAttention" in model_py)
    env = _install(src, tmp_path / "site")
    tests = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(src / "tests")],
                           capture_output=True, text=True, env=env, cwd=src, timeout=600)
    assert tests.returncode == 0, tests.stdout + tests.stderr
    assert "8 passed" in tests.stdout
    cls = getattr(transformers, reference)
    small = dict(vocab_size=50, hidden_size=16, intermediate_size=32, num_hidden_layers=1, num_attention_heads=2) \
        if like == "llama" else dict(vocab_size=50, n_embd=16, n_layer=1, n_head=2)
    cls(cls.config_class(**small)).save_pretrained(tmp_path / "real")
    code = f"from gptcore.platform.registry import detect_loader; print(detect_loader({str(tmp_path / 'real')!r}).name)"
    found = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300)
    assert found.returncode == 0 and found.stdout.strip() == f"hf-{like}", found.stdout + found.stderr


def test_the_plain_skeleton_never_claims_a_hf_directory_of_its_name(tmp_path: Path):
    """`new-plugin qwen2` must not take real Qwen2 checkpoints it cannot read."""
    namespace: dict = {}
    files = plugin_files("qwen2")
    assert "model_type" not in files["src/gptcore_qwen2/format.py"]
    (tmp_path / "config.json").write_text('{"model_type": "qwen2", "architectures": ["Qwen2ForCausalLM"]}')
    source = files["src/gptcore_qwen2/format.py"]
    detect_src = source[source.index("def detect"):source.index("def load")]
    exec("import json\nfrom pathlib import Path\nMARK = 'gptcore_architecture'\n" + detect_src, namespace)
    assert namespace["detect"](tmp_path) is False


def test_new_plugin_refuses_bad_names_and_existing_directories(tmp_path: Path):
    bad = CliRunner().invoke(main, ["new-plugin", "My_GPT", "--out", str(tmp_path / "x")])
    assert bad.exit_code == 1 and "plugin name 'My_GPT'" in bad.output and not (tmp_path / "x").exists()
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "keep.txt").write_text("mine")
    taken = CliRunner().invoke(main, ["new-plugin", "ok", "--out", str(tmp_path / "taken")])
    assert taken.exit_code == 1 and "output exists" in taken.output
    assert os.listdir(tmp_path / "taken") == ["keep.txt"]


@pytest.mark.parametrize("like", [None, "llama", "gpt2"])
@pytest.mark.parametrize("name", ["a", "my-gpt", "neox2", "x-1-y"])
def test_every_generated_python_file_compiles(name: str, like: str | None):
    for rel, text in plugin_files(name, like).items():
        if rel.endswith(".py"):
            compile(text, rel, "exec")


def test_an_unknown_like_is_one_line():
    bad = CliRunner().invoke(main, ["new-plugin", "x", "--like", "mamba", "--out", "nowhere"])
    assert bad.exit_code != 0 and "mamba" in bad.output
