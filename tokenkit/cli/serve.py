"""``tokenkit serve``: the click command that starts the playground (needs the [serve] extra)."""

from __future__ import annotations

import click

from tokenkit.cli.console import err, out
from tokenkit.errors import TokenkitError, one_line

LOOPBACK = ("127.0.0.1", "localhost", "::1")


@click.command("serve")
@click.argument("vocabs", nargs=-1)
@click.option("--port", type=click.IntRange(0, 65535), default=8000, show_default=True)
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to bind; anything but loopback exposes the page to your network.")
@click.option("--model", default=None, metavar="RUN_OR_CHECKPOINT",
              help="A gptcore checkpoint or run: adds the next-token chart and sampling.")
def serve(vocabs: tuple[str, ...], port: int, host: str, model: str | None) -> None:
    """Open a local playground page comparing VOCABS (plus gpt2, cl100k and trained directories here).

    \b
    Example:
      tokenkit serve wagahai-5000 wagahai-observed-5000 --port 8000
    """
    try:
        from tokenkit import serve as server  # lazy: needs the optional [serve] extra
    except ImportError as e:
        raise click.ClickException(f"tokenkit serve needs the [serve] extra ({e.name} is missing): "
                                   "pip install 'tokenkit-gptcore[serve]'") from None
    try:
        app = server.build_app(vocabs, model=model)
    except TokenkitError:
        raise
    except Exception as e:  # gptcore's errors, named only once gptcore is imported
        if model is None or type(e).__module__.split(".")[0] != "gptcore":
            raise
        raise TokenkitError(f"cannot load model {model}: {one_line(e)}") from None
    if host not in LOOPBACK:
        err.print(f"warning: binding {host} makes the playground reachable from other machines")
    shown = f"[{host}]" if ":" in host else host
    out.print(f"tokenkit playground on http://{shown}:{port}/  (Ctrl-C stops it)", markup=False)
    server.run(app, host, port)
