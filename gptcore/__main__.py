"""``python -m gptcore`` runs the ``gptcore`` command line."""

from gptcore.cli import main

if __name__ == "__main__":
    main(prog_name="gptcore")
