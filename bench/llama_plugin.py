"""Benchmark: the gptcore-llama plugin vs ``transformers`` LlamaForCausalLM, same random weights.

One random ``LlamaConfig`` model is built with transformers, saved, and loaded into gptcore
through the plugin's ``hf-llama`` loader, so both sides compute the same function (the logit
difference is printed).  Measured, interleaved (ours, theirs, ours, ...) so that load on a
shared machine hits both alike; the table shows medians and the ratio ours / transformers:

* train: forward + cross-entropy + backward + fused AdamW step (the default of both gptcore's
  ``make_optimizer`` and transformers' ``Trainer`` with torch >= 2.8), tokens/s = batch * seq / time;
* generate: greedy decoding with a KV cache (gptcore ``generate_ids`` on the model re-laid out by
  :func:`gptcore.generation.inference.decode_layout`, as ``gptcore generate`` does, vs HF ``generate``),
  tokens/s = new tokens / time.

Run (needs ``pip install -e plugins/gptcore-llama`` and transformers)::

    python -m bench.llama_plugin [--repeats 5] [--threads N]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import torch
import torch.nn.functional as F

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from gptcore.generation.decoding import GenerationConfig, generate_ids  # noqa: E402
from gptcore.generation.inference import decode_layout  # noqa: E402
from gptcore.platform.registry import load_model  # noqa: E402
from gptcore.generation.sampling import SamplingConfig  # noqa: E402

CONFIG = dict(vocab_size=4096, hidden_size=256, intermediate_size=688, num_hidden_layers=4,
              num_attention_heads=8, num_key_value_heads=4, max_position_embeddings=512,
              rms_norm_eps=1e-5, tie_word_embeddings=False)


def _hf_model(path: Path):  # type: ignore[no-untyped-def]
    import transformers

    cfg = transformers.LlamaConfig(**CONFIG)
    if hasattr(cfg, "rope_parameters"):
        cfg.rope_parameters = {"rope_type": "default", "rope_theta": 10000.0}
    torch.manual_seed(0)
    model = transformers.LlamaForCausalLM(cfg)
    model.save_pretrained(path, safe_serialization=True)
    return transformers.LlamaForCausalLM.from_pretrained(path, attn_implementation="sdpa").float()


def _timed(fn: Callable[[], None]) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=9)
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--seq", type=int, default=256)
    parser.add_argument("--new-tokens", type=int, default=64)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)

    with tempfile.TemporaryDirectory() as tmp:
        theirs = _hf_model(Path(tmp))
        ours = load_model(tmp).model
    vocab = CONFIG["vocab_size"]
    gen = torch.Generator().manual_seed(0)
    batch = torch.randint(0, vocab, (args.batch, args.seq + 1), generator=gen)
    x, y = batch[:, :-1], batch[:, 1:]
    with torch.no_grad():
        diff = (ours.eval()(x[:1]) - theirs.eval()(x[:1]).logits).abs().max().item()

    opt_ours = torch.optim.AdamW(ours.parameters(), lr=1e-4, fused=True)
    opt_theirs = torch.optim.AdamW(theirs.parameters(), lr=1e-4, fused=True)

    def train_ours() -> None:
        loss = F.cross_entropy(ours(x).reshape(-1, vocab), y.reshape(-1))
        opt_ours.zero_grad(set_to_none=True)
        loss.backward()
        opt_ours.step()

    def train_theirs() -> None:
        loss = F.cross_entropy(theirs(x).logits.reshape(-1, vocab), y.reshape(-1))
        opt_theirs.zero_grad(set_to_none=True)
        loss.backward()
        opt_theirs.step()

    prompt = batch[0, :16].tolist()
    n_new = args.new_tokens
    greedy = GenerationConfig(n_new, SamplingConfig(temperature=0.0))

    def gen_ours() -> None:
        out = generate_ids(ours, [prompt], greedy)
        assert len(out[0]) == n_new

    def gen_theirs() -> None:
        with torch.inference_mode():
            out = theirs.generate(torch.tensor([prompt]), max_new_tokens=n_new, min_new_tokens=n_new,
                                  do_sample=False, pad_token_id=0, eos_token_id=None)
        assert out.shape[1] == len(prompt) + n_new

    rows = []
    for label, mode, pair, tokens in (
            ("train step", "train", (train_ours, train_theirs), args.batch * args.seq),
            ("generate (greedy, KV cache)", "eval", (gen_ours, gen_theirs), n_new)):
        for m in (ours, theirs):
            m.train(mode == "train")
        if mode == "eval":
            decode_layout(ours)
        for fn in pair:  # warm-up
            fn()
        times: tuple[list[float], list[float]] = ([], [])
        for _ in range(args.repeats):
            for i, fn in enumerate(pair):
                times[i].append(_timed(fn))
        ours_tps = tokens / statistics.median(times[0])
        theirs_tps = tokens / statistics.median(times[1])
        pairs = sorted(t_theirs / t_ours for t_ours, t_theirs in zip(*times))
        rows.append((label, ours_tps, theirs_tps, pairs[0], pairs[-1]))

    import transformers

    print(f"config: {CONFIG}; train batch {args.batch}x{args.seq}, generate {n_new} new tokens "
          f"after a {len(prompt)}-token prompt; torch {torch.__version__}, transformers "
          f"{transformers.__version__}, {torch.get_num_threads()} threads, median of {args.repeats} "
          f"interleaved repeats; max |logit diff| {diff:.2e}\n")
    print("| workload | gptcore-llama tok/s | transformers tok/s | ratio of medians | per-pair range |")
    print("|---|---:|---:|---:|---:|")
    for label, a, b, low, high in rows:
        print(f"| {label} | {a:,.0f} | {b:,.0f} | {a / b:.2f}x | {low:.2f}-{high:.2f}x |")


if __name__ == "__main__":
    main()
