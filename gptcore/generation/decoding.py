"""Autoregressive generation for any architecture that follows :mod:`gptcore.platform.protocol`.

The loop only calls ``model(ids, cache)`` and reads ``model.config.context_length``, so every
registered family (GPT-2, a Llama plugin, ...) gets KV caching, batching, sampling and stop
conditions for free.  Prompts of different lengths are batched by length (no padding, so no
attention-mask support is required from plugins and results equal unbatched ones).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import torch

from tokenkit import Vocabulary
from tokenkit.vocabulary import NO_SPECIALS, AllowedSpecial

from gptcore.errors import GptcoreError
from gptcore.generation.sampling import SamplingConfig, sample
from gptcore.platform.kvcache import KVCache
from gptcore.platform.protocol import LanguageModel

TokenCallback = Callable[[int, int], None]
"""``on_token(sequence_index, token_id)``, called as soon as a token is chosen (streaming)."""


@dataclass(frozen=True)
class GenerationConfig:
    """Stopping, batching and caching options (sampling lives in :class:`SamplingConfig`)."""

    max_new_tokens: int = 50
    sampling: SamplingConfig = field(default_factory=SamplingConfig)
    eos_id: int | Sequence[int] | None = None
    stop_strings: tuple[str, ...] = ()
    seed: int | None = None
    num_return_sequences: int = 1
    use_cache: bool = True

    def __post_init__(self) -> None:
        for name, low in (("max_new_tokens", 0), ("num_return_sequences", 1)):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")

    def eos_ids(self) -> set[int]:
        if self.eos_id is None:
            return set()
        return {self.eos_id} if isinstance(self.eos_id, int) else set(self.eos_id)


def check_vocabulary(model: LanguageModel, vocab: Vocabulary) -> int:
    """How many embedding rows the tokenizer leaves unused (padding); one-line error if it
    has more ids than the model.

    Real checkpoints often pad the embedding table to a multiple of 64 or 128 for faster
    matmuls (Pythia: 50304 rows for a 50277-token tokenizer; nanoGPT's 50304 for GPT-2's
    50257).  Those rows were never trained on real text and no tokenizer id maps to them, so
    generation masks them (:func:`generate_ids` with ``vocab_size``) instead of refusing the model.
    """
    model_size = model.config.vocab_size
    if vocab.vocab_size > model_size:
        raise GptcoreError(f"tokenizer vocab size {vocab.vocab_size} exceeds the model's vocab_size "
                           f"{model_size}: its ids {model_size}..{vocab.vocab_size - 1} have no embedding row")
    return model_size - vocab.vocab_size


def mask_padding(logits: torch.Tensor, vocab_size: int | None) -> torch.Tensor:
    """``logits [..., V]`` with ids ``>= vocab_size`` (embedding padding) set to ``-inf``, in place."""
    if vocab_size is not None and vocab_size < logits.shape[-1]:
        logits[..., vocab_size:] = float("-inf")
    return logits


def _device(model: LanguageModel) -> torch.device:
    return next(model.parameters()).device


@torch.inference_mode()
def generate_ids(model: LanguageModel, prompts: Sequence[Sequence[int]], cfg: GenerationConfig,
                 decode: Callable[[list[int]], str] | None = None,
                 on_token: TokenCallback | None = None, vocab_size: int | None = None) -> list[list[int]]:
    """New token ids for each prompt (``num_return_sequences`` per prompt, prompt-major).

    ``vocab_size`` (the tokenizer's) masks the model's padding rows: no id ``>= vocab_size``
    is ever chosen, greedy included.

    ``decode`` is needed only for ``stop_strings``: a sequence ends at the token that completes
    a stop string (that token is kept; :func:`generate` trims the text).  An eos token ends a
    sequence and is not returned.
    """
    if cfg.stop_strings and decode is None:
        raise ValueError("stop_strings need a decode function")
    if any(len(p) == 0 for p in prompts):
        raise GptcoreError("empty prompt: give at least one token")
    n_ret = cfg.num_return_sequences
    rows = [list(p) for p in prompts for _ in range(n_ret)]
    results: list[list[int]] = [[] for _ in rows]
    generator = None
    if cfg.seed is not None:
        generator = torch.Generator(device=_device(model)).manual_seed(cfg.seed)
    groups: dict[int, list[int]] = {}
    for i, row in enumerate(rows):
        groups.setdefault(len(row), []).append(i)
    was_training = model.training
    model.eval()
    try:
        for members in groups.values():
            _generate_group(model, [rows[i] for i in members], members, results, cfg,
                            generator, decode, on_token, vocab_size)
    finally:
        model.train(was_training)
    return results


def _generate_group(model: LanguageModel, prompts: list[list[int]], members: list[int],
                    results: list[list[int]], cfg: GenerationConfig,
                    generator: torch.Generator | None, decode: Callable[[list[int]], str] | None,
                    on_token: TokenCallback | None, vocab_size: int | None = None) -> None:
    ctx = model.config.context_length
    device = _device(model)
    ids = torch.tensor(prompts, dtype=torch.long, device=device)[:, -ctx:]
    eos = cfg.eos_ids()
    done = [False] * len(prompts)
    max_stop = max((len(s) for s in cfg.stop_strings), default=0)
    use_cache = cfg.use_cache and cfg.max_new_tokens > 0
    cache = KVCache(max_length=min(ctx, ids.shape[1] + cfg.max_new_tokens)) if use_cache else None
    step_input = ids
    for _ in range(cfg.max_new_tokens):
        if cache is not None and cache.seq_len + step_input.shape[1] > ctx:
            cache = None  # context full: fall back to a sliding window without cache
        if cache is None:
            step_input = ids[:, -ctx:]
        logits = mask_padding(model(step_input, cache)[:, -1, :], vocab_size)
        nxt = sample(logits, cfg.sampling, ids if cfg.sampling.repetition_penalty != 1.0 else None,
                     generator)
        ids = torch.cat([ids, nxt[:, None]], dim=1)
        step_input = nxt[:, None]
        for r, token in enumerate(nxt.tolist()):
            if done[r]:
                continue
            if token in eos:
                done[r] = True
                continue
            out = results[members[r]]
            out.append(token)
            if on_token is not None:
                on_token(members[r], token)
            if cfg.stop_strings and decode is not None:
                tail = decode(out[-(2 * max_stop + 8):])
                if any(s in tail for s in cfg.stop_strings):
                    done[r] = True
        if all(done):
            break


def trim_at_stop(text: str, stop_strings: Sequence[str]) -> str:
    """Cut ``text`` before the earliest stop string."""
    cut = min((text.find(s) for s in stop_strings if s in text), default=-1)
    return text if cut < 0 else text[:cut]


def continuation(decode: Callable[[list[int]], str], prompt_ids: Sequence[int], new_ids: Sequence[int]) -> str:
    """The text ``new_ids`` add after ``prompt_ids``: the difference of the decoded whole.

    Decoding the new ids alone is wrong for decoders that depend on the neighbours:
    SentencePiece drops the space of a sequence's first ``▁word`` and WordPiece keeps a
    leading ``##``, so the first new word would be glued to the prompt (``hello`` +
    ``world`` -> ``helloworld``).  When the whole does not start with the prompt's text (a
    decoder that normalises across the boundary) the text after their common prefix is used.
    """
    head = decode(list(prompt_ids))
    whole = decode(list(prompt_ids) + list(new_ids))
    if whole.startswith(head):
        return whole[len(head):]
    common = 0
    for a, b in zip(head, whole):
        if a != b:
            break
        common += 1
    return whole[common:]


def generate(model: LanguageModel, vocab: Vocabulary, prompts: str | Sequence[str], cfg: GenerationConfig,
             on_token: TokenCallback | None = None, *,
             allowed_special: AllowedSpecial = NO_SPECIALS) -> list[str]:
    """Completions (text after the prompt) for one or more prompts, with a tokenkit vocabulary.

    Each completion is decoded together with its prompt (:func:`continuation`), so the first
    new word keeps its space with every decoder.  Special-token strings in a prompt are
    ordinary text unless ``allowed_special`` names them.
    """
    check_vocabulary(model, vocab)
    texts = [prompts] if isinstance(prompts, str) else list(prompts)
    encoded = [vocab.encode(t, allowed_special=allowed_special) for t in texts]
    new_ids = generate_ids(model, encoded, cfg, decode=vocab.decode, on_token=on_token,
                           vocab_size=vocab.vocab_size)
    n = cfg.num_return_sequences
    return [trim_at_stop(continuation(vocab.decode, encoded[i // n], ids), cfg.stop_strings)
            for i, ids in enumerate(new_ids)]


# --------------------------------------------------------------------------------------------
# Chat template
# --------------------------------------------------------------------------------------------

CHAT_TOKENS = ("<bos>", "<start_of_turn>", "<end_of_turn>", "<eos>")


def _special(vocab: Vocabulary, token: str) -> int | None:
    specials = getattr(vocab, "specials", {}) or {}
    if token in specials:
        return specials[token]
    return vocab.token_to_id(token)


@dataclass(frozen=True)
class ChatPrompt:
    """Token ids for a chat turn and the ids / strings that end the model's answer."""

    ids: list[int]
    eos_ids: tuple[int, ...]
    stop_strings: tuple[str, ...]
    templated: bool


def chat_prompt(vocab: Vocabulary, messages: Sequence[tuple[str, str]]) -> ChatPrompt:
    """Apply the turn template (``<bos><start_of_turn>user\\n…<end_of_turn>\\n<start_of_turn>model\\n``).

    Special tokens are inserted by id, never by encoding their text, and messages are encoded
    as ordinary text: a message that spells ``<end_of_turn>`` stays inside its turn.  Without
    ``<start_of_turn>``/``<end_of_turn>`` in the vocabulary a plain ``User:/Assistant:`` layout
    with a stop string is used instead.
    """
    bos, sot, eot, eos = (_special(vocab, t) for t in CHAT_TOKENS)
    if sot is not None and eot is not None:
        ids: list[int] = [bos] if bos is not None else []
        for role, text in messages:
            ids += [sot] + vocab.encode(f"{'model' if role == 'assistant' else role}\n{text}") + [eot]
            ids += vocab.encode("\n")
        ids += [sot] + vocab.encode("model\n")
        stops = tuple(i for i in (eot, eos) if i is not None)
        return ChatPrompt(ids, stops, (), True)
    text = "".join(f"{'User' if r == 'user' else 'Assistant'}: {t}\n" for r, t in messages) + "Assistant:"
    ids = ([bos] if bos is not None else []) + vocab.encode(text)
    return ChatPrompt(ids, (eos,) if eos is not None else (), ("\nUser:",), False)


def chat(model: LanguageModel, vocab: Vocabulary, messages: Sequence[tuple[str, str]], cfg: GenerationConfig,
         on_token: TokenCallback | None = None) -> str:
    """The model's reply to ``messages`` (``(role, text)`` pairs, role ``user``/``assistant``)."""
    check_vocabulary(model, vocab)
    prompt = chat_prompt(vocab, messages)
    eos = set(prompt.eos_ids) | cfg.eos_ids()
    cfg = GenerationConfig(cfg.max_new_tokens, cfg.sampling, tuple(sorted(eos)),
                           tuple(cfg.stop_strings) + prompt.stop_strings, cfg.seed, 1, cfg.use_cache)
    ids = generate_ids(model, [prompt.ids], cfg, decode=vocab.decode, on_token=on_token,
                       vocab_size=vocab.vocab_size)[0]
    return trim_at_stop(vocab.decode(ids), cfg.stop_strings).strip()
