"""gptcore command line (filled in by the gptcore issue)."""

import click


@click.group()
def main() -> None:
    """Pretrain, sample and checkpoint GPT-style models."""
