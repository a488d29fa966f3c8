"""``tokenkit serve``: the click command that starts the playground (needs the [serve] extra)."""

from __future__ import annotations

import click

from tokenkit.cli.console import err, out
from tokenkit.errors import TokenkitError

LOOPBACK = ("127.0.0.1", "localhost", "::1")


@click.command("serve")
@click.argument("vocabs", nargs=-1)
@click.option("--port", type=click.IntRange(0, 65535), default=8000, show_default=True)
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to bind; anything but loopback exposes the page to your network.")
@click.option("--model", default=None, hidden=True)  # moved to `gptcore serve`: says so
def serve(vocabs: tuple[str, ...], port: int, host: str, model: str | None) -> None:
    """Open a local playground page comparing VOCABS (plus gpt2, cl100k and trained directories here).

    A model's next-token chart and sampling come with `gptcore serve RUN [VOCABS]...`.

    \b
    Example:
      tokenkit serve wagahai-5000 wagahai-observed-5000 --port 8000
    """
    if model is not None:
        command = " ".join(["gptcore serve", model, *vocabs])
        raise TokenkitError(f"tokenkit serve shows vocabularies only; with a model run `{command}`")
    try:
        from tokenkit import serve as server  # lazy: needs the optional [serve] extra
    except ImportError as e:
        raise click.ClickException(f"tokenkit serve needs the [serve] extra ({e.name} is missing): "
                                   "pip install 'tokenkit-gptcore[serve]'") from None
    app = server.build_app(vocabs, hosts=(host,))
    if host not in LOOPBACK:
        err.print(f"warning: binding {host} makes the playground reachable from other machines")
    shown = f"[{host}]" if ":" in host else host
    out.print(f"tokenkit playground on http://{shown}:{port}/  (Ctrl-C stops it)", markup=False)
    server.run(app, host, port)
