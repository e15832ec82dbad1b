"""The standard-dataset checklist as JSON, and the staff dashboard of checklist and quality."""

from __future__ import annotations

import datetime
from typing import Any

from django.contrib.auth.decorators import user_passes_test
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_safe

from machi.accounts.permissions import department_ids, is_site_admin
from machi.catalog.models import Dataset
from machi.publish import quality
from machi.publish.checklist import MISSING, OUT_OF_DATE, PUBLISHED, Entry, checklist

staff_only = user_passes_test(
    lambda user: user.is_active and user.is_staff, login_url="admin:login"
)

# Enough to work through; a site administrator's whole catalog would be a long page.
SHOWN_SCORES = 200


def _iso(value: datetime.datetime | None) -> str | None:
    return timezone.localtime(value).isoformat() if value is not None else None


def _entry_json(request: HttpRequest, entry: Entry, now: datetime.datetime) -> dict[str, Any]:
    return {
        "slug": entry.slug,
        "editions": list(entry.slugs),
        "title": entry.title,
        "title_en": entry.title_en,
        "status": entry.status,
        "status_label": entry.status_label,
        "conformance": entry.conformance,
        "errors_against_standard": entry.errors,
        "last_update": _iso(entry.last_update),
        "due": _iso(entry.due),
        "datasets": [
            {
                "name": d.name,
                "title": d.title,
                "url": request.build_absolute_uri(d.get_absolute_url()),
                "department": d.department.display_name,
                "standard": d.standard,
                "update_frequency": d.update_frequency,
                "modified": _iso(d.modified),
                "data_updated": _iso(quality.data_updated(d)),
                "due": _iso(quality.due_date(d)),
                "fresh": quality.is_fresh(d, now),
            }
            for d in entry.datasets
        ],
    }


@require_safe
def checklist_json(request: HttpRequest) -> JsonResponse:
    now = timezone.now()
    entries = checklist(now)
    counts = {status: 0 for status in (PUBLISHED, OUT_OF_DATE, MISSING)}
    for entry in entries:
        counts[entry.status] += 1
    return JsonResponse(
        {
            "generated": _iso(now),
            "counts": counts,
            "standards": [_entry_json(request, entry, now) for entry in entries],
        },
        json_dumps_params={"ensure_ascii": False},
    )


def _staff_datasets(user: Any) -> list[Dataset]:
    datasets = Dataset.objects.select_related("department", "license")
    if not is_site_admin(user):
        datasets = datasets.filter(department_id__in=department_ids(user))
    return list(datasets)


@staff_only
@require_safe
def dashboard(request: HttpRequest) -> HttpResponse:
    entries = checklist()
    datasets = _staff_datasets(request.user)
    scored = sorted(
        zip(datasets, quality.scores(datasets), strict=True),
        key=lambda pair: (pair[1].points, pair[0].title),
    )
    counts = {status: sum(e.status == status for e in entries) for status in (MISSING, OUT_OF_DATE)}
    return render(
        request,
        "publish/dashboard.html",
        {
            "entries": entries,
            "missing": counts[MISSING],
            "out_of_date": counts[OUT_OF_DATE],
            "published": len(entries) - counts[MISSING] - counts[OUT_OF_DATE],
            "scored": scored[:SHOWN_SCORES],
            "scored_total": len(scored),
        },
    )
