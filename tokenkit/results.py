"""The results of ``tokenkit bench`` and ``tokenkit sweep`` as plain data, below both and below plots.

:mod:`tokenkit.bench` and :mod:`tokenkit.sweep` fill these in, :mod:`tokenkit.plots` and the
CLI draw and print them; none of those needs to know the others. In a notebook a result shows
its table and its plots (``_repr_html_``; matplotlib is imported only then).
"""

from __future__ import annotations

import math
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from tokenkit.htmltables import images_html, rows_html

#: The Rényi entropy order of ``renyi_efficiency`` (Zouhar et al. 2023 use 2.5).
RENYI_ALPHA = 2.5


@dataclass
class BenchRow:
    """Every number for one vocabulary on one corpus."""

    vocab: str
    corpus: str
    backend: str
    vocab_size: int
    utf8_bytes: int
    characters: int
    tokens: int
    bytes_per_token: float
    chars_per_token: float
    utf8_bits: int
    bits_per_token: int
    bpe_bits: int
    compression_ratio: float
    entropy_bits_per_token: float
    entropy_compression_ratio: float
    renyi_efficiency: float  # alpha 2.5, V = vocabulary size (the paper's definition)
    renyi_efficiency_observed: float  # V = distinct tokens seen (tokenization-scorer default)
    distinct_tokens: int
    words: int
    fertility: float | None
    lines: int
    exact_lines: int
    round_trip_fidelity: float
    lost_characters: int
    lost_examples: str
    encode_seconds: float
    encode_mb_s: float
    encode_batch_seconds: float
    encode_batch_mb_s: float
    batch_counts_match: bool
    fast_path: bool
    encode_engine: str = ""  # what encoded, when not the backend's own library (tokenkit.engines)


@dataclass
class BenchResult:
    rows: list[BenchRow]
    vocabs: list[str]
    corpora: list[str]
    parity: dict[str, dict[str, float]] = field(default_factory=dict)  # vocab -> lang -> ratio
    parity_tokens: dict[str, dict[str, int]] = field(default_factory=dict)

    def _repr_html_(self) -> str:  # notebooks: the table, then the plots
        return rows_html(self.rows) + images_html(_bench_pictures(self))

    def row(self, vocab: str, corpus: str) -> BenchRow:
        for r in self.rows:
            if r.vocab == vocab and r.corpus == corpus:
                return r
        raise KeyError((vocab, corpus))

    def to_dict(self) -> dict[str, Any]:
        return {"renyi_alpha": RENYI_ALPHA, "vocabs": self.vocabs, "corpora": self.corpora,
                "rows": [jsonable(asdict(r)) for r in self.rows], "parity": self.parity,
                "parity_tokens": self.parity_tokens}


@dataclass
class SweepRow:
    vocab_size: int  # requested
    actual_vocab_size: int
    heldout_bytes: int
    tokens: int
    tokens_per_byte: float
    bytes_per_token: float
    bits_per_token: int  # fixed width: ceil(log2 V)
    entropy_bits_per_token: float
    compression_ratio: float  # UTF-8 bits / BPE bits on held-out text
    entropy_compression_ratio: float
    renyi_efficiency: float
    train_seconds: float


@dataclass
class SweepResult:
    corpus: str
    backend: str
    heldout: float
    train_bytes: int
    heldout_bytes: int
    rows: list[SweepRow] = field(default_factory=list)

    def _repr_html_(self) -> str:  # notebooks: the table, then the plots
        return rows_html(self.rows) + images_html(_sweep_pictures(self))


def jsonable(d: dict[str, Any]) -> dict[str, Any]:
    """JSON has no infinity: write it as null."""
    return {k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in d.items()}


def _bench_pictures(result: BenchResult) -> list[bytes]:
    """The plots of ``result`` as PNG bytes (drawn into a temporary directory)."""
    from tokenkit import plots  # lazy: matplotlib is heavy and only notebooks ask for pictures

    with tempfile.TemporaryDirectory() as tmp:
        drawn = plots.bench_plots(result, Path(tmp) / "plot.png")
        return [p.read_bytes() for p in (drawn if isinstance(drawn, list) else [drawn])]


def _sweep_pictures(result: SweepResult) -> list[bytes]:
    """The plots of ``result`` as PNG bytes (drawn into a temporary directory)."""
    from tokenkit import plots  # lazy: matplotlib is heavy and only notebooks ask for pictures

    with tempfile.TemporaryDirectory() as tmp:
        drawn = plots.sweep_plot(result, Path(tmp) / "plot.png")
        return [p.read_bytes() for p in (drawn if isinstance(drawn, list) else [drawn])]
