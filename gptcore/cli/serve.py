"""``gptcore serve``: the playground page with a model (needs the [serve] extra)."""

from __future__ import annotations

import click

from gptcore.cli.console import echo, note
from gptcore.errors import GptcoreError

LOOPBACK = ("127.0.0.1", "localhost", "::1")


@click.command("serve")
@click.argument("model", metavar="RUN_OR_CHECKPOINT")
@click.argument("vocabs", nargs=-1)
@click.option("--port", type=click.IntRange(0, 65535), default=8000, show_default=True)
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to bind; anything but loopback exposes the page to your network.")
def serve_cmd(model: str, vocabs: tuple[str, ...], port: int, host: str) -> None:
    """Open tokenkit's playground with MODEL's next-token chart and sampling, beside VOCABS.

    \b
    Example:
      gptcore serve runs/verdict wagahai-5000 --port 8000
    """
    try:
        # lazy: both need starlette and uvicorn, the optional [serve] extra
        from tokenkit.serve import run

        from gptcore import serve as server  # lazy (the [serve] extra)
    except ImportError as e:
        raise GptcoreError(f"gptcore serve needs the [serve] extra ({e.name} is missing): "
                           "pip install 'tokenkit-gptcore[serve]'") from None
    app = server.build_app(model, vocabs, hosts=(host,))
    if host not in LOOPBACK:
        note(f"warning: binding {host} makes the playground reachable from other machines")
    shown = f"[{host}]" if ":" in host else host
    echo(f"gptcore playground for {model} on http://{shown}:{port}/  (Ctrl-C stops it)")
    run(app, host, port)
