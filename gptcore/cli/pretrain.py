"""``gptcore pretrain``: a tokenkit vocabulary + text -> a run directory (:mod:`gptcore.runs`).

Read top to bottom: options (each default read from :class:`~gptcore.training.TrainConfig`;
a ``--recipe`` fills in the ones not given; ``--resume`` takes the run's stored ones and only
the flags given on the command line override them) -> process group
(:mod:`gptcore.training.distributed`) -> vocabulary and token shards (:mod:`gptcore.data`, prepared into
``RUN/data`` on first use) -> model (:mod:`gptcore.platform.registry`, or the run's latest checkpoint)
-> the loop (:mod:`gptcore.training`), which checkpoints, logs and plots into the run
(:mod:`gptcore.cli.training_output` prints it).

Every option is checked before anything is written. ``--out`` is created, or replaced with
``--force`` only when it holds a run of gptcore's own (:mod:`gptcore.ownership`), or taken over
by the same command (or ``--resume``) when its run never completed a checkpoint.

Runs the same under ``torchrun --nproc_per_node N -m gptcore pretrain ...``.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import click
import torch
from click.core import ParameterSource

from gptcore.cli.common import default, parse_sets
from gptcore.cli.training_output import fit, report_start
from gptcore.data.fingerprint import vocabulary_sha256
from gptcore.data.manifest import MANIFEST
from gptcore.data.preparation import prepare
from gptcore.data.shards import TokenShards
from gptcore.data.vocab import load_vocabulary
from gptcore.errors import GptcoreError, one_line
from gptcore.generation.decoding import check_vocabulary
from gptcore.platform import registry
from gptcore.runs.checkpoint import load_checkpoint
from gptcore.data.vocab import check_contained
from gptcore.runs.directory import CONFIG, DATA, VOCAB, Run
from gptcore.training.config import ORDERS, SCHEDULES, TrainConfig
from gptcore.training.distributed import DEVICES, setup, teardown
from gptcore.training.hostmemory import keep_freed_blocks
from gptcore.training.recipes import RECIPES, recipe

T = TrainConfig
#: Options that define the model and its data: fixed for the life of a run.
FIXED = ("arch", "preset", "sets", "tokenizer", "data", "val_fraction", "text_field")
#: Options that only steer this invocation; never stored.
TRANSIENT = ("out", "resume", "force", "recipe")
TRAIN_FIELDS = {f.name for f in dataclasses.fields(TrainConfig)}


class OptionalFloat(click.ParamType):
    """A float, or ``none`` / ``off`` for None (``--grad-clip none``)."""

    name = "float|none"

    def convert(self, value: Any, param: Any, ctx: Any) -> float | None:
        if value is None or isinstance(value, float):
            return value
        if str(value).lower() in ("none", "off"):
            return None
        try:
            return float(value)
        except ValueError:
            self.fail(f"{value!r} is not a number or 'none'", param, ctx)


def _flag(name: str) -> str:
    return "--" + {"sets": "set"}.get(name, name).replace("_", "-")


@click.command("pretrain")
@click.option("--preset", default=None, help="Model preset (gpt2-tiny, gpt2-mini, gpt2-124m-ctx256, ...).")
@click.option("--arch", default=None, help="Architecture name, when not given by --preset.")
@click.option("--set", "sets", multiple=True, help="Model config override key=value (repeatable).")
@click.option("--tokenizer", default=None, help="tokenkit vocabulary: a path, or a name such as gpt2.")
@click.option("--data", "data", multiple=True,
              help="Text, JSONL or Parquet file (plain, .gz, .zst), directory, corpus name or prepared "
                   "shard directory (repeatable).")
@click.option("--text-field", default="text", show_default=True,
              help="The field holding each record's text in JSONL / Parquet data.")
@click.option("--out", required=True, type=click.Path(file_okay=False, path_type=Path), help="Run directory.")
@click.option("--recipe", default=None, type=click.Choice(sorted(RECIPES)),
              help="Named set of flag values (flags given still win).")
@click.option("--resume", "resume", is_flag=True, help="Continue the run in OUT from its latest checkpoint.")
@click.option("--force", is_flag=True,
              help="Start over in an OUT that holds a run of gptcore's (deletes it; never another directory).")
@click.option("--device", type=click.Choice(DEVICES), default="auto", show_default=True)
@click.option("--compile/--no-compile", "compile", default=default(T, "compile"), help="torch.compile the model.")
@click.option("--bf16/--fp32", "bf16", default=default(T, "bf16"), help="bf16 autocast [auto: where the device has native bf16: CUDA, or a CPU with AVX512-BF16 or AMX].")
@click.option("--val-fraction", type=float, default=0.1, show_default=True,
              help="Held-out share when preparing data (documents, or the tail of one).")
@click.option("--batch-size", type=int, default=default(T, "batch_size"), show_default=True,
              help="Sequences per rank per micro-step.")
@click.option("--grad-accum", type=int, default=default(T, "grad_accum"), show_default=True)
@click.option("--batch-tokens", type=int, default=default(T, "batch_tokens"),
              help="Tokens per optimizer step; sets --grad-accum.")
@click.option("--seq-len", type=int, default=default(T, "seq_len"), help="[the model's context length]")
@click.option("--stride", type=int, default=default(T, "stride"), help="Window stride [seq-len].")
@click.option("--order", type=click.Choice(ORDERS), default=default(T, "order"), show_default=True,
              help="Batch order: seeded permutation per epoch, random windows, or DataLoader-style (textbook).")
@click.option("--steps", type=int, default=default(T, "steps"), help=f"Budget [{T.DEFAULT_STEPS}].")
@click.option("--epochs", type=float, default=default(T, "epochs"), help="Budget in epochs.")
@click.option("--tokens", type=int, default=default(T, "tokens"), help="Budget in tokens.")
@click.option("--lr", type=float, default=default(T, "lr"), show_default=True)
@click.option("--min-lr", type=float, default=default(T, "min_lr"), show_default=True)
@click.option("--warmup-steps", type=int, default=default(T, "warmup_steps"), show_default=True)
@click.option("--lr-schedule", type=click.Choice(SCHEDULES), default=default(T, "lr_schedule"), show_default=True)
@click.option("--weight-decay", type=float, default=default(T, "weight_decay"), show_default=True)
@click.option("--decay-all/--decay-matrices", "decay_all", default=default(T, "decay_all"),
              help="Weight decay on every parameter (textbook) or matrices only.")
@click.option("--beta1", type=float, default=default(T, "beta1"), show_default=True)
@click.option("--beta2", type=float, default=default(T, "beta2"), show_default=True)
@click.option("--grad-clip", type=OptionalFloat(), default=default(T, "grad_clip"), show_default=True,
              help="Max gradient norm; 0 or none = off.")
@click.option("--eval-every", type=int, default=default(T, "eval_every"), show_default=True)
@click.option("--eval-start", type=int, default=default(T, "eval_start"), show_default=True,
              help="First eval after this many updates (0 = before training).")
@click.option("--eval-batches", type=int, default=default(T, "eval_batches"), show_default=True)
@click.option("--log-every", type=int, default=default(T, "log_every"), show_default=True)
@click.option("--checkpoint-every", default=default(T, "checkpoint_every"), show_default=True, metavar="STEPS|TIME",
              help="Steps (200) or training time (10m, 600s, 1h) between checkpoints; always also "
                   "after the last step; 0 = only there. A killed run resumes from the last one.")
@click.option("--keep-last", type=int, default=default(T, "keep_last"), show_default=True,
              help="Checkpoints kept (0 = all).")
@click.option("--sample-prompt", default=default(T, "sample_prompt"), show_default=True)
@click.option("--sample-tokens", type=int, default=default(T, "sample_tokens"), show_default=True)
@click.option("--seed", type=int, default=default(T, "seed"), show_default=True)
@click.pass_context
def pretrain_cmd(ctx: click.Context, **params: Any) -> None:
    """Pretrain a model into a run directory (config, vocabulary, checkpoints, metrics, loss.png).

    \b
    Example: gptcore pretrain --preset gpt2-tiny --tokenizer gpt2 --data the-verdict --out runs/tiny --steps 200
    """
    given = {name for name in params
             if ctx.get_parameter_source(name) in (ParameterSource.COMMANDLINE, ParameterSource.ENVIRONMENT)}
    keep_freed_blocks()  # reuse each step's large CPU buffers instead of refaulting them (hostmemory)
    where = setup(params["device"])
    try:
        _pretrain(params, given, where)
    finally:
        teardown()


def _options(params: dict[str, Any], given: set[str], run: Run | None) -> tuple[dict[str, Any], list[str]]:
    """The run's options and a note per source: recipe, stored config, command line."""
    notes: list[str] = []
    options = {k: v for k, v in params.items() if k not in TRANSIENT}
    if params["resume"]:
        assert run is not None
        stored = run.read_config()["options"]
        for name in FIXED:
            value = params[name] if name in given else stored.get(name)
            if _norm(value) != _norm(stored.get(name)):
                raise GptcoreError(f"{_flag(name)} {_show(params[name])} differs from the run's "
                                   f"{_show(stored.get(name))}: the model and data of a run cannot change "
                                   "on --resume (start a new run)")
        changed = {k: params[k] for k in sorted(given - set(TRANSIENT))
                   if _norm(params[k]) != _norm(stored.get(k))}
        options = {**options, **stored, **changed}
        if changed:
            notes.append("overridden on the command line: " +
                         ", ".join(f"{_flag(k)} {_show(stored.get(k))} -> {_show(v)}" for k, v in changed.items()))
        return options, notes
    if params["recipe"]:
        values = recipe(params["recipe"])
        unknown = set(values) - set(options)
        assert not unknown, unknown
        budget = {"steps", "epochs", "tokens"}
        if given & budget:  # a budget on the command line replaces the recipe's
            values = {k: v for k, v in values.items() if k not in budget}
        kept = {k: v for k, v in values.items() if k not in given}
        options.update(kept)
        notes.append(f"recipe {params['recipe']}: " + ", ".join(f"{_flag(k)} {_show(v)}" for k, v in values.items()))
        if given & set(values):
            notes.append("command line over the recipe: " + ", ".join(_flag(k) for k in sorted(given & set(values))))
    return options, notes


def _norm(value: Any) -> Any:
    return list(value) if isinstance(value, (tuple, list)) else value


def _show(value: Any) -> str:
    if isinstance(value, (tuple, list)):
        return " ".join(str(v) for v in value) or "(none)"
    return str(value)


def _train_config(options: dict[str, Any]) -> TrainConfig:
    values = {k: v for k, v in options.items() if k in TRAIN_FIELDS}
    cfg = TrainConfig(**values)
    if cfg.grad_clip == 0:
        cfg.grad_clip = None
    cfg.check()
    return cfg


def _prepared(options: dict[str, Any]) -> str | None:
    """The one prepared shard directory given as --data, if that is what was given."""
    sources = list(options["data"])
    return sources[0] if len(sources) == 1 and (Path(sources[0]) / MANIFEST).is_file() else None


def _data_ref(options: dict[str, Any]) -> str:
    """What config.json records as the run's data: the prepared directory, or RUN/data."""
    prepared = _prepared(options)
    return str(Path(prepared).resolve()) if prepared else DATA


def _open_given(path: str, vocab: Any, model: torch.nn.Module) -> TokenShards:
    """A prepared --data directory, checked before anything is written: its vocabulary and
    every id in it (an id the embedding lacks would fail only inside a training step)."""
    shards = TokenShards(path)
    shards.check_vocabulary(vocab)
    shards.check_ids(model.config.vocab_size)
    return shards


def _shards(options: dict[str, Any], vocab: Any, run: Run, context_length: int, resuming: bool,
            model: torch.nn.Module) -> TokenShards:
    """A prepared directory given as --data, or shards prepared into RUN/data (reused when current;
    on --resume, sources that changed since are refused rather than re-encoded)."""
    sources = list(options["data"])
    if not sources:
        raise GptcoreError("give --data (text files, directories, corpus names or a prepared directory)")
    prepared = _prepared(options)
    if prepared:
        return _open_given(prepared, vocab, model)
    prepare(vocab, sources, run.path / DATA, val_fraction=options["val_fraction"],
            text_field=options.get("text_field") or "text",
            context_length=context_length, force=not resuming)
    shards = TokenShards(run.path / DATA)
    shards.check_ids(model.config.vocab_size)
    return shards


def _check_seq_len(model: torch.nn.Module, seq_len: int) -> None:
    context = model.config.context_length
    if seq_len > context:
        raise GptcoreError(f"--seq-len {seq_len} exceeds the model's context_length {context}")


def _new_model(options: dict[str, Any], vocab_size: int, seed: int) -> torch.nn.Module:
    if options["arch"] is None and options["preset"] is None:
        raise GptcoreError("give --preset (e.g. gpt2-tiny) or --arch")
    torch.manual_seed(seed)  # the model is built right after seeding (as the textbook does)
    try:
        return registry.build_model(options["arch"], options["preset"],
                                    **{"vocab_size": vocab_size, **parse_sets(tuple(options["sets"]))})
    except (TypeError, ValueError) as exc:  # the config dataclass rejected a --set value
        raise GptcoreError(f"invalid model config: {one_line(exc)}") from None


def _run_vocabulary(run: Run, options: dict[str, Any], stored: dict[str, Any]) -> Any:
    """The run's own vocabulary copy (or, for a run killed before it was copied, the one its
    options name), checked against the sha256 config.json recorded."""
    source = run.vocab_path if run.vocab_path.exists() else options.get("tokenizer")
    if source is None:
        raise GptcoreError(f"{run.vocab_path} is missing and the run records no --tokenizer")
    if run.vocab_path.exists():
        check_contained(run.vocab_path)
    vocab = load_vocabulary(source)
    if vocabulary_sha256(vocab) != stored.get("vocabulary_sha256"):
        raise GptcoreError(f"{source} changed since the run started (sha256 differs)")
    if not run.vocab_path.exists() and run.locked:
        run.save_vocabulary(vocab)
    return vocab


def _record(params: dict[str, Any], options: dict[str, Any], model: torch.nn.Module, sha: str,
            world_size: int) -> dict[str, Any]:
    return {"options": {k: _norm(v) for k, v in options.items()}, "recipe": params["recipe"],
            "model": {"architecture": registry.architecture_for(model).name,
                      "config": dataclasses.asdict(model.config)},
            "data": _data_ref(options), "vocabulary_sha256": sha, "world_size": world_size}


def _pretrain(params: dict[str, Any], given: set[str], where: Any) -> None:
    """Every option is checked before anything is written; then the run directory is created,
    replaced (``--force``, a run of ours only), taken over (a run of ours that never completed
    a checkpoint) or resumed (from its latest checkpoint, or from the start when it has none)."""
    out: Path = params["out"]
    resuming = bool(params["resume"])
    ckpt = None
    if params["recipe"] and resuming:
        raise GptcoreError("--recipe starts a run; --resume takes the run's stored options")
    if not resuming:  # validate what needs no run before anything is written
        options, notes = _options(params, given, None)
        cfg = _train_config(options)
        if not 0 < options["val_fraction"] < 1:
            raise GptcoreError(f"--val-fraction must be between 0 and 1 (exclusive), got {options['val_fraction']}")
        if options["tokenizer"] is None:
            raise GptcoreError("give --tokenizer (a vocabulary path, or a name such as gpt2)")
        if not options["data"]:
            raise GptcoreError("give --data (text files, directories, corpus names or a prepared directory)")
        vocab = load_vocabulary(options["tokenizer"])
        vocab_sha = vocabulary_sha256(vocab)
        model = _new_model(options, vocab.vocab_size, cfg.seed)
        check_vocabulary(model, vocab)
        seq_len = cfg.seq_len or model.config.context_length
        _check_seq_len(model, seq_len)
        accum = cfg.accumulation(seq_len, where.world_size)
        if _prepared(options) and where.is_main:
            given_shards = _open_given(_prepared(options), vocab, model)
            given_shards.plan("train", batch_size=cfg.batch_size * accum, context_length=seq_len,
                              world_size=where.world_size, stride=cfg.stride)
            given_shards.plan("val", batch_size=1, context_length=seq_len)
    inputs = [] if resuming else [options["tokenizer"], *options["data"]]
    run = Run.create(out, resume=resuming, force=bool(params["force"]), inputs=inputs) if where.is_main else Run(out)
    try:
        if resuming:
            options, notes = _options(params, given, run)
            cfg = _train_config(options)
            stored = run.read_config()
            vocab = _run_vocabulary(run, options, stored)
            latest = run.latest()
            if latest is None:  # it never completed a checkpoint: start it again, as first given
                model = _new_model(options, vocab.vocab_size, cfg.seed)
                notes.append("no checkpoint yet: starting the run again from step 0")
                if where.is_main:
                    run.clear(keep=(CONFIG, VOCAB, DATA))
            else:
                ckpt = load_checkpoint(latest)
                model = ckpt.model
                if where.is_main:
                    run.truncate_metrics(ckpt.step)
            if dataclasses.asdict(model.config) != stored["model"]["config"]:
                raise GptcoreError(f"checkpoint {latest} holds another model than {out}/config.json describes")
            seq_len = cfg.seq_len or model.config.context_length
            _check_seq_len(model, seq_len)
        elif where.is_main and run.fresh:  # a new run: its config first, so a kill leaves a run of ours
            run.write_config(_record(params, options, model, vocab_sha, where.world_size))
            run.save_vocabulary(vocab)
        if where.is_main:
            shards = _shards(options, vocab, run, seq_len, resuming, model)
        torch.distributed.barrier() if where.enabled else None
        if not where.is_main:
            shards = TokenShards(out / DATA) if (out / DATA / MANIFEST).is_file() else TokenShards(options["data"][0])
        accum = cfg.accumulation(seq_len, where.world_size)
        plan = shards.plan("train", batch_size=cfg.batch_size * accum, context_length=seq_len,
                           world_size=where.world_size, stride=cfg.stride)
        shards.plan("val", batch_size=1, context_length=seq_len)
        if shards.manifest.tokenizer.vocab_size > model.config.vocab_size:
            raise GptcoreError(f"the data's vocabulary has {shards.manifest.tokenizer.vocab_size} ids; the "
                               f"model's embedding holds {model.config.vocab_size}")
        if not resuming and where.is_main and not run.fresh:  # replacing our run: the old one goes now
            run.clear(keep=(CONFIG,) if _prepared(options) else (CONFIG, DATA))
            run.write_config(_record(params, options, model, vocab_sha, where.world_size))
            run.save_vocabulary(vocab)
    except BaseException:
        if where.is_main and not resuming:
            run.discard()  # bad input: leave the directory as it was
        run.close()
        raise
    sha = run.read_config()["vocabulary_sha256"] if where.is_main else None
    try:
        report_start(where, out, options, notes, cfg, plan, seq_len, accum, model, ckpt is not None,
                      ckpt.step if ckpt is not None else 0)
        fit(model, shards, cfg, vocab, where, run, ckpt, sha, plan)
    finally:
        run.close()
