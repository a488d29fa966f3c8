"""PNG pictures of bench and sweep results (matplotlib, Agg backend: no display needed)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from tokenkit.atomic import atomic_file
from tokenkit.errors import TokenkitError
from tokenkit.languages import language_label
from tokenkit.plotfonts import use_cjk_fonts

if TYPE_CHECKING:
    from tokenkit.results import BenchResult, SweepResult


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    use_cjk_fonts()  # vocabulary names, tokens and languages may be Japanese, Korean, emoji...
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
        with atomic_file(path) as tmp:  # a reader never sees half a PNG
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


#: The parity colour scale is logarithmic and clipped here: the 1-3x range is what matters.
PARITY_CLIP = (0.5, 8.0)


def parity_heatmap(result: BenchResult, path: Path) -> Path:
    """Tokens per language relative to English, vocabularies x languages, values printed.

    The colour scale is logarithmic and clipped to :data:`PARITY_CLIP` so that 1x, 1.5x, 2x
    and 3x look different (a linear 0-16 scale made them one colour); every cell prints its
    value, so a clipped 12x still reads 12.
    """
    from matplotlib.colors import LogNorm

    plt = _pyplot()
    langs = sorted({lang for p in result.parity.values() for lang in p},
                   key=lambda lang: (lang != "en", language_label(lang)))
    data = [[result.parity[v].get(lang, float("nan")) for lang in langs] for v in result.vocabs]
    fig, ax = plt.subplots(figsize=(max(8, 0.32 * len(langs) + 3), 0.55 * len(result.vocabs) + 2.6))
    norm = LogNorm(*PARITY_CLIP, clip=True)
    im = ax.imshow(data, aspect="auto", cmap="magma_r", norm=norm)
    for y, row in enumerate(data):
        for x, value in enumerate(row):
            if value == value:  # not NaN
                dark = norm(value) > 0.55
                ax.text(x, y, f"{value:.1f}" if value < 10 else f"{value:.0f}", ha="center",
                        va="center", fontsize=5.5, color="white" if dark else "black")
    ax.set_xticks(range(len(langs)), [language_label(lang) for lang in langs], rotation=90, fontsize=7)
    ax.set_yticks(range(len(result.vocabs)), result.vocabs, fontsize=8)
    ax.set_title("Tokenization parity: tokens for UDHR Article 1 relative to English")
    ticks = [t for t in (0.5, 1, 1.5, 2, 3, 4, 6, 8) if PARITY_CLIP[0] <= t <= PARITY_CLIP[1]]
    bar = fig.colorbar(im, ax=ax, ticks=ticks,
                       label=f"× English tokens (log scale, clipped to {PARITY_CLIP[0]:g}–{PARITY_CLIP[1]:g})")
    bar.minorticks_off()
    bar.ax.set_yticklabels([f"{t:g}×" for t in ticks])
    return _save(fig, path)


def sweep_plot(result: SweepResult, path: Path) -> Path:
    """Compression ratio, bits per token and tokens per byte against vocabulary size.

    The x axis is labelled with the vocabularies' actual sizes (training can stop short of the
    requested one). The fixed-width ratio zig-zags because ceil(log2 V) steps up by one bit
    just past each power of two: dotted lines mark those steps, and the figure says so.
    """
    plt = _pyplot()
    sizes = [r.actual_vocab_size for r in result.rows]
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.6))
    panels = [
        ("compression ratio (held-out)", [r.compression_ratio for r in result.rows],
         [r.entropy_compression_ratio for r in result.rows]),
        ("bits per token", [r.bits_per_token for r in result.rows],
         [r.entropy_bits_per_token for r in result.rows]),
        ("tokens per byte (held-out)", [r.tokens_per_byte for r in result.rows], None),
    ]
    steps = _powers_of_two_between(min(sizes, default=1), max(sizes, default=1))
    for ax, (title, ys, extra) in zip(axes, panels):
        ax.plot(sizes, ys, marker="o", label="fixed width, ⌈log₂ V⌉ bits" if extra else None)
        if extra:
            ax.plot(sizes, extra, marker="s", label="unigram entropy (ideal coder)")
            ax.legend(fontsize=8)
        for step in steps:
            ax.axvline(step, color="grey", lw=0.7, ls=":")
        ax.set_xscale("log")
        ax.minorticks_off()
        ax.set_xticks(sizes, [f"{s:,}" for s in sizes], rotation=45, ha="right", fontsize=8)
        ax.set_xlabel("vocabulary size (actual)")
        ax.set_title(title)
        ax.grid(alpha=0.3)
    if steps:
        fig.text(0.5, -0.04, "Dotted lines: powers of two. Just past each one ⌈log₂ V⌉ grows by one bit "
                 "for every token, so the fixed-width ratio drops there and climbs again as merges "
                 "shorten the text: the zig-zag. The entropy curves have no such steps.",
                 ha="center", fontsize=9, wrap=True)
    fig.suptitle(f"{result.corpus}: {result.backend} vocabularies, trained on "
                 f"{result.train_bytes:,} bytes, measured on {result.heldout_bytes:,} held-out bytes")
    return _save(fig, path)


def _powers_of_two_between(lo: int, hi: int) -> list[int]:
    """Powers of two p with lo < p < hi (where ceil(log2 V) steps up, at V = p + 1)."""
    return [1 << k for k in range(1, 40) if lo < (1 << k) < hi]
