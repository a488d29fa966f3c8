"""The plugin platform, beside the flow: how families and loaders declare themselves and are found.

* :mod:`.interfaces` — What a plugin hands to gptcore: an ``Architecture`` or a ``Loader``.
* :mod:`.protocol` — The model protocol: what every gptcore command relies on, written down once.
* :mod:`.kvcache` — The key/value cache every architecture's attention layers write into while decoding.
* :mod:`.registry` — Plugin discovery: model architectures and weight loaders found through entry points.
* :mod:`.validation` — Type and range checks for config values read from files or the command line.
* :mod:`.weights` — Safe weight-file reading and checked state-dict assignment, for gptcore's loaders and plugins'.
* :mod:`.hf` — Reading Hugging Face model directories, once for every family (GPT-2, Llama, plugins).
* :mod:`.tfbundle` — Read TensorFlow checkpoints (the "tensor bundle" format) without TensorFlow.

Plugin authors import these names from :mod:`gptcore.plugin`, the one front door of the platform.
"""
