"""OpenAI's original GPT-2 release read without TensorFlow: gptcore.platform.tfbundle and the openai-gpt2 loader.

Two sources of checkpoints:

* a small test-only writer below, written from the format's description (LevelDB table +
  BundleEntryProto), so the reader and every error path are tested where TensorFlow is absent;
* TensorFlow itself (a test-only dependency, run in a subprocess with ``tf.compat.v1`` Saver as
  OpenAI did), so the reader is checked against the real writer; skipped where TF is missing.

Parity is against ``transformers``' GPT2LMHeadModel holding the same numpy arrays.
"""

from __future__ import annotations

import importlib.util
import json
import shutil
import struct
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from gptcore.platform import registry
from gptcore.kit import testing
from gptcore.cli import main
from gptcore.models.gpt2 import openai as openai_gpt2
from gptcore.platform.tfbundle import (
    TABLE_MAGIC, TensorBundle, crc32c, crc32c_python, mask_crc, open_bundle, unmask_crc)
from tests.gptcore.helpers import CORPORA

GPT2_FILES = CORPORA / "gpt2"
TINY = dict(n_vocab=50, n_ctx=16, n_embd=32, n_head=4, n_layer=2)
PROMPT = "Every effort moves you"

# --------------------------------------------------------------------------------------------
# test-only writer: LevelDB table + BundleEntryProto, as TensorFlow's BundleWriter lays them out
# --------------------------------------------------------------------------------------------

_NP_TO_TF = {np.dtype("float32"): 1, np.dtype("float64"): 2, np.dtype("int32"): 3, np.dtype("uint8"): 4,
             np.dtype("int16"): 5, np.dtype("int8"): 6, np.dtype("int64"): 9, np.dtype("bool"): 10,
             np.dtype("uint16"): 17, np.dtype("float16"): 19, np.dtype("uint32"): 22,
             np.dtype("uint64"): 23}


def varint(n: int) -> bytes:
    out = bytearray()
    n &= (1 << 64) - 1
    while True:
        byte, n = n & 0x7F, n >> 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def field(number: int, value: int | bytes, wire: int | None = None) -> bytes:
    if isinstance(value, bytes):
        return varint(number << 3 | 2) + varint(len(value)) + value
    if wire == 5:
        return varint(number << 3 | 5) + struct.pack("<I", value)
    return varint(number << 3) + varint(value)


def entry_proto(dtype: int, shape: tuple[int, ...], shard: int, offset: int, size: int,
                crc: int | None) -> bytes:
    shape_msg = b"".join(field(2, field(1, d)) for d in shape)
    out = field(1, dtype) + field(2, shape_msg)
    out += (field(3, shard) if shard else b"") + (field(4, offset) if offset else b"")
    out += (field(5, size) if size else b"") + (field(6, crc, 5) if crc is not None else b"")
    return out


def _block(items: list[tuple[bytes, bytes]], restart_interval: int = 4) -> bytes:
    out, restarts, prev = bytearray(), [], b""
    for i, (key, value) in enumerate(items):
        shared = 0
        if i % restart_interval == 0:
            restarts.append(len(out))
        else:
            while shared < min(len(prev), len(key)) and prev[shared] == key[shared]:
                shared += 1
        out += varint(shared) + varint(len(key) - shared) + varint(len(value)) + key[shared:] + value
        prev = key
    for r in restarts or [0]:
        out += struct.pack("<I", r)
    return bytes(out + struct.pack("<I", len(restarts or [0])))


def write_table(path: Path, items: list[tuple[bytes, bytes]], block_size: int = 4096,
                compression: int = 0) -> None:
    """A LevelDB table of sorted ``items``, split into data blocks of about ``block_size`` bytes."""
    out = bytearray()

    def put(contents: bytes) -> bytes:
        handle = varint(len(out)) + varint(len(contents))
        trailer = bytes([compression])
        out.extend(contents + trailer + struct.pack("<I", mask_crc(crc32c(contents + trailer))))
        return handle

    index, pending = [], []
    for item in items:
        pending.append(item)
        if sum(len(k) + len(v) for k, v in pending) >= block_size:
            index.append((pending[-1][0], put(_block(pending))))
            pending = []
    if pending:
        index.append((pending[-1][0], put(_block(pending))))
    meta_handle = put(_block([]))
    index_handle = put(_block(index, restart_interval=1))
    footer = (meta_handle + index_handle).ljust(40, b"\0") + struct.pack("<Q", TABLE_MAGIC)
    path.write_bytes(bytes(out + footer))


def write_bundle(prefix: Path, arrays: dict[str, np.ndarray], num_shards: int = 1,
                 block_size: int = 4096, checkpoint_file: bool = True) -> None:
    """``arrays`` as ``PREFIX.index`` + data shards (+ the directory's ``checkpoint`` file)."""
    shards = [bytearray() for _ in range(num_shards)]
    items = [(b"", field(1, num_shards))]  # BundleHeaderProto; endianness LITTLE is the default
    for i, name in enumerate(sorted(arrays, key=lambda n: n.encode())):
        array = np.asarray(arrays[name])  # tobytes() is C order; ascontiguousarray would make 0-d 1-d
        data = array.astype(array.dtype.newbyteorder("<")).tobytes()
        shard = i % num_shards
        proto = entry_proto(_NP_TO_TF[array.dtype], array.shape, shard, len(shards[shard]), len(data),
                            mask_crc(crc32c(data)))
        items.append((name.encode(), proto))
        shards[shard] += data
    for s, data in enumerate(shards):
        Path(f"{prefix}.data-{s:05d}-of-{num_shards:05d}").write_bytes(bytes(data))
    write_table(Path(f"{prefix}.index"), items, block_size)
    if checkpoint_file:
        (prefix.parent / "checkpoint").write_text(
            f'model_checkpoint_path: "{prefix.name}"\nall_model_checkpoint_paths: "{prefix.name}"\n')


def random_openai_weights(hp: dict[str, int], seed: int = 0) -> dict[str, np.ndarray]:
    """Random weights under OpenAI's names and shapes (norms and biases random too)."""
    rng = np.random.default_rng(seed)
    e, v, c = hp["n_embd"], hp["n_vocab"], hp["n_ctx"]

    def r(*shape: int, scale: float = 0.2) -> np.ndarray:
        return (rng.standard_normal(shape) * scale).astype(np.float32)

    w = {"model/wte": r(v, e), "model/wpe": r(c, e), "model/ln_f/g": 1 + r(e), "model/ln_f/b": r(e)}
    for i in range(hp["n_layer"]):
        p = f"model/h{i}/"
        w.update({p + "ln_1/g": 1 + r(e), p + "ln_1/b": r(e), p + "ln_2/g": 1 + r(e), p + "ln_2/b": r(e),
                  p + "attn/c_attn/w": r(1, e, 3 * e), p + "attn/c_attn/b": r(3 * e),
                  p + "attn/c_proj/w": r(1, e, e), p + "attn/c_proj/b": r(e),
                  p + "mlp/c_fc/w": r(1, e, 4 * e), p + "mlp/c_fc/b": r(4 * e),
                  p + "mlp/c_proj/w": r(1, 4 * e, e), p + "mlp/c_proj/b": r(e)})
    return w


def write_openai_dir(directory: Path, hp: dict[str, int], weights: dict[str, np.ndarray],
                     vocab: bool = False) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "hparams.json").write_text(json.dumps(hp))
    write_bundle(directory / "model.ckpt", weights)
    if vocab:
        copy_gpt2_vocab(directory)
    return directory


def copy_gpt2_vocab(directory: Path) -> None:
    for name in ("encoder.json", "vocab.bpe"):
        src = GPT2_FILES / name
        if not src.is_file():
            pytest.skip(f"corpus not available: {src} (see shared/corpora/SOURCES.md)")
        shutil.copy(src, directory / name)


def hf_model(hp: dict[str, int], weights: dict[str, np.ndarray]):
    """transformers' GPT-2 holding the same arrays (Conv1D is OpenAI's layout minus the leading 1)."""
    import transformers

    cfg = transformers.GPT2Config(vocab_size=hp["n_vocab"], n_positions=hp["n_ctx"], n_embd=hp["n_embd"],
                                  n_layer=hp["n_layer"], n_head=hp["n_head"], resid_pdrop=0.0,
                                  embd_pdrop=0.0, attn_pdrop=0.0, activation_function="gelu_new",
                                  layer_norm_epsilon=1e-5, attn_implementation="eager")
    model = transformers.GPT2LMHeadModel(cfg).eval()
    suffix = {"g": "weight", "b": "bias", "w": "weight"}
    state = {}
    for name, array in weights.items():
        parts = name.removeprefix("model/").split("/")
        if parts[0] in ("wte", "wpe"):
            key = f"{parts[0]}.weight"
        elif parts[0] == "ln_f":
            key = f"ln_f.{suffix[parts[1]]}"
        else:  # h{i}/module.../{g|b|w}
            key = ".".join(["h", parts[0][1:], *parts[1:-1], suffix[parts[-1]]])
        state["transformer." + key] = torch.from_numpy(array[0] if array.ndim == 3 else array)
    missing, unexpected = model.load_state_dict(state, strict=False)
    assert not unexpected and set(missing) <= {"lm_head.weight"}, (missing, unexpected)
    return model


def logits_error(ours: torch.nn.Module, ref: torch.nn.Module, vocab_size: int, length: int) -> float:
    ids = torch.randint(0, vocab_size, (2, length), generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        return (ours(ids) - ref(ids).logits).abs().max().item()


def load_error(path: Path) -> registry.GptcoreError:
    with pytest.raises(registry.GptcoreError) as info:
        registry.load_model(path, loader="openai-gpt2")
    return info.value


@pytest.fixture(scope="module")
def tiny_weights() -> dict[str, np.ndarray]:
    return random_openai_weights(TINY)


@pytest.fixture()
def tiny_dir(tmp_path, tiny_weights) -> Path:
    return write_openai_dir(tmp_path / "124M", TINY, tiny_weights)


# --------------------------------------------------------------------------------------------
# the reader, on bundles from the test writer
# --------------------------------------------------------------------------------------------


def test_crc32c_known_value_and_fallback_agree():
    assert crc32c(b"123456789") == 0xE3069283  # the standard check value of CRC-32C
    data = np.random.default_rng(0).integers(0, 256, 5000, dtype=np.uint8).tobytes()
    assert crc32c_python(data) == crc32c(data)
    assert crc32c(data[2000:], crc32c(data[:2000])) == crc32c(data)
    for value in (0, 1, 0xFFFFFFFF, crc32c(data)):
        assert unmask_crc(mask_crc(value)) == value and mask_crc(value) != value


_DTYPES = st.sampled_from(["<f4", "<f2", "<f8", "<i4", "<i8", "u1", "i1", "?", "<u2", "<u4"])
_NAMES = st.lists(st.text(st.characters(codec="utf-8", exclude_characters="\0"), min_size=1,
                          max_size=30), min_size=1, max_size=12, unique_by=lambda s: s.encode())


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(arrays=st.lists(hnp.arrays(np.float32, hnp.array_shapes(min_dims=0, max_dims=3, max_side=9)),
                       min_size=1, max_size=12),
       names=_NAMES, block_size=st.sampled_from([32, 4096]), shards=st.integers(1, 3))
def test_float32_arrays_read_back_bit_exact(tmp_path_factory, arrays, names, block_size, shards):
    named = dict(zip(names, arrays))
    prefix = tmp_path_factory.mktemp("bundle") / "model.ckpt"
    write_bundle(prefix, named, num_shards=shards, block_size=block_size)
    bundle = open_bundle(prefix.parent)
    assert set(bundle.entries) == set(named)
    for name, array in named.items():
        got = bundle.read(name)
        assert got.dtype == torch.float32 and tuple(got.shape) == array.shape
        assert np.array_equal(got.numpy().view(np.uint32), array.view(np.uint32))  # NaNs included


@settings(max_examples=25, deadline=None)
@given(arrays=st.lists(_DTYPES.flatmap(lambda d: hnp.arrays(np.dtype(d), hnp.array_shapes(
    min_dims=0, max_dims=2, max_side=6))), min_size=1, max_size=8), data=st.data())
def test_every_numeric_dtype_reads_back_exactly(tmp_path_factory, arrays, data):
    names = [f"v{i}" for i in range(len(arrays))]
    prefix = tmp_path_factory.mktemp("bundle") / "ckpt"
    write_bundle(prefix, dict(zip(names, arrays)), checkpoint_file=False)
    bundle = TensorBundle(prefix)
    for name, array in zip(names, arrays):
        got = bundle.read(name).numpy()
        assert got.dtype == array.dtype.newbyteorder("=") and got.tobytes() == array.tobytes()


def test_many_variables_span_several_index_blocks(tmp_path):
    arrays = {f"model/h{i}/attn/c_attn/{k}": np.full((i % 5 + 1,), i, np.float32)
              for i in range(300) for k in "bw"}
    write_bundle(tmp_path / "model.ckpt", arrays, block_size=256)
    bundle = open_bundle(tmp_path / "model.ckpt.index")
    assert len(bundle.entries) == 600
    for name in ("model/h0/attn/c_attn/b", "model/h299/attn/c_attn/w", "model/h150/attn/c_attn/b"):
        assert torch.equal(bundle.read(name), torch.from_numpy(arrays[name]))


def test_bfloat16_entries_become_torch_bfloat16(tmp_path):
    values = torch.tensor([1.0, -2.5, 3.140625, 1e-3], dtype=torch.bfloat16)
    raw = values.view(torch.int16).numpy().view(np.uint16)
    prefix = tmp_path / "model.ckpt"
    write_bundle(prefix, {"x": raw})
    index = prefix.with_name("model.ckpt.index")
    # rewrite the entry's dtype from uint16 (17) to bfloat16 (14): same bytes, same crc
    proto = entry_proto(14, (4,), 0, 0, 8, mask_crc(crc32c(raw.tobytes())))
    write_table(index, [(b"", field(1, 1)), (b"x", proto)])
    got = open_bundle(tmp_path).read("x")
    assert got.dtype == torch.bfloat16 and torch.equal(got, values)


# --------------------------------------------------------------------------------------------
# the loader: parity, detection, vocabulary, overrides
# --------------------------------------------------------------------------------------------


def test_loader_matches_transformers(tiny_dir, tiny_weights):
    assert registry.detect_loader(tiny_dir).name == "openai-gpt2"
    result = registry.load_model(tiny_dir)
    model = result.model
    assert result.architecture == "gpt2" and not model.training and result.vocabulary is None
    assert registry.architecture_for(model).name == "gpt2"
    cfg = model.config
    assert (cfg.vocab_size, cfg.context_length, cfg.emb_dim, cfg.n_heads, cfg.n_layers) == (50, 16, 32, 4, 2)
    assert cfg.tie_weights and model.lm_head.weight is model.tok_emb.weight
    assert logits_error(model, hf_model(TINY, tiny_weights), 50, 16) <= 1e-5


def test_shorter_context_override_keeps_first_positions(tiny_dir, tiny_weights):
    model = registry.load_model(tiny_dir, context_length=8).model
    assert model.config.context_length == 8
    assert np.array_equal(model.pos_emb.weight.detach().numpy(), tiny_weights["model/wpe"][:8])
    assert logits_error(model, hf_model(TINY, tiny_weights), 50, 8) <= 1e-5
    testing.assert_one_line_error(load_error_with(tiny_dir, context_length=17), "context_length 17",
                                  "hparams.json")


def load_error_with(path: Path, **overrides) -> registry.GptcoreError:
    with pytest.raises(registry.GptcoreError) as info:
        registry.load_model(path, loader="openai-gpt2", **overrides)
    return info.value


def test_detect_is_specific(tiny_dir, hf_dir, tmp_path):
    detect = openai_gpt2.LOADER.detect
    assert detect(tiny_dir)
    (tmp_path / "empty").mkdir()
    (tmp_path / "file.bin").write_bytes(b"\0" * 64)
    for other in (hf_dir, tmp_path / "empty", tmp_path / "file.bin", tiny_dir / "hparams.json"):
        assert not detect(other), other
    only_hparams = tmp_path / "only"
    only_hparams.mkdir()
    shutil.copy(tiny_dir / "hparams.json", only_hparams / "hparams.json")
    assert not detect(only_hparams)
    assert registry.detect_loader(hf_dir).name == "hf-gpt2"


def test_vocabulary_and_cli_generate_on_the_directory_as_downloaded(tmp_path):
    hp = dict(n_vocab=50257, n_ctx=32, n_embd=16, n_head=2, n_layer=1)
    weights = random_openai_weights(hp, seed=3)
    directory = write_openai_dir(tmp_path / "124M", hp, weights, vocab=True)
    result = registry.load_model(directory)
    assert result.vocabulary == str(directory.resolve())
    from gptcore.data.vocab import load_vocabulary

    vocab = load_vocabulary(result.vocabulary)
    ids = vocab.encode(PROMPT)
    assert ids == [6109, 3626, 6100, 345]  # GPT-2's ids, as tiktoken's gpt2 encoding gives them
    ref = hf_model(hp, weights)
    with torch.no_grad():
        out = ref.generate(torch.tensor([ids]), max_new_tokens=6, do_sample=False, min_new_tokens=6,
                           pad_token_id=50256)
    expected = PROMPT + vocab.decode(out[0, len(ids):].tolist())
    run = CliRunner().invoke(main, ["generate", str(directory), "--prompt", PROMPT, "--greedy",
                                    "--max-new-tokens", "6", "--no-stream"])
    assert run.exit_code == 0, run.output
    assert run.output.rstrip("\n") == expected


# --------------------------------------------------------------------------------------------
# errors: one line naming the file and the variable
# --------------------------------------------------------------------------------------------


def _data_file(directory: Path) -> Path:
    return directory / "model.ckpt.data-00000-of-00001"


def test_truncated_data_file_names_file_and_variable(tiny_dir):
    bundle = open_bundle(tiny_dir)
    last = max(bundle.entries.values(), key=lambda e: e.offset + e.size)
    data = _data_file(tiny_dir)
    data.write_bytes(data.read_bytes()[:last.offset + last.size - 1])
    testing.assert_one_line_error(load_error(tiny_dir), "truncated", str(data), last.name)


def test_crc_mismatch_names_file_and_variable(tiny_dir):
    entry = open_bundle(tiny_dir).entries["model/h1/mlp/c_fc/b"]
    data = _data_file(tiny_dir)
    raw = bytearray(data.read_bytes())
    raw[entry.offset + 5] ^= 0x01
    data.write_bytes(bytes(raw))
    testing.assert_one_line_error(load_error(tiny_dir), "crc32c", str(data), "model/h1/mlp/c_fc/b")


def test_wrong_shape_missing_and_extra_variables(tmp_path, tiny_weights):
    bad = dict(tiny_weights, **{"model/h1/mlp/c_fc/b": np.zeros(127, np.float32)})
    d = write_openai_dir(tmp_path / "shape", TINY, bad)
    testing.assert_one_line_error(load_error(d), "model/h1/mlp/c_fc/b", "(127,)", "(128,)",
                                  str(d / "model.ckpt.index"))
    bad = dict(tiny_weights, **{"model/h0/attn/c_attn/w": tiny_weights["model/h0/attn/c_attn/w"][0]})
    d = write_openai_dir(tmp_path / "conv", TINY, bad)
    testing.assert_one_line_error(load_error(d), "model/h0/attn/c_attn/w", "(32, 96)", "(1, 32, 96)")
    d = write_openai_dir(tmp_path / "missing", TINY,
                         {k: v for k, v in tiny_weights.items() if k != "model/h1/ln_2/g"})
    testing.assert_one_line_error(load_error(d), "missing tensor model/h1/ln_2/g", "model.ckpt.index")
    d = write_openai_dir(tmp_path / "extra", TINY, dict(tiny_weights, **{"model/h2/ln_1/g": np.ones(32, np.float32)}))
    testing.assert_one_line_error(load_error(d), "unexpected tensor model/h2/ln_1/g", "model.ckpt.index")
    d = write_openai_dir(tmp_path / "hparams", dict(TINY, n_embd=48), tiny_weights)
    testing.assert_one_line_error(load_error(d), "model/", "shape mismatch", "model.ckpt.index")


def test_bad_magic_truncated_index_and_compressed_blocks(tiny_dir, tmp_path):
    index = tiny_dir / "model.ckpt.index"
    good = index.read_bytes()
    index.write_bytes(good[:-1] + b"\0")
    testing.assert_one_line_error(load_error(tiny_dir), "bad magic", str(index))
    index.write_bytes(good[:-60])
    testing.assert_one_line_error(load_error(tiny_dir), str(index))
    index.write_bytes(good[:20])
    testing.assert_one_line_error(load_error(tiny_dir), "shorter than", str(index))
    index.write_bytes(good[:100] + bytes([good[100] ^ 0xFF]) + good[101:])
    testing.assert_one_line_error(load_error(tiny_dir), str(index))
    write_table(index, [(b"", field(1, 1))], compression=1)
    testing.assert_one_line_error(load_error(tiny_dir), "snappy compression", "not supported", str(index))
    index.unlink()
    testing.assert_one_line_error(load_error(tiny_dir), "model.ckpt.index")


def test_unsupported_entries_and_headers(tmp_path):
    prefix = tmp_path / "model.ckpt"
    write_bundle(prefix, {"x": np.zeros(3, np.float32)})
    index = Path(f"{prefix}.index")
    header = (b"", field(1, 1))
    write_table(index, [header, (b"s", entry_proto(7, (2,), 0, 0, 12, None))])
    testing.assert_one_line_error(_read_error(prefix, "s"), "unsupported dtype string", "variable s")
    write_table(index, [header, (b"x", entry_proto(1, (4,), 0, 0, 12, None))])
    testing.assert_one_line_error(_read_error(prefix, "x"), "variable x", "12 bytes", "needs 16")
    write_table(index, [header, (b"x", entry_proto(1, (3,), 2, 0, 12, None))])
    testing.assert_one_line_error(_read_error(prefix, "x"), "variable x", "shard 2 of 1")
    write_table(index, [header, (b"x", entry_proto(1, (3,), 0, 0, 12, None) + field(7, b""))])
    testing.assert_one_line_error(_read_error(prefix, "x"), "variable x", "partitioned")
    write_table(index, [(b"x", entry_proto(1, (3,), 0, 0, 12, None))])
    with pytest.raises(registry.GptcoreError) as info:
        TensorBundle(prefix)
    testing.assert_one_line_error(info.value, "no bundle header", str(index))
    write_table(index, [header, (b"x", b"\x0a\xff")])  # a length-delimited field past the end
    with pytest.raises(registry.GptcoreError) as info:
        TensorBundle(prefix)
    testing.assert_one_line_error(info.value, "corrupt checkpoint index", "x", str(index))


def _read_error(prefix: Path, name: str) -> registry.GptcoreError:
    with pytest.raises(registry.GptcoreError) as info:
        TensorBundle(prefix).read(name)
    return info.value


def test_checkpoint_file_and_hparams_errors(tiny_dir, tmp_path):
    testing.check_loader_missing_path("openai-gpt2", tmp_path)
    state = tiny_dir / "checkpoint"
    state.write_text('model_checkpoint_path: "/elsewhere/model.ckpt"\n')  # moved: same name here
    assert registry.load_model(tiny_dir).model.config.n_layers == 2
    state.write_text('model_checkpoint_path: "other.ckpt"\n')
    testing.assert_one_line_error(load_error(tiny_dir), "other.ckpt.index", str(state))
    state.write_text("garbage\n")
    testing.assert_one_line_error(load_error(tiny_dir), "model_checkpoint_path", str(state))
    state.unlink()  # no checkpoint file: the single *.index is used
    assert registry.load_model(tiny_dir).model.config.n_layers == 2
    hparams = tiny_dir / "hparams.json"
    hparams.write_text(json.dumps({k: v for k, v in TINY.items() if k != "n_head"}))
    testing.assert_one_line_error(load_error(tiny_dir), "'n_head'", str(hparams))
    hparams.write_text(json.dumps(dict(TINY, n_layer="2")))
    testing.assert_one_line_error(load_error(tiny_dir), "n_layer", str(hparams))
    hparams.write_text("{not json")
    testing.assert_one_line_error(load_error(tiny_dir), "invalid JSON", str(hparams))


# --------------------------------------------------------------------------------------------
# against TensorFlow itself (test-only dependency, in a subprocess)
# --------------------------------------------------------------------------------------------

_TF_WRITER = textwrap.dedent('''
    import json, os, sys
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
    import numpy as np
    import tensorflow as tf

    weights_npz, openai_dir, many_dir, tf2_dir = sys.argv[1:5]
    weights = dict(np.load(weights_npz))
    many = {f"scope{i % 7}/var{i}": np.arange(i + 1, dtype=np.float32) * 0.5 - i for i in range(400)}
    many["typed/f16"] = np.linspace(-3, 3, 7).astype(np.float16)
    many["typed/f64"] = np.linspace(-3, 3, 7)
    many["typed/i64"] = np.arange(-3, 4, dtype=np.int64) * (1 << 40)
    many["typed/i32"] = np.arange(-3, 4, dtype=np.int32)
    many["typed/u8"] = np.arange(7, dtype=np.uint8) * 30
    many["typed/bool"] = np.arange(7) % 2 == 0
    many["typed/scalar"] = np.float32(2.5)

    def save(arrays, directory, bfloat16=()):
        """Graph mode and tf.compat.v1.train.Saver, as OpenAI's release was written."""
        with tf.Graph().as_default():
            variables = {name: tf.compat.v1.get_variable(name, initializer=value)
                         for name, value in arrays.items()}
            for name, value in bfloat16:
                initial = tf.cast(tf.constant(value), tf.bfloat16)
                variables[name] = tf.compat.v1.get_variable(name, initializer=initial)
            saver = tf.compat.v1.train.Saver(var_list=variables)
            with tf.compat.v1.Session() as session:
                session.run(tf.compat.v1.global_variables_initializer())
                os.chdir(directory)
                saver.save(session, "model.ckpt")  # relative: `checkpoint` says "model.ckpt"

    save(weights, openai_dir)
    save(many, many_dir, [("typed/bf16", np.linspace(-3, 3, 7).astype(np.float32))])
    # TF2 object-based checkpoint: adds a string entry (_CHECKPOINTABLE_OBJECT_GRAPH)
    ckpt = tf.train.Checkpoint(w=tf.Variable(np.arange(6, dtype=np.float32).reshape(2, 3)))
    ckpt.write(os.path.join(tf2_dir, "ckpt"))
    print(json.dumps({"tf": tf.__version__}))
''')


@pytest.fixture(scope="session")
def tf_written(tmp_path_factory) -> dict[str, object]:
    """Checkpoints written by TensorFlow: OpenAI-style GPT-2, a many-variable/many-dtype one, TF2."""
    if importlib.util.find_spec("tensorflow") is None:
        pytest.skip("TensorFlow is not installed (test-only: pip install tensorflow-cpu)")
    root = tmp_path_factory.mktemp("tf")
    hp = dict(n_vocab=50257, n_ctx=64, n_embd=64, n_head=4, n_layer=2)
    weights = random_openai_weights(hp, seed=7)
    np.savez(root / "weights.npz", **weights)
    dirs = {k: root / k for k in ("openai", "many", "tf2")}
    for d in dirs.values():
        d.mkdir()
    (dirs["openai"] / "hparams.json").write_text(json.dumps(hp))
    proc = subprocess.run([sys.executable, "-c", _TF_WRITER, str(root / "weights.npz"),
                           *(str(d) for d in dirs.values())], capture_output=True, text=True, timeout=300)
    if proc.returncode != 0 and "import tensorflow" in proc.stderr and "Error" in proc.stderr.splitlines()[-1]:
        pytest.skip(f"TensorFlow does not import: {proc.stderr.strip().splitlines()[-1]}")
    assert proc.returncode == 0, proc.stderr[-3000:]
    copy_gpt2_vocab(dirs["openai"])
    return dict(hp=hp, weights=weights, **dirs)


def test_tf_checkpoint_state_file_is_relative_like_openais(tf_written):
    text = (tf_written["openai"] / "checkpoint").read_text()
    assert 'model_checkpoint_path: "model.ckpt"' in text


def test_reader_agrees_with_tensorflow_on_every_variable_and_dtype(tf_written):
    bundle = open_bundle(tf_written["many"])
    assert len(bundle.entries) == 408
    for i in range(400):
        name = f"scope{i % 7}/var{i}"
        assert np.array_equal(bundle.read(name).numpy(), np.arange(i + 1, dtype=np.float32) * 0.5 - i)
    expected = {"typed/f16": np.linspace(-3, 3, 7).astype(np.float16), "typed/f64": np.linspace(-3, 3, 7),
                "typed/i64": np.arange(-3, 4, dtype=np.int64) * (1 << 40),
                "typed/i32": np.arange(-3, 4, dtype=np.int32), "typed/u8": np.arange(7, dtype=np.uint8) * 30,
                "typed/bool": np.arange(7) % 2 == 0, "typed/scalar": np.float32(2.5)}
    for name, value in expected.items():
        got = bundle.read(name).numpy()
        assert got.dtype == value.dtype and got.shape == value.shape and np.array_equal(got, value), name
    bf16 = bundle.read("typed/bf16")
    assert bf16.dtype == torch.bfloat16
    assert torch.equal(bf16, torch.from_numpy(np.linspace(-3, 3, 7).astype(np.float32)).to(torch.bfloat16))


def test_reader_reads_tf2_object_checkpoints(tf_written):
    bundle = open_bundle(tf_written["tf2"] / "ckpt.index")
    weights = [n for n in bundle.entries if n.startswith("w/")]
    assert len(weights) == 1
    assert np.array_equal(bundle.read(weights[0]).numpy(), np.arange(6, dtype=np.float32).reshape(2, 3))
    testing.assert_one_line_error(_read_error(bundle.prefix, "_CHECKPOINTABLE_OBJECT_GRAPH"),
                                  "unsupported dtype string")


def test_tensorflow_written_gpt2_matches_transformers(tf_written):
    directory, hp = tf_written["openai"], tf_written["hp"]
    result = registry.load_model(directory)
    assert registry.detect_loader(directory).name == "openai-gpt2"
    assert result.vocabulary == str(directory.resolve())
    assert logits_error(result.model, hf_model(hp, tf_written["weights"]), hp["n_vocab"], 64) <= 1e-5


_LOAD_WITHOUT_TF = textwrap.dedent('''
    import importlib.abc, sys
    import numpy as np
    import torch

    class NoTensorFlow(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name.partition(".")[0] in ("tensorflow", "keras", "tensorboard"):
                raise ModuleNotFoundError(f"No module named {name!r} (blocked by the test)")
            return None

    sys.meta_path.insert(0, NoTensorFlow())
    from gptcore.platform import registry

    model = registry.load_model(sys.argv[1]).model
    ids = torch.arange(64).reshape(1, 64) * 97 % 50257
    with torch.no_grad():
        np.save(sys.argv[2], model(ids).numpy())
    loaded = sorted(m for m in sys.modules if m.partition(".")[0] in ("tensorflow", "keras", "tensorboard"))
    assert not loaded, loaded
''')


def test_loads_in_a_process_where_tensorflow_cannot_be_imported(tf_written, tmp_path):
    out = tmp_path / "logits.npy"
    proc = subprocess.run([sys.executable, "-c", _LOAD_WITHOUT_TF, str(tf_written["openai"]), str(out)],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    ref = hf_model(tf_written["hp"], tf_written["weights"])
    with torch.no_grad():
        expected = ref(torch.arange(64).reshape(1, 64) * 97 % 50257).logits.numpy()
    assert np.abs(np.load(out) - expected).max() <= 1e-5


def test_cli_generates_from_the_tensorflow_written_directory(tf_written):
    directory = tf_written["openai"]
    run = CliRunner().invoke(main, ["generate", str(directory), "--prompt", PROMPT, "--greedy",
                                    "--max-new-tokens", "5", "--no-stream"])
    assert run.exit_code == 0, run.output
    from gptcore.data.vocab import load_vocabulary

    vocab = load_vocabulary(directory)
    ids = vocab.encode(PROMPT)
    with torch.no_grad():
        out = hf_model(tf_written["hp"], tf_written["weights"]).generate(
            torch.tensor([ids]), max_new_tokens=5, min_new_tokens=5, do_sample=False, pad_token_id=50256)
    assert run.output.rstrip("\n") == PROMPT + vocab.decode(out[0, len(ids):].tolist())


def test_plugin_kit_corrupt_index_and_data_files(tiny_dir, tmp_path):
    for name in ("model.ckpt.index", "model.ckpt.data-00000-of-00001"):
        (tmp_path / name).mkdir()
        testing.check_loader_corrupt_file("openai-gpt2", tiny_dir, name, tmp_path / name)


def test_cli_reports_a_corrupt_release_in_one_line(tiny_dir):
    data = _data_file(tiny_dir)
    data.write_bytes(data.read_bytes()[:100])
    run = CliRunner().invoke(main, ["generate", str(tiny_dir), "--prompt", PROMPT])
    assert run.exit_code != 0
    lines = run.output.strip().splitlines()
    assert len(lines) == 1 and str(data) in lines[0] and "model/" in lines[0], run.output
