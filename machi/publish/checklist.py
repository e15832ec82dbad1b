"""The ward's checklist of national standard datasets: published, out of date or missing.

One entry per national standard. Editions of one standard (公衆トイレ一覧 and its
2026 edition) share a title and make one entry: a dataset following either edition
publishes it. Only public datasets count.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field

from django.db.models import Prefetch
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext, gettext_lazy, ngettext

from machi.catalog.models import Dataset, Resource
from machi.lib.i18n import english_requested
from machi.publish.quality import data_updated, due_date, is_fresh, standard_errors
from machi.publish.standards import all_standards

PUBLISHED = "published"
OUT_OF_DATE = "out-of-date"
MISSING = "missing"
STATUS_LABELS: dict[str, Promise] = {
    PUBLISHED: gettext_lazy("Published"),
    OUT_OF_DATE: gettext_lazy("Out of date"),
    MISSING: gettext_lazy("Missing"),
}
# Whether what is published meets the standard, as the publish pipeline checked it.
CONFORMS = "conforms"
NOT_CONFORMING = "errors"
UNCHECKED = "unchecked"


@dataclass(frozen=True)
class Entry:
    slug: str  # the standard's base slug (its first edition's)
    title: str
    title_en: str
    status: str  # PUBLISHED, OUT_OF_DATE or MISSING
    slugs: tuple[str, ...]  # every edition's slug
    datasets: list[Dataset] = field(default_factory=list)  # newest first
    last_update: datetime.datetime | None = None
    # When the entry becomes out of date; None when missing or when a dataset that
    # follows it has no regular update frequency.
    due: datetime.datetime | None = None
    # CONFORMS when the table a dataset serves was published by the pipeline with no error,
    # else NOT_CONFORMING with the fewest `errors` of one, else UNCHECKED (no dataset went
    # through the pipeline); None when missing.
    conformance: str | None = None
    errors: int | None = None

    @property
    def status_label(self) -> str:
        return str(STATUS_LABELS[self.status])

    @property
    def conformance_label(self) -> str:
        if self.conformance == CONFORMS:
            return gettext("Conforms to the standard")
        if self.conformance == NOT_CONFORMING:
            errors = self.errors or 0
            return ngettext(
                "Published with %(n)d error",
                "Published with %(n)d errors",
                errors,
            ) % {"n": errors}
        if self.conformance == UNCHECKED:
            return gettext("Not checked: publish it through the publish page")
        return ""

    @property
    def display_title(self) -> str:
        return self.title_en if english_requested() and self.title_en else self.title


def checklist(now: datetime.datetime | None = None) -> list[Entry]:
    """Every national standard and the public datasets that follow it."""
    now = now or timezone.now()
    groups: dict[str, list[str]] = {}
    titles_en: dict[str, str] = {}
    for standard in all_standards():
        groups.setdefault(standard.title, []).append(standard.slug)
        titles_en.setdefault(standard.title, getattr(standard, "title_en", "") or "")
    by_standard: dict[str, list[Dataset]] = {}
    datasets = (
        Dataset.objects.filter(is_public=True, standard__in=[s for g in groups.values() for s in g])
        .select_related("department")
        .prefetch_related(Prefetch("resources", Resource.objects.select_related("current")))
        .order_by("-modified", "pk")
    )
    for dataset in datasets:
        by_standard.setdefault(dataset.standard, []).append(dataset)
    errors = standard_errors([d.pk for found in by_standard.values() for d in found])
    entries = []
    for title, slugs in groups.items():
        following = sorted(
            (d for slug in slugs for d in by_standard.get(slug, [])),
            key=data_updated,
            reverse=True,
        )
        entries.append(
            _entry(
                min(slugs, key=len),
                title,
                titles_en[title],
                tuple(slugs),
                following,
                [errors[d.pk] for d in following if d.pk in errors],
                now,
            )
        )
    return entries


def _entry(
    slug: str,
    title: str,
    title_en: str,
    slugs: tuple[str, ...],
    datasets: list[Dataset],
    errors: list[int],
    now: datetime.datetime,
) -> Entry:
    if not datasets:
        return Entry(slug=slug, title=title, title_en=title_en, status=MISSING, slugs=slugs)
    dues = [due_date(d) for d in datasets]
    due = None if None in dues else max(d for d in dues if d is not None)
    fresh = any(is_fresh(d, now) for d in datasets)
    return Entry(
        slug=slug,
        title=title,
        title_en=title_en,
        status=PUBLISHED if fresh else OUT_OF_DATE,
        slugs=slugs,
        datasets=datasets,
        last_update=data_updated(datasets[0]),
        due=due,
        conformance=(CONFORMS if 0 in errors else NOT_CONFORMING) if errors else UNCHECKED,
        errors=min(errors) if errors else None,
    )
