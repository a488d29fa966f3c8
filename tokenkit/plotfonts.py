"""Fonts for plots that draw what tokenkit measures: Japanese, Chinese, Korean and emoji.

matplotlib's default font (DejaVu Sans) has no CJK or emoji glyphs and draws them as empty
boxes. :func:`use_cjk_fonts` keeps the Latin font first and adds fallbacks behind it
(matplotlib >= 3.6 falls back glyph by glyph along ``font.family``): Noto Sans CJK for Han,
kana and Hangul, then Noto Emoji (monochrome: matplotlib cannot draw colour emoji fonts).

The fonts come from the ``manimgx-fonts-cjk`` and ``manimgx-fonts`` packages (SIL OFL 1.1),
so every install has them. A system copy of Noto Sans CJK (Debian's ``fonts-noto-cjk``) is
preferred when present, because it has a static Regular face; the packaged one is a variable
font that matplotlib draws at its default (thin) weight.
"""

from __future__ import annotations

import logging
from importlib import import_module
from pathlib import Path

CJK_FAMILY = "Noto Sans CJK JP"
EMOJI_FAMILY = "Noto Emoji"
FONT_PACKAGES = ("manimgx_fonts_cjk", "manimgx_fonts")
_FONT_SUFFIXES = {".ttf", ".otf", ".ttc"}
_registered = False


class _VariableWeightFilter(logging.Filter):
    """Drop matplotlib's one-line notice that the packaged CJK font has only its default weight."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.getMessage().startswith("findfont: Failed to find font weight")
                    and CJK_FAMILY in record.getMessage())


def packaged_font_files() -> list[Path]:
    """The font files shipped by the font packages tokenkit depends on."""
    found: list[Path] = []
    for name in FONT_PACKAGES:
        try:
            module = import_module(name)
        except ImportError:
            continue
        directory = Path(module.__file__).parent
        found.extend(p for p in sorted(directory.iterdir()) if p.suffix.lower() in _FONT_SUFFIXES)
    return found


def register_fonts() -> None:
    """Add the packaged fonts to matplotlib's font list (once per process)."""
    global _registered
    if _registered:
        return
    from matplotlib import font_manager

    known = {Path(f.fname) for f in font_manager.fontManager.ttflist}
    for path in packaged_font_files():
        if path not in known:
            font_manager.fontManager.addfont(str(path))
    logging.getLogger("matplotlib.font_manager").addFilter(_VariableWeightFilter())
    _registered = True


def font_families() -> list[str]:
    """``font.family`` for tokenkit's plots: the current Latin font, then the CJK and emoji fallbacks."""
    import matplotlib

    register_fonts()
    current = [f for f in matplotlib.rcParams["font.family"] if f not in (CJK_FAMILY, EMOJI_FAMILY)]
    if current == ["sans-serif"]:
        current = [matplotlib.rcParams["font.sans-serif"][0]]
    return [*current, CJK_FAMILY, EMOJI_FAMILY]


def use_cjk_fonts() -> None:
    """Make every later matplotlib figure fall back to CJK and emoji glyphs."""
    import matplotlib

    matplotlib.rcParams["font.family"] = font_families()
