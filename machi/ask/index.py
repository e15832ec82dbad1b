"""The FAQ index of this process, rebuilt when an entry or a synonym set changes.

Built from the tokens stored on the entries (no Sudachi at build time except for the
synonym phrases), so a new process is ready in milliseconds per hundred entries. The version
is read from the database on every question (one small aggregate), so every process sees
staff edits at once; nothing is kept inside a transaction, whose writes may roll back.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

from django.db import connection
from django.db.models import Count, Max

from machi.ask.models import FaqEntry
from machi.ask.ranker import TOKENS_VERSION, FaqIndex, entry_tokens
from machi.catalog.models import SynonymSet

ENTRY_FIELDS = (
    "pk",
    "public_id",
    "question",
    "answer",
    "category",
    "department",
    "contact",
    "url",
    "question_en",
    "answer_en",
    "variants",
)


@dataclass(frozen=True)
class Loaded:
    index: FaqIndex
    entries: list[dict[str, object]]


_lock = threading.Lock()
_loaded: dict[tuple[object, ...], Loaded] = {}


def _version() -> tuple[object, ...]:
    entries = FaqEntry.objects.aggregate(n=Count("pk"), last=Max("modified"), top=Max("pk"))
    synonyms = SynonymSet.objects.aggregate(n=Count("pk"), last=Max("modified"))
    return (
        connection.vendor,
        connection.settings_dict["NAME"],
        entries["n"],
        entries["last"],
        entries["top"],
        synonyms["n"],
        synonyms["last"],
    )


def synonym_sets() -> list[list[str]]:
    """The shared synonym dictionary (catalog.SynonymSet), which the chatbot also uses."""
    return [synonym_set.term_list() for synonym_set in SynonymSet.objects.order_by("pk")]


def _current_tokens(row: dict[str, Any]) -> dict[str, Any]:
    tokens = row.pop("tokens")
    if tokens.get("v") == TOKENS_VERSION:
        return tokens
    # Stored by an older analysis: analyzed here until the entry is saved again.
    return entry_tokens(
        question=row["question"],
        variants=[line.strip() for line in str(row["variants"]).splitlines() if line.strip()],
        answer=row["answer"],
        category=row["category"],
        department=row["department"],
        question_en=row["question_en"],
        answer_en=row["answer_en"],
    )


def load() -> Loaded:
    version = _version()
    with _lock:
        loaded = _loaded.get(version)
    if loaded is not None:
        return loaded
    rows = list(FaqEntry.objects.order_by("pk").values(*ENTRY_FIELDS, "tokens"))
    index = FaqIndex([_current_tokens(row) for row in rows], synonym_sets())
    loaded = Loaded(index, rows)
    if not connection.in_atomic_block:
        with _lock:
            _loaded.clear()
            _loaded[version] = loaded
    return loaded
