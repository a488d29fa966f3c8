"""gptcore command line: ``main`` is the click group behind the ``gptcore`` console script and
``python -m gptcore``.

One module per area, each defining plain click commands that this file adds to the group:
:mod:`.plugins` (list), :mod:`.generate` (generate, next, diversity), :mod:`.pretrain`,
:mod:`.export`, :mod:`.data` (prepare, eval),
:mod:`.sweep` (vocab-sweep).  Errors pass through one adapter (:mod:`.errors`); output through one console
(:mod:`.console`).  Only this package prints.  ``docs/cli-gptcore.md`` is generated from the
help texts by :mod:`.reference`.
"""

from __future__ import annotations

import click

from gptcore.cli import data, export, generate, plugins, pretrain, sweep
from gptcore.cli.errors import DEBUG_ENV, GuardedGroup


@click.group(cls=GuardedGroup)
@click.version_option(package_name="tokenkit-gptcore", prog_name="gptcore")
@click.option("--debug", is_flag=True,
              help=f"Show the traceback of an unexpected error (or set {DEBUG_ENV}=1).")
def main(debug: bool) -> None:
    """Pretrain, sample and checkpoint GPT-style models.

    \b
    Example: gptcore generate gpt2-124m-ctx256 --tokenizer gpt2 --prompt "Every effort moves" --greedy
    """


main.add_command(plugins.list_cmd)
main.add_command(generate.generate_cmd)
main.add_command(generate.next_cmd)
main.add_command(generate.diversity_cmd)
main.add_command(pretrain.pretrain_cmd)
main.add_command(export.export_cmd)
main.add_command(data.prepare_cmd)
main.add_command(data.eval_cmd)
main.add_command(sweep.vocab_sweep_cmd)

__all__ = ["main"]
