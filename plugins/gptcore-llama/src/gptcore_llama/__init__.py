"""Llama-family plugin for gptcore: the ``llama`` architecture and the ``hf-llama`` loader."""

__version__ = "0.1.0"
