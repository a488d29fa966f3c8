"""``python -m tokenkit``: the same command line as the ``tokenkit`` script."""

from tokenkit.cli import main

if __name__ == "__main__":
    main(prog_name="tokenkit")
