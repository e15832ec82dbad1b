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
