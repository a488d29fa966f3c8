"""Sampling: the textbook's toy case and properties checked with hypothesis."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from gptcore.generation.sampling import (
    SamplingConfig, epsilon_filter, min_p_filter, next_token_distribution, process_logits,
    repetition_penalty, sample, top_k_filter, top_p_filter)

TOY = torch.tensor([4.51, 0.89, -1.90, 6.75, 1.63, -1.62, -1.89, 6.28, 1.79])


def test_textbook_toy_top_k():
    dist = next_token_distribution(TOY, temperature=1.0, top_k=3)
    assert [i for i, _ in dist] == [3, 7, 0]
    assert [round(p, 4) for _, p in dist] == [0.5775, 0.3610, 0.0615]


def test_textbook_toy_temperatures():
    cold = dict(next_token_distribution(TOY, temperature=0.1))
    hot = dict(next_token_distribution(TOY, temperature=5.0))
    plain = dict(next_token_distribution(TOY, temperature=1.0))
    assert cold[3] > 0.99
    assert len(hot) == 9 and max(hot.values()) < 0.25 and min(hot.values()) > 0.04
    entropy = lambda d: -sum(p * torch.log(torch.tensor(p)).item() for p in d.values() if p > 0)  # noqa: E731
    assert entropy(cold) < entropy(plain) < entropy(hot)


logit_rows = st.lists(st.floats(-20, 20, allow_nan=False, width=32), min_size=2, max_size=40)


@settings(max_examples=60, deadline=None)
@given(row=logit_rows, k=st.integers(1, 40), seed=st.integers(0, 2**16))
def test_top_k_never_leaves_the_k_best(row, k, seed):
    logits = torch.tensor([row])
    kth = torch.sort(logits[0], descending=True).values[min(k, len(row)) - 1]
    gen = torch.Generator().manual_seed(seed)
    ids = [int(sample(logits, SamplingConfig(top_k=k), generator=gen)) for _ in range(5)]
    assert all(logits[0, i] >= kth for i in ids)
    assert (top_k_filter(logits, k) > float("-inf")).sum() >= min(k, len(row))


@settings(max_examples=60, deadline=None)
@given(row=logit_rows, p=st.floats(0.01, 0.99))
def test_top_p_keeps_smallest_set_reaching_p(row, p):
    logits = torch.tensor([row], dtype=torch.float64)
    probs = torch.softmax(logits[0], -1)
    kept = top_p_filter(logits, p)[0] > float("-inf")
    kept_probs = probs[kept]
    assert kept_probs.sum() >= p - 1e-9  # reaches p
    # smallest: without its least likely member the set no longer reaches p
    assert kept_probs.sum() - kept_probs.min() < p + 1e-9
    # and it is made of the most likely tokens
    assert probs[~kept].max().item() <= kept_probs.min().item() + 1e-12 if (~kept).any() else True


@settings(max_examples=40, deadline=None)
@given(row=logit_rows, seed=st.integers(0, 2**16))
def test_temperature_to_zero_equals_greedy(row, seed):
    logits = torch.tensor([row])
    top2 = torch.topk(logits[0], 2).values
    if top2[0] - top2[1] < 1e-2:  # an exact tie has no unique greedy answer
        return
    gen = torch.Generator().manual_seed(seed)
    cold = sample(logits, SamplingConfig(temperature=1e-5), generator=gen)
    assert int(cold) == int(sample(logits, SamplingConfig(temperature=0.0))) == int(logits.argmax())


@settings(max_examples=30, deadline=None)
@given(row=logit_rows, seed=st.integers(0, 2**31))
def test_same_seed_same_samples(row, seed):
    logits = torch.tensor([row, row[::-1]])
    cfg = SamplingConfig(temperature=1.3, top_p=0.9)
    draws = [sample(logits, cfg, generator=torch.Generator().manual_seed(seed)).tolist() for _ in range(2)]
    assert draws[0] == draws[1]


def test_min_p_and_epsilon():
    logits = torch.log(torch.tensor([[0.5, 0.3, 0.15, 0.05]]))
    assert (min_p_filter(logits, 0.2) > float("-inf")).tolist() == [[True, True, True, False]]
    assert (epsilon_filter(logits, 0.2) > float("-inf")).tolist() == [[True, True, False, False]]
    assert (epsilon_filter(logits, 0.9) > float("-inf")).tolist() == [[True, False, False, False]]


def test_repetition_penalty_discourages_seen_tokens():
    logits = torch.tensor([[2.0, -1.0, 0.5]])
    out = repetition_penalty(logits, torch.tensor([[0, 1]]), 2.0)
    assert out.tolist() == [[1.0, -2.0, 0.5]]
    assert int(process_logits(torch.tensor([[2.0, 1.5]]), SamplingConfig(temperature=0, repetition_penalty=2.0),
                              torch.tensor([[0]])).argmax()) == 1


@pytest.mark.parametrize("bad", [dict(temperature=-1), dict(top_k=0), dict(top_p=1.5), dict(repetition_penalty=0)])
def test_invalid_settings(bad):
    with pytest.raises(ValueError):
        SamplingConfig(**bad)
