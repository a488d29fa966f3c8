"""gptcore command line: ``main`` is the click group behind the ``gptcore`` console script and
``python -m gptcore``.

One module per area, each defining plain click commands that this file names in
:data:`COMMANDS`: :mod:`.plugins` (list), :mod:`.generate` (generate, next, diversity),
:mod:`.pretrain`, :mod:`.export`, :mod:`.data` (prepare, eval), :mod:`.sweep` (vocab-sweep),
:mod:`.new_plugin`, :mod:`.serve`.  Errors pass through one adapter (:mod:`.errors`); output through one console
(:mod:`.console`).  Only this package prints.  ``docs/cli.md`` is generated from the help texts
by ``docs/gen_cli_reference.py``.

The group is lazy: a command's module (and torch, which every command needs) is imported only
when that command runs, so ``gptcore --help`` lists the commands from the one-line summaries
below without importing any of them (0.1 s instead of 1.6 s on 2 cores).
``tests/gptcore/test_cli_lazy.py`` checks the summaries against the commands' own help.
"""

from __future__ import annotations

import importlib
from typing import Any

import click

from gptcore.cli.errors import DEBUG_ENV, GuardedGroup

# name -> (module, attribute, the first paragraph of the command's help)
COMMANDS: dict[str, tuple[str, str, str]] = {
    "list": ("gptcore.cli.plugins", "list_cmd",
             "Architectures, presets and loaders, with the distribution each comes from, and every "
             "unusable plugin or ambiguous preset with its error."),
    "generate": ("gptcore.cli.generate", "generate_cmd",
                 "Continue PROMPT with MODEL (a checkpoint, HF or textbook weights, or a preset name)."),
    "next": ("gptcore.cli.generate", "next_cmd",
             "The next-token probability distribution after PROMPT, as a bar chart."),
    "diversity": ("gptcore.cli.generate", "diversity_cmd",
                  "Self-BLEU of N samples per setting (lower = more diverse)."),
    "pretrain": ("gptcore.cli.pretrain", "pretrain_cmd",
                 "Pretrain a model into a run directory (config, vocabulary, checkpoints, metrics, loss.png)."),
    "export": ("gptcore.cli.export", "export_cmd",
               "Write MODEL in another format (hf: a directory transformers loads, with the tokenizer)."),
    "prepare": ("gptcore.cli.data", "prepare_cmd",
                "Encode text once into memory-mapped token shards that pretrain and eval read."),
    "eval": ("gptcore.cli.data", "eval_cmd",
             "Loss, perplexity and bits per byte of MODEL (checkpoint or any loadable model) on text."),
    "new-plugin": ("gptcore.cli.new_plugin", "new_plugin_cmd",
                   "Write a working plugin skeleton NAME (model, loader, exporter, tests) into OUT."),
    "serve": ("gptcore.cli.serve", "serve_cmd",
              "Open tokenkit's playground with MODEL's next-token chart and sampling, beside VOCABS."),
    "vocab-sweep": ("gptcore.cli.sweep", "vocab_sweep_cmd",
                    "Bits per byte against vocabulary size: one model pretrained per vocabulary."),
}


class LazyGroup(GuardedGroup):
    """A group that imports a command's module only when the command is looked up to run.

    Listing the commands (``gptcore --help``) uses the summaries of :data:`COMMANDS`; a summary
    left empty is read from the command itself (importing it).
    """

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(super().list_commands(ctx)) | set(COMMANDS))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.commands or cmd_name not in COMMANDS:
            return super().get_command(ctx, cmd_name)
        module, attr, _ = COMMANDS[cmd_name]
        command = getattr(importlib.import_module(module), attr)
        self.add_command(command, cmd_name)
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        names = self.list_commands(ctx)
        if not names:
            return
        limit = formatter.width - 6 - max(len(n) for n in names)
        rows = []
        for name in names:
            summary = COMMANDS[name][2] if name in COMMANDS and name not in self.commands else ""
            if summary:
                rows.append((name, click.Command(name, help=summary).get_short_help_str(limit)))
                continue
            command = self.get_command(ctx, name)
            if command is not None and not command.hidden:
                rows.append((name, command.get_short_help_str(limit)))
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(cls=LazyGroup)
@click.version_option(package_name="tokenkit-gptcore", prog_name="gptcore")
@click.option("--debug", is_flag=True,
              help=f"Show the traceback of an unexpected error (or set {DEBUG_ENV}=1).")
def main(debug: bool) -> None:
    """Pretrain, sample and checkpoint GPT-style models.

    \b
    Example: gptcore generate gpt2-124m-ctx256 --tokenizer gpt2 --prompt "Every effort moves" --greedy
    """


def __getattr__(name: str) -> Any:
    """``gptcore.cli.generate`` etc. still resolve as attributes after ``import gptcore.cli``."""
    if name in {m.rsplit(".", 1)[1] for m, _, _ in COMMANDS.values()}:
        return importlib.import_module(f"gptcore.cli.{name}")
    raise AttributeError(f"module 'gptcore.cli' has no attribute {name!r}")


__all__ = ["COMMANDS", "LazyGroup", "main"]
