"""Plots draw Japanese, Korean, Chinese and emoji (no empty boxes), and the plot fixes of issue 14."""

from __future__ import annotations

import warnings
from pathlib import Path

import matplotlib
import pytest

matplotlib.use("Agg")

from matplotlib import font_manager  # noqa: E402

from tokenkit import plots  # noqa: E402
from tokenkit.bench import BenchResult  # noqa: E402
from tokenkit.languages import LANGUAGES, language_label  # noqa: E402
from tokenkit.plotfonts import CJK_FAMILY, EMOJI_FAMILY, font_families, use_cjk_fonts  # noqa: E402
from tokenkit.sweep import SweepResult, SweepRow  # noqa: E402

LABEL = "吾輩は猫 한국어 中文 🥺 Latin"


def draw(label: str, families: list[str], path: Path) -> None:
    """Render ``label`` with ``families``; matplotlib's missing-glyph warnings become errors."""
    import matplotlib.pyplot as plt

    with matplotlib.rc_context({"font.family": families}), warnings.catch_warnings():
        warnings.filterwarnings("error", message=".*[Gg]lyph.*missing.*")
        fig, ax = plt.subplots(figsize=(4, 1))
        ax.set_title(label)
        ax.set_xlabel(label)
        fig.savefig(path)
        plt.close(fig)


def test_cjk_and_emoji_draw_without_missing_glyphs(tmp_path: Path) -> None:
    families = font_families()
    assert families[0] == "DejaVu Sans" and families[1:] == [CJK_FAMILY, EMOJI_FAMILY]
    draw(LABEL, families, tmp_path / "label.png")
    assert (tmp_path / "label.png").stat().st_size > 1000


def test_every_character_is_in_a_font_of_the_chain() -> None:
    fonts = [font_manager.get_font(font_manager.findfont(font_manager.FontProperties(family=f),
                                                         fallback_to_default=False))
             for f in font_families()]
    for ch in LABEL.replace(" ", ""):
        owners = [f.family_name for f in fonts if ord(ch) in f.get_charmap()]
        assert owners, f"no font of the chain has {ch!r} U+{ord(ch):04X}"
        if ch.isascii():
            assert owners[0] == "DejaVu Sans"  # Latin keeps its look


def test_without_the_fallbacks_the_same_label_is_missing_glyphs(tmp_path: Path) -> None:
    with pytest.raises(UserWarning, match="missing"):
        draw(LABEL, ["DejaVu Sans"], tmp_path / "boxes.png")


def test_use_cjk_fonts_sets_the_global_chain_once() -> None:
    with matplotlib.rc_context():
        use_cjk_fonts()
        use_cjk_fonts()
        assert list(matplotlib.rcParams["font.family"]) == font_families()


def _capture(monkeypatch) -> list:
    figures = []

    def save(fig, path):
        figures.append(fig)
        fig.savefig(path)
        return path

    monkeypatch.setattr(plots, "_save", save)
    return figures


def test_parity_heatmap_names_languages_prints_values_and_uses_a_log_scale(tmp_path, monkeypatch) -> None:
    figures = _capture(monkeypatch)
    parity = {"gpt2": {"en": 1.0, "ch": 12.4, "sb": 1.6, "ja": 2.2},
              "日本語-5000": {"en": 1.0, "ch": 7.0, "sb": 3.1, "ja": 0.8}}
    with warnings.catch_warnings():
        warnings.filterwarnings("error", message=".*[Gg]lyph.*missing.*")
        plots.parity_heatmap(BenchResult([], list(parity), [], parity), tmp_path / "p.png")
    ax = figures[0].axes[0]
    labels = [t.get_text() for t in ax.get_xticklabels()]
    assert labels[0] == "English (en)" and "Cherokee (chr)" in labels and "Upper Sorbian (hsb)" in labels
    cells = {t.get_text() for t in ax.texts}
    assert {"12", "1.6", "2.2", "7.0", "3.1", "0.8"} <= cells  # the clipped 12x still reads 12
    norm = ax.images[0].norm
    assert type(norm).__name__ == "LogNorm" and (norm.vmin, norm.vmax) == plots.PARITY_CLIP
    assert norm(1.5) - norm(1.0) > 0.1  # 1x and 1.5x get visibly different colours


def test_every_corpus_language_has_a_name() -> None:
    corpus = Path(__file__).resolve().parents[3] / "shared" / "corpora" / "multilingual.tsv"
    if not corpus.is_file():
        pytest.skip(f"corpus not available: {corpus}")
    codes = {line.split("\t", 1)[0] for line in corpus.read_text(encoding="utf-8").splitlines() if line}
    assert codes <= set(LANGUAGES)
    assert language_label("ch") == "Cherokee (chr)" and language_label("xx") == "xx"


def _row(requested: int, actual: int, ratio: float) -> SweepRow:
    bits = max(1, (actual - 1).bit_length())
    return SweepRow(vocab_size=requested, actual_vocab_size=actual, heldout_bytes=1000, tokens=100,
                    tokens_per_byte=0.1, bytes_per_token=10.0, bits_per_token=bits,
                    entropy_bits_per_token=bits - 1.5, compression_ratio=ratio,
                    entropy_compression_ratio=ratio * 1.2, renyi_efficiency=0.5, train_seconds=0.1)


def test_sweep_plot_labels_actual_sizes_and_explains_the_zig_zag(tmp_path, monkeypatch) -> None:
    figures = _capture(monkeypatch)
    result = SweepResult("wagahai", "hf", 0.1, 10_000, 1_000,
                         [_row(500, 500, 2.0), _row(600, 513, 1.9), _row(1000, 997, 2.1)])
    plots.sweep_plot(result, tmp_path / "s.png")
    fig = figures[0]
    for ax in fig.axes:
        assert [t.get_text() for t in ax.get_xticklabels()] == ["500", "513", "997"]
        assert [line.get_xdata()[0] for line in ax.lines if line.get_linestyle() == ":"] == [512]
    note = " ".join(t.get_text() for t in fig.texts)
    assert "zig-zag" in note and "power" in note
