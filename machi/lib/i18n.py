"""Bilingual content: Japanese fields with optional English twins."""

from django.utils.translation import get_language


def english_requested() -> bool:
    return (get_language() or "ja").startswith("en")


class Bilingual:
    """Picks `<field>_en` on English pages when it is filled, else the Japanese `<field>`."""

    def localized(self, field: str) -> str:
        if english_requested():
            english = getattr(self, f"{field}_en", "")
            if english:
                return english
        return getattr(self, field)

    def fallback_lang(self, field: str) -> str:
        """ "ja" when an English page shows this field in Japanese (it has no English), so
        that the page can mark it and a screen reader read it in Japanese; else ""."""
        if english_requested() and not getattr(self, f"{field}_en", "") and getattr(self, field):
            return "ja"
        return ""
