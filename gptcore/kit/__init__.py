"""Tools for plugin authors: the contract test kit and the ``gptcore new-plugin`` skeleton writer.

* :mod:`.testing` — Reusable checks for architecture and loader plugins (plain ``assert``s, pytest-friendly).
* :mod:`.scaffold` — ``gptcore new-plugin``: the files of a working plugin skeleton, written from nothing.

They sit above the stages (a kit check round-trips checkpoints, generates and exports).
"""
