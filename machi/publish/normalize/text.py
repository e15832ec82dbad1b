"""Width and space normalisation of cell text; the rules are in the package docstring."""

from __future__ import annotations

import re
import unicodedata

_FULL_ALNUM = [*range(0xFF10, 0xFF1A), *range(0xFF21, 0xFF3B), *range(0xFF41, 0xFF5B)]
_ALNUM = str.maketrans({chr(c): chr(c - 0xFEE0) for c in _FULL_ALNUM})
_HALF_SYMBOLS = str.maketrans({chr(c): chr(c - 0xFEE0) for c in range(0xFF01, 0xFF5E)})
_WIDE = re.compile("[\uff01-\uff5d\uff61-\uff9f]")
_SYMBOL_RUN = re.compile("[\uff01-\uff07\uff0a-\uff0f\uff1a-\uff20\uff3c\uff3e-\uff40\uff5c]+")
_BRACKETS = re.compile("（[ -~]*）|［[ -~]*］|｛[ -~]*｝")  # a pair around ASCII text only
_HALF_KANA = re.compile("[\uff61-\uff9f]+")
_SPACE_RUN = re.compile("[ \t\u3000\xa0]+")
_DASHES = "‐‑‒–—―−－ーｰ"


def _symbol_run(match: re.Match[str]) -> str:
    text, (start, end) = match.string, match.span()
    before = text[start - 1] if start else ""
    after = text[end] if end < len(text) else ""
    if "!" <= before <= "~" or "!" <= after <= "~":
        return match.group().translate(_HALF_SYMBOLS)
    return match.group()


def to_half_width(text: str) -> str:
    """The width rule (see the package docstring)."""
    if text.isascii() or not _WIDE.search(text):
        return text
    text = text.translate(_ALNUM)
    if not _WIDE.search(text):
        return text  # only letters and digits were wide (１２３, ４丁目): no rule below applies
    text = _SYMBOL_RUN.sub(_symbol_run, text)
    text = _BRACKETS.sub(lambda m: m.group().translate(_HALF_SYMBOLS), text)
    return _HALF_KANA.sub(lambda m: unicodedata.normalize("NFKC", m.group()), text)


def _space_run(match: re.Match[str]) -> str:
    run = match.group()
    if run == " ":
        return run
    text, (start, end) = match.string, match.span()
    japanese = not text[start - 1].isascii() and not text[end].isascii()
    return "\u3000" if japanese and "\u3000" in run else " "


def tidy_spaces(text: str) -> str:
    """The space rule (see the package docstring)."""
    stripped = text.strip()
    if (
        "  " not in stripped
        and "\u3000" not in stripped
        and "\t" not in stripped
        and "\xa0" not in stripped
    ):
        return stripped
    return _SPACE_RUN.sub(_space_run, stripped)
