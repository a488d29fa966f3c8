"""Greedy generation of 256 tokens (GPT-2 124M, prompt 8): KV cache vs no cache vs transformers.

    .venv/bin/python -m bench.gptcore_generate --new-tokens 256

All models share the same random weights (gptcore exported to HF format and loaded back), so
the generated ids can be compared: the fp32 cached runs must equal the fp32 no-cache run.
"decode layout" is :func:`gptcore.generation.inference.decode_layout`, which the inference commands apply
(input-major fp32 weights; same values, faster matrix-vector products on the CPU).
"""

from __future__ import annotations

import argparse
import tempfile
import time

import torch

from bench.gptcore_common import device_name, verdict_ids
from gptcore.export.writer import export
from gptcore.generation.decoding import GenerationConfig, generate_ids
from gptcore.generation.inference import decode_layout
from gptcore.platform.registry import build_model
from gptcore.generation.sampling import SamplingConfig


def timed(fn):
    t0 = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--new-tokens", type=int, default=256)
    parser.add_argument("--no-cache-tokens", type=int, default=None,
                        help="tokens for the (slow) no-cache run; default = --new-tokens")
    args = parser.parse_args()
    n = args.new_tokens
    n_plain = args.no_cache_tokens or n
    torch.manual_seed(0)
    model = build_model(preset="gpt2-small", context_length=1024).eval()
    prompt = verdict_ids(8)[0].tolist()
    greedy = SamplingConfig(temperature=0.0)
    rows = []

    import transformers
    with tempfile.TemporaryDirectory() as tmp:
        export(model, "hf", f"{tmp}/hf")
        hf = transformers.GPT2LMHeadModel.from_pretrained(f"{tmp}/hf").eval()
    generate_ids(model, [prompt], GenerationConfig(4, greedy))  # warm-up
    with torch.inference_mode():
        hf.generate(torch.tensor([prompt]), max_new_tokens=4, do_sample=False, pad_token_id=0)
        hf_out, dt = timed(lambda: hf.generate(torch.tensor([prompt]), max_new_tokens=n, min_new_tokens=n,
                                               do_sample=False, pad_token_id=0, eos_token_id=None))
    hf_ids = hf_out[0, len(prompt):].tolist()
    rows.append(("transformers generate (fp32, cache)", n / dt, hf_ids))

    plain, dt = timed(lambda: generate_ids(model, [prompt], GenerationConfig(n_plain, greedy, use_cache=False))[0])
    rows.append((f"gptcore no cache (fp32{', %d tokens' % n_plain if n_plain != n else ''})", n_plain / dt, plain))
    cached, dt = timed(lambda: generate_ids(model, [prompt], GenerationConfig(n, greedy))[0])
    rows.append(("gptcore KV cache (fp32, PyTorch's weight layout)", n / dt, cached))
    fast = build_model(preset="gpt2-small").eval()
    fast.load_state_dict(model.state_dict())
    decode_layout(fast)
    generate_ids(fast, [prompt], GenerationConfig(4, greedy))
    fast_ids, dt = timed(lambda: generate_ids(fast, [prompt], GenerationConfig(n, greedy))[0])
    rows.append(("gptcore KV cache (fp32, decode layout: `gptcore generate`)", n / dt, fast_ids))
    bf = build_model(preset="gpt2-small").eval()
    bf.load_state_dict(model.state_dict())
    bf = bf.to(torch.bfloat16)
    generate_ids(bf, [prompt], GenerationConfig(4, greedy))
    bf_ids, dt = timed(lambda: generate_ids(bf, [prompt], GenerationConfig(n, greedy))[0])
    rows.append(("gptcore KV cache (bf16 weights)", n / dt, bf_ids))

    base = rows[0][1]
    plain_tps = rows[1][1]
    print(f"\nGreedy generation, GPT-2 124M, prompt {len(prompt)}, {n} new tokens, {device_name()}\n")
    print("| run | tokens/s | vs transformers | vs gptcore no-cache | same ids as fp32 no-cache |")
    print("|---|---:|---:|---:|---|")
    for name, tps, ids in rows:
        k = min(len(ids), len(plain))
        same = "yes" if ids[:k] == plain[:k] else f"no (first {next(i for i in range(k) if ids[i] != plain[i])} equal)"
        print(f"| {name} | {tps:.1f} | {tps / base:.2f}x | {tps / plain_tps:.2f}x | {same} |")


if __name__ == "__main__":
    main()
