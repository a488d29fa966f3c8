"""Names for the language codes of the parallel corpus, so plots say "Cherokee", not "ch".

Most codes are ISO 639-1. Two are the source's own: ``ch`` is Cherokee (ISO 639-3 ``chr``;
639-1 ``ch`` would be Chamorro) and ``sb`` is Upper Sorbian (ISO 639-3 ``hsb``).
"""

from __future__ import annotations

#: code in multilingual.tsv -> (English name, ISO 639 code)
LANGUAGES: dict[str, tuple[str, str]] = {
    "af": ("Afrikaans", "af"), "ar": ("Arabic", "ar"), "be": ("Belarusian", "be"),
    "bg": ("Bulgarian", "bg"), "bn": ("Bengali", "bn"), "br": ("Breton", "br"),
    "ca": ("Catalan", "ca"), "ch": ("Cherokee", "chr"), "cs": ("Czech", "cs"),
    "cy": ("Welsh", "cy"), "da": ("Danish", "da"), "de": ("German", "de"), "el": ("Greek", "el"),
    "en": ("English", "en"), "eo": ("Esperanto", "eo"), "es": ("Spanish", "es"),
    "et": ("Estonian", "et"), "eu": ("Basque", "eu"), "fa": ("Persian", "fa"),
    "fi": ("Finnish", "fi"), "fo": ("Faroese", "fo"), "fr": ("French", "fr"),
    "ga": ("Irish", "ga"), "gd": ("Scottish Gaelic", "gd"), "gl": ("Galician", "gl"),
    "he": ("Hebrew", "he"), "hi": ("Hindi", "hi"), "hr": ("Croatian", "hr"),
    "hu": ("Hungarian", "hu"), "hy": ("Armenian", "hy"), "id": ("Indonesian", "id"),
    "is": ("Icelandic", "is"), "it": ("Italian", "it"), "ja": ("Japanese", "ja"),
    "ka": ("Georgian", "ka"), "kk": ("Kazakh", "kk"), "km": ("Khmer", "km"),
    "kn": ("Kannada", "kn"), "ko": ("Korean", "ko"), "ky": ("Kyrgyz", "ky"),
    "lb": ("Luxembourgish", "lb"), "lt": ("Lithuanian", "lt"), "lv": ("Latvian", "lv"),
    "mk": ("Macedonian", "mk"), "mn": ("Mongolian", "mn"), "mt": ("Maltese", "mt"),
    "nb": ("Norwegian Bokmål", "nb"), "nl": ("Dutch", "nl"), "nv": ("Navajo", "nv"),
    "pl": ("Polish", "pl"), "pt": ("Portuguese", "pt"), "rm": ("Romansh", "rm"),
    "ro": ("Romanian", "ro"), "ru": ("Russian", "ru"), "sb": ("Upper Sorbian", "hsb"),
    "sk": ("Slovak", "sk"), "sl": ("Slovenian", "sl"), "sq": ("Albanian", "sq"),
    "sr": ("Serbian", "sr"), "sv": ("Swedish", "sv"), "sw": ("Swahili", "sw"),
    "ta": ("Tamil", "ta"), "te": ("Telugu", "te"), "th": ("Thai", "th"),
    "tl": ("Tagalog", "tl"), "tr": ("Turkish", "tr"), "uk": ("Ukrainian", "uk"),
    "uz": ("Uzbek", "uz"), "vi": ("Vietnamese", "vi"), "xh": ("Xhosa", "xh"),
    "yo": ("Yoruba", "yo"), "zh": ("Chinese", "zh"), "zu": ("Zulu", "zu"),
}


def language_label(code: str) -> str:
    """``"Cherokee (chr)"`` for ``"ch"``; an unknown code stays as it is."""
    if code not in LANGUAGES:
        return code
    name, iso = LANGUAGES[code]
    return f"{name} ({iso})"
