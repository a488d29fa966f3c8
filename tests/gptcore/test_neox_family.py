"""A third-party family written from docs/plugins.md alone: GPT-NeoX / Pythia.

The family lives in ``tests/gptcore/neox_plugin`` (test-only, never shipped) and reaches gptcore
the way any installed plugin does: a ``dist-info`` with ``entry_points.txt`` on ``sys.path``.
A Pythia-shaped random ``GPTNeoXForCausalLM`` (vocab 50304, padded past GPT-2's 50257 ids) must
give transformers' logits and greedy ids, pass the plugin kit, and generate from the CLI with
``--tokenizer gpt2`` without ever choosing a padding id.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner

transformers = pytest.importorskip("transformers")

from gptcore.platform import registry
from gptcore.kit import testing
from gptcore.cli import main
from gptcore.generation.decoding import GenerationConfig, generate_ids
from gptcore.generation.sampling import SamplingConfig
from tests.gptcore.helpers import CORPORA

PLUGIN_SRC = Path(__file__).resolve().parent / "neox_plugin"
GPT2_FILES = CORPORA / "gpt2"
GPT2_SIZE = 50257
PADDED = 50304
ATOL = 1e-5
PROMPT = "Every effort moves you"
ENTRY_POINTS = """\
[gptcore.architectures]
neox-test = gptcore_neox_test:ARCHITECTURE

[gptcore.loaders]
hf-neox-test = gptcore_neox_test.hf:LOADER
"""
TINY = dict(vocab_size=97, context_length=32, emb_dim=32, n_layers=2, n_heads=4, hidden_dim=64, rotary_pct=0.25,
            layer_norm_eps=1e-6)


@pytest.fixture(scope="module")
def neox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """The family installed as a distribution on ``sys.path``: discovered, not injected."""
    site = tmp_path_factory.mktemp("neox-site")
    info = site / "gptcore_neox_test-0.0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: gptcore-neox-test\nVersion: 0.0.1\n")
    (info / "entry_points.txt").write_text(ENTRY_POINTS)
    with pytest.MonkeyPatch.context() as mp:
        mp.syspath_prepend(str(site))
        mp.syspath_prepend(str(PLUGIN_SRC))
        registry.refresh()
        yield
    registry.refresh()


def make_hf_neox(path: Path, seed: int = 0, **overrides) -> torch.nn.Module:
    """A random Pythia-shaped ``GPTNeoXForCausalLM`` saved as safetensors in ``path`` (eval)."""
    kwargs = dict(vocab_size=PADDED, hidden_size=64, num_hidden_layers=2, num_attention_heads=4,
                  intermediate_size=256, rotary_pct=0.25, rotary_emb_base=10000, max_position_embeddings=128,
                  use_parallel_residual=True, layer_norm_eps=1e-5, tie_word_embeddings=False,
                  hidden_act="gelu", bos_token_id=0, eos_token_id=0)
    kwargs.update(overrides)
    cfg = transformers.GPTNeoXConfig(**kwargs)
    cfg._attn_implementation = "eager"
    torch.manual_seed(seed)
    model = transformers.GPTNeoXForCausalLM(cfg).eval()
    with torch.no_grad():  # HF starts norms at 1 and biases at 0: randomise both so they are tested
        for name, p in model.named_parameters():
            if "norm" in name or name.endswith(".bias"):
                p.add_(torch.randn_like(p) * 0.1)
        # padding rows the tokenizer never produces: make them win the unmasked argmax, so a
        # generator that forgets to mask them fails
        model.get_output_embeddings().weight[GPT2_SIZE:] *= 30.0
    model.save_pretrained(path, safe_serialization=True)
    return model


def _hf_greedy(model: torch.nn.Module, prompt: list[int], n: int, vocab: int | None = None) -> list[int]:
    kwargs = {}
    if vocab is not None:
        kwargs["suppress_tokens"] = list(range(vocab, PADDED))
    out = model.generate(torch.tensor([prompt]), max_new_tokens=n, min_new_tokens=n, do_sample=False,
                         pad_token_id=0, eos_token_id=None, **kwargs)
    return out[0, len(prompt):].tolist()


@pytest.fixture(scope="module")
def pythia(neox: None, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, torch.nn.Module]:
    path = tmp_path_factory.mktemp("pythia") / "pythia-tiny"
    return path, make_hf_neox(path)


@pytest.mark.parametrize("parallel", [True, False])
def test_logits_and_greedy_match_transformers(neox: None, tmp_path: Path, parallel: bool) -> None:
    hf = make_hf_neox(tmp_path, seed=int(parallel), use_parallel_residual=parallel, layer_norm_eps=1e-3)
    assert registry.detect_loader(tmp_path).name == "hf-neox-test"
    result = registry.load_model(tmp_path)
    assert result.architecture == "neox-test"
    assert result.model.config.parallel_residual is parallel and result.model.config.layer_norm_eps == 1e-3
    assert result.model.config.vocab_size == PADDED and result.model.config.rotary_dim == 4
    ids = torch.randint(0, GPT2_SIZE, (2, 40), generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        want, got = hf(ids).logits, result.model(ids)
    assert (got - want).abs().max().item() <= ATOL
    prompt = [5, 17, 42, 3]
    want_ids = _hf_greedy(hf, prompt, 12)
    got_ids = generate_ids(result.model, [prompt], GenerationConfig(12, SamplingConfig(temperature=0.0)))[0]
    assert got_ids == want_ids


def test_architecture_passes_the_kit(neox: None, tmp_path: Path) -> None:
    testing.check_architecture("neox-test", TINY, tmp_path)
    testing.check_architecture("neox-test", {**TINY, "parallel_residual": False, "rotary_pct": 1.0}, tmp_path)


def test_loader_passes_the_kit(pythia: tuple[Path, torch.nn.Module], tmp_path: Path) -> None:
    path, _ = pythia
    result = testing.check_loader("hf-neox-test", path)
    assert result.vocabulary is None  # no tokenizer.json beside the weights: --tokenizer is needed
    testing.check_detect_rejects("hf-neox-test", tmp_path)
    testing.check_loader_missing_path("hf-neox-test", tmp_path)
    testing.check_loader_corrupt_file("hf-neox-test", path, "model.safetensors", tmp_path)
    testing.check_loader_shape_mismatch("hf-neox-test", path, "model.safetensors",
                                        "gpt_neox.layers.1.attention.query_key_value.weight", tmp_path)
    loaded = testing.check_loader("hf-neox-test", path, {"context_length": "64"})
    assert loaded.model.config.context_length == 64


def test_cli_generates_with_gpt2_tokenizer_never_choosing_padding(pythia: tuple[Path, torch.nn.Module]) -> None:
    if not (GPT2_FILES / "encoder.json").is_file():
        pytest.skip(f"gpt2 vocabulary files not found ({GPT2_FILES}, see SOURCES.md)")
    import tokenkit

    path, hf = pythia
    tok = tokenkit.load("gpt2")
    assert tok.vocab_size == GPT2_SIZE
    prompt = tok.encode(PROMPT)
    unmasked = _hf_greedy(hf, prompt, 8)
    assert any(i >= GPT2_SIZE for i in unmasked), "fixture: the padding rows should win unmasked"
    want = _hf_greedy(hf, prompt, 8, vocab=GPT2_SIZE)
    assert all(i < GPT2_SIZE for i in want)
    ours = generate_ids(registry.load_model(path).model, [prompt],
                        GenerationConfig(8, SamplingConfig(temperature=0.0)), vocab_size=GPT2_SIZE)[0]
    assert ours == want

    done = CliRunner().invoke(main, ["generate", str(path), "--tokenizer", "gpt2", "--prompt", PROMPT, "--greedy",
                                     "--max-new-tokens", "8"])
    assert done.exit_code == 0, done.output
    assert f"ids {GPT2_SIZE}..{PADDED - 1} are padding" in done.stderr
    assert PROMPT + tok.decode(want) in done.stdout
