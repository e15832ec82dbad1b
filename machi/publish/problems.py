"""What went wrong, and where: the unit every stage of the pipeline reports in."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class Problem:
    code: str  # stable id: "decode", "ragged-row", "required-missing", "bad-date", ...
    message: str  # translated, a complete sentence naming the place
    level: str = "error"  # "error" blocks publishing; "warning" does not
    sheet: str = ""
    row: int | None = None  # 1-based, as staff see it in Excel or an editor
    column: str = ""  # header text, or the column letter when there is none
    value: str = ""  # the offending cell, cut to 100 characters

    def as_json(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v not in ("", None)}


def column_letter(index: int) -> str:
    """Spreadsheet letter of a 0-based column: 0 → A, 26 → AA."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def cut(value: object, limit: int = 100) -> str:
    text = "" if value is None else str(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"
