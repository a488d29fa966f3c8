"""gptcore.platform.weights: skip_init skips initialisation only inside its block, and assign still
refuses a file that lacks a tensor (so nothing stays uninitialised)."""

from __future__ import annotations

import json

import pytest
import torch
from safetensors.torch import load_file, save_file
from torch import nn

from gptcore.runs import checkpoint as ck
from gptcore.kit import testing
from gptcore.platform.weights import skip_init

TINY = dict(vocab_size=61, context_length=32, emb_dim=16, n_layers=2, n_heads=2)


def test_skip_init_makes_init_a_no_op_and_restores_it():
    normal = nn.init.normal_
    with skip_init():
        layer = nn.Linear(4, 3)
        assert nn.init.normal_(torch.zeros(2)).tolist() == [0.0, 0.0]
    assert nn.init.normal_ is normal
    torch.manual_seed(0)
    assert not torch.equal(nn.init.normal_(torch.zeros(50)), torch.zeros(50))
    assert layer.weight.shape == (3, 4)


def test_skip_init_restores_init_after_an_error():
    kaiming = nn.init.kaiming_uniform_
    with pytest.raises(RuntimeError, match="boom"):
        with skip_init():
            raise RuntimeError("boom")
    assert nn.init.kaiming_uniform_ is kaiming


def test_checkpoint_with_a_missing_tensor_still_fails(tmp_path):
    """skip_init leaves parameters uninitialised: a checkpoint lacking one must be refused."""
    model = testing.build_tiny("gpt2", TINY)
    path = ck.save_checkpoint(tmp_path / "c", model)
    tensors = load_file(str(path / ck.MODEL_FILE))
    del tensors["blocks.1.mlp.fc.weight"]
    save_file(tensors, str(path / ck.MODEL_FILE))
    with pytest.raises(ck.GptcoreError, match="is not the one checkpoint.json records"):
        ck.load_checkpoint(path)  # the file records catch the edit first ...
    meta = json.loads((path / ck.META).read_text())
    meta["files"][ck.MODEL_FILE] = ck.file_record(path / ck.MODEL_FILE)  # ... a consistent edit:
    (path / ck.META).write_text(json.dumps(meta))
    with pytest.raises(ck.GptcoreError, match="missing tensor blocks.1.mlp.fc.weight"):
        ck.load_checkpoint(path)  # skip_init never hides the missing tensor
