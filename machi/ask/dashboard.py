"""What staff read: volume, answer rate and topics; questions to learn from."""

from __future__ import annotations

import datetime
from typing import Any

from django.conf import settings
from django.db.models import Count, Q
from django.db.models.functions import TruncDate
from django.utils import timezone

from machi.ask import index, services
from machi.ask.models import Channel, QuestionLog

LISTS = ("unanswered", "unhelpful")
SHOWN = 100
TOPICS = 10


def summary(*, days: int = 30) -> dict[str, Any]:
    since = timezone.now() - datetime.timedelta(days=days)
    logs = QuestionLog.objects.filter(created__gte=since)
    totals = logs.aggregate(
        total=Count("pk"),
        answered=Count("pk", filter=Q(abstained=False)),
        helpful=Count("feedback", filter=Q(feedback__helpful=True)),
        unhelpful=Count("feedback", filter=Q(feedback__helpful=False)),
    )
    total = totals["total"]
    rated = totals["helpful"] + totals["unhelpful"]
    daily = list(
        logs.annotate(day=TruncDate("created"))
        .values("day")
        .annotate(n=Count("pk"), answered=Count("pk", filter=Q(abstained=False)))
        .order_by("day")
    )
    peak = max((row["n"] for row in daily), default=0)
    for row in daily:
        row["rate"] = round(100 * row["answered"] / row["n"]) if row["n"] else 0
        row["width"] = round(100 * row["n"] / peak) if peak else 0
    channels = dict(Channel.choices)
    return {
        "days": days,
        "total": total,
        "answered": totals["answered"],
        "answer_rate": round(100 * totals["answered"] / total) if total else None,
        "helpful_rate": round(100 * totals["helpful"] / rated) if rated else None,
        "rated": rated,
        "daily": daily,
        "by_channel": [
            {"channel": channels.get(row["channel"], row["channel"]), "n": row["n"]}
            for row in logs.values("channel").annotate(n=Count("pk")).order_by("-n")
        ],
        "top_entries": list(
            logs.filter(entry__isnull=False)
            .values("entry__public_id", "entry__question", "entry__category")
            .annotate(n=Count("pk"))
            .order_by("-n", "entry__public_id")[:TOPICS]
        ),
        "top_categories": list(
            logs.filter(entry__isnull=False)
            .values("entry__category")
            .annotate(n=Count("pk"))
            .order_by("-n", "entry__category")[:TOPICS]
        ),
        "unanswered": logs.filter(abstained=True, handled=False).count(),
    }


def review_list(show: str) -> list[dict[str, Any]]:
    """Questions to learn from, each with the entry the ranker would pick now."""
    logs = QuestionLog.objects.filter(handled=False).select_related("entry")
    if show == "unhelpful":
        logs = logs.filter(feedback__helpful=False).distinct()
    else:
        logs = logs.filter(abstained=True, places=0)
    loaded = index.load()
    rows = []
    for log in logs.order_by("-created")[:SHOWN]:
        # Ranked as the chatbot ranks: its confidence depends on the lead over the runner-up.
        ranking = loaded.index.rank(log.question, limit=services.RANKED)
        guess = loaded.entries[ranking.candidates[0].index] if ranking.candidates else None
        confidence = ranking.confidence
        rows.append(
            {
                "log": log,
                "guess": guess["public_id"] if guess else "",
                "guess_question": guess["question"] if guess else "",
                "confidence": round(100 * confidence),
                # Filled in only when sure enough that the chatbot would answer with it now;
                # anything less is shown, not filled in: one click must not attach a question
                # to the wrong entry (近くのAED is not about 避難所).
                "preselect": guess["public_id"]
                if guess and confidence >= settings.ASK_MIN_CONFIDENCE
                else "",
            }
        )
    return rows
