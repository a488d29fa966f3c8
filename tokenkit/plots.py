"""PNG pictures of bench and sweep results (matplotlib, Agg backend: no display needed)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from tokenkit.atomic import atomic_file
from tokenkit.errors import TokenkitError

if TYPE_CHECKING:
    from tokenkit.bench import BenchResult
    from tokenkit.sweep import SweepResult


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


#: Picture formats matplotlib's Agg backend writes, by file suffix (none means PNG).
FORMATS = ("png", "pdf", "svg", "svgz", "jpg", "jpeg", "webp", "eps", "ps", "tif", "tiff")


def check_plot_path(path: Path, option: str = "--plot") -> None:
    """Refuse a suffix matplotlib cannot write before anything is computed or written."""
    suffix = path.suffix.lower().lstrip(".")
    if suffix and suffix not in FORMATS:
        raise TokenkitError(f"{option} {path}: cannot write .{suffix} pictures "
                            f"(use one of .{', .'.join(FORMATS)})")


def _save(fig, path: Path) -> Path:
    """Write the figure atomically (a hidden temp file renamed into place)."""
    check_plot_path(path)
    fmt = path.suffix.lower().lstrip(".") or "png"
    try:
        with atomic_file(path) as tmp:
            fig.savefig(tmp, dpi=110, bbox_inches="tight", format=fmt)
    finally:
        _pyplot().close(fig)
    return path


def sibling(path: Path, suffix: str) -> Path:
    """``out.png`` -> ``out-<suffix>.png``."""
    return path.with_name(f"{path.stem}-{suffix}{path.suffix or '.png'}")


def bench_plots(result: BenchResult, path: Path) -> list[Path]:
    """UTF-8 vs BPE bits (``path``), compression per corpus and the parity heatmap."""
    written = [bits_plot(result, path), compression_plot(result, sibling(path, "compression"))]
    if result.parity:
        written.append(parity_heatmap(result, sibling(path, "parity")))
    return written


def bits_plot(result: BenchResult, path: Path) -> Path:
    """The textbook comparison as bars: UTF-8 bits next to BPE bits, one panel per corpus."""
    plt = _pyplot()
    n = len(result.corpora)
    fig, axes = plt.subplots(1, n, figsize=(max(5, 1.2 * len(result.vocabs) + 2) * n, 4.5),
                             squeeze=False)
    for ax, corpus in zip(axes[0], result.corpora):
        rows = [result.row(v, corpus) for v in result.vocabs]
        xs = range(len(rows))
        ax.bar([x - 0.2 for x in xs], [r.utf8_bits / 1e6 for r in rows], 0.4, label="UTF-8 bits")
        ax.bar([x + 0.2 for x in xs], [r.bpe_bits / 1e6 for r in rows], 0.4, label="BPE bits")
        ax.set_xticks(list(xs), [r.vocab for r in rows], rotation=30, ha="right")
        ax.set_ylabel("Mbit")
        ax.set_title(f"{corpus}: UTF-8 vs BPE bits")
        for x, r in zip(xs, rows):
            ax.annotate(f"{r.compression_ratio:.2f}×", (x + 0.2, r.bpe_bits / 1e6),
                        ha="center", va="bottom", fontsize=8)
        ax.legend(fontsize=8)
    return _save(fig, path)


def compression_plot(result: BenchResult, path: Path) -> Path:
    """Compression ratio (fixed-width and ideal entropy coder) for each vocabulary per corpus."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(max(6, 1.5 * len(result.corpora) * len(result.vocabs) / 2), 4.5))
    width = 0.8 / max(1, len(result.vocabs))
    for i, vocab in enumerate(result.vocabs):
        xs = [c + i * width for c in range(len(result.corpora))]
        ax.bar(xs, [result.row(vocab, c).compression_ratio for c in result.corpora], width,
               label=vocab)
        ax.scatter(xs, [result.row(vocab, c).entropy_compression_ratio for c in result.corpora],
                   marker="_", color="black", s=200, zorder=3)
    ax.set_xticks([c + 0.4 - width / 2 for c in range(len(result.corpora))], result.corpora)
    ax.set_ylabel("UTF-8 bits / BPE bits  (— : ideal entropy coder)")
    ax.set_title("Compression ratio per corpus")
    ax.axhline(1.0, color="grey", lw=0.8, ls="--")
    ax.legend(fontsize=8)
    return _save(fig, path)


def parity_heatmap(result: BenchResult, path: Path) -> Path:
    """Tokens per language relative to English, vocabularies x languages."""
    plt = _pyplot()
    langs = sorted({lang for p in result.parity.values() for lang in p},
                   key=lambda lang: (lang != "en", lang))
    data = [[result.parity[v].get(lang, float("nan")) for lang in langs] for v in result.vocabs]
    fig, ax = plt.subplots(figsize=(max(8, 0.22 * len(langs) + 2), 0.5 * len(result.vocabs) + 1.8))
    im = ax.imshow(data, aspect="auto", cmap="magma_r", vmin=0)
    ax.set_xticks(range(len(langs)), langs, rotation=90, fontsize=7)
    ax.set_yticks(range(len(result.vocabs)), result.vocabs, fontsize=8)
    ax.set_title("Tokenization parity: tokens for UDHR Article 1 relative to English")
    fig.colorbar(im, ax=ax, label="× English tokens")
    return _save(fig, path)


def sweep_plot(result: SweepResult, path: Path) -> Path:
    """Compression ratio, bits per token and tokens per byte against vocabulary size."""
    plt = _pyplot()
    sizes = [r.vocab_size for r in result.rows]
    fig, axes = plt.subplots(1, 3, figsize=(14, 4))
    panels = [
        ("compression ratio (held-out)", [r.compression_ratio for r in result.rows], None),
        ("bits per token", [r.bits_per_token for r in result.rows],
         [r.entropy_bits_per_token for r in result.rows]),
        ("tokens per byte (held-out)", [r.tokens_per_byte for r in result.rows], None),
    ]
    for ax, (title, ys, extra) in zip(axes, panels):
        ax.plot(sizes, ys, marker="o", label="fixed width" if extra else None)
        if extra:
            ax.plot(sizes, extra, marker="s", label="unigram entropy")
            ax.legend(fontsize=8)
        ax.set_xscale("log")
        ax.set_xlabel("vocabulary size")
        ax.set_title(title)
        ax.grid(alpha=0.3)
    fig.suptitle(f"{result.corpus}: {result.backend} vocabularies, trained on "
                 f"{result.train_bytes:,} bytes, measured on {result.heldout_bytes:,} held-out bytes")
    return _save(fig, path)
