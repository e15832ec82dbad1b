"""Japanese is the first language: every message has a reviewed Japanese translation."""

import re
from pathlib import Path

PO = Path(__file__).resolve().parents[1] / "locale" / "ja" / "LC_MESSAGES" / "django.po"


def test_japanese_catalog_has_no_fuzzy_or_empty_entries() -> None:
    text = PO.read_text(encoding="utf-8")
    entries = text.split("\n\n")[1:]  # the first block is the header
    fuzzy = [e for e in entries if "#, fuzzy" in e]
    empty = [e for e in entries if re.search(r'msgstr(\[0\])? ""\n?$', e.strip() + "\n")]
    assert not fuzzy, fuzzy[:3]
    assert not empty, empty[:3]
