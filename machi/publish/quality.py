"""A dataset's quality: stars on the 5-star open data scale, points out of 100, and hints.

Stars (cumulative: a level counts only when every level below it is met):

- ★ open license and on the web: `dataset.license.is_open` and a file or link.
- ★★ machine-readable: a file in CSV, TSV, JSON, GeoJSON, XML, KML, RDF, XLS, XLSX, ODS...
  (not only PDF, Word or images).
- ★★★ open format: a file in a non-proprietary one (Excel's and Word's formats are not).
- ★★★★ rows through the API: the current version of a resource is loaded in the datastore.
- ★★★★★ linked: the dataset follows a national standard (`dataset.standard`, and its latest
  published run had no errors against it) or has RDF.

Public visibility is not a star: a private dataset is being prepared, and its staff
should see what it will score once published.

Points (100 in all):

- stars: 6 each (30);
- conforms to a national standard: 15 (`standard` set, and the latest published run of
  the publish pipeline had no errors);
- open license: 15;
- metadata: 20 (description 4, contact with e-mail or phone 4, update frequency declared
  3, English title 3, tags 2, categories 2, period covered 2);
- up to date against the declared update frequency: 10;
- files in open formats: 10 times the share of files not in a proprietary format (PDF
  and images are open formats; that they are not machine-readable costs stars).

The license counts twice (its own 15 and the first star) because a closed license makes
the rest moot: nobody may reuse the data. The period covered needs only its start: a
series that goes on has no end yet.

A dataset is out of date when `modified` is older than `MAX_AGE` for its update
frequency (a monthly dataset after 45 days); irregular and never-updated ones never are.
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any, ClassVar

from django.db.models import F, Prefetch, prefetch_related_objects
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from machi.catalog.models import Dataset, Frequency, Resource
from machi.datastore.models import Table
from machi.publish.models import Run

STAR_POINTS = 6
CONFORMANCE_POINTS = 15
LICENSE_POINTS = 15
FRESH_POINTS = 10
OPEN_FORMATS_POINTS = 10
METADATA_POINTS = {
    "description": 4,
    "contact": 4,
    "frequency": 3,
    "title_en": 3,
    "tags": 2,
    "categories": 2,
    "period": 2,
}

# The criteria of the stars, from the first to the fifth.
STAR_KEYS = ("online", "machine_readable", "open_format", "api", "linked")

# Formats as machi.lib.files names them, upper-cased.
MACHINE_READABLE = frozenset(
    {"CSV", "TSV", "JSON", "GEOJSON", "XML", "KML", "GML", "RDF", "TURTLE", "JSON-LD"}
    | {"N-TRIPLES", "XLS", "XLSX", "XLSM", "ODS", "SHP"}
)
OPEN_MACHINE_READABLE = MACHINE_READABLE - {"XLS", "XLSX", "XLSM", "SHP"}
LINKED = frozenset({"RDF", "TURTLE", "JSON-LD", "N-TRIPLES"})
PROPRIETARY = frozenset({"XLS", "XLSX", "XLSM", "DOC", "DOCX", "PPT", "PPTX", "SHP", "MDB"})

# How old a dataset may get before it is out of date: its period plus some slack for
# the department's work (a monthly dataset updated on the 10th, then on the 20th).
MAX_AGE: dict[str, datetime.timedelta] = {
    Frequency.CONTINUOUS: datetime.timedelta(days=2),
    Frequency.DAILY: datetime.timedelta(days=2),
    Frequency.WEEKLY: datetime.timedelta(days=10),
    Frequency.MONTHLY: datetime.timedelta(days=45),
    Frequency.QUARTERLY: datetime.timedelta(days=120),
    Frequency.ANNUAL_2: datetime.timedelta(days=215),
    Frequency.ANNUAL: datetime.timedelta(days=400),
}


@dataclass(frozen=True)
class Criterion:
    key: str
    label: str
    met: bool
    hint: str  # what would raise the score; empty when met
    points: int  # what it is worth at most
    earned: int = 0  # what it counts now (a star met counts only above the ones below it)
    gain: int = 0  # what meeting it would add now, the stars it unlocks included


@dataclass(frozen=True)
class Quality:
    stars: int
    points: int
    criteria: list[Criterion] = field(default_factory=list)

    MAX_STARS: ClassVar[int] = 5

    @property
    def stars_text(self) -> str:
        return "★" * self.stars + "☆" * (self.MAX_STARS - self.stars)

    @property
    def unmet(self) -> list[Criterion]:
        """Unmet criteria that would raise the points, the ones worth most first.

        A higher star adds nothing before the ones below it: only what would raise the
        points now is listed, with what it would add (an open license: its own points
        and the stars it unlocks).
        """
        return sorted((c for c in self.criteria if not c.met and c.gain), key=lambda c: -c.gain)

    def as_dict(self) -> dict[str, Any]:
        return {
            "stars": self.stars,
            "max_stars": self.MAX_STARS,
            "points": self.points,
            "criteria": [
                {
                    "key": c.key,
                    "label": c.label,
                    "met": c.met,
                    "hint": c.hint,
                    "points": c.points,
                    "earned": c.earned,
                    "gain": c.gain,
                }
                for c in self.criteria
            ],
        }


def data_updated(dataset: Dataset) -> datetime.datetime:
    """When the dataset's data last changed: its newest served file. A wording edit changes
    `modified` but not the data, and made an out-of-date dataset count as up to date.
    Without a file (links only, harvested), `modified` is all there is."""
    served = [r.current.created for r in dataset.resources.all() if r.current is not None]
    return max(served) if served else dataset.modified


def due_date(dataset: Dataset) -> datetime.datetime | None:
    """When the dataset becomes out of date; None when its frequency sets no date."""
    age = MAX_AGE.get(dataset.update_frequency)
    return data_updated(dataset) + age if age is not None else None


def is_fresh(dataset: Dataset, now: datetime.datetime | None = None) -> bool:
    due = due_date(dataset)
    return due is None or (now or timezone.now()) <= due


def score(dataset: Dataset, *, now: datetime.datetime | None = None) -> Quality:
    """The quality of one dataset."""
    return scores([dataset], now=now)[0]


def scores(datasets: Sequence[Dataset], *, now: datetime.datetime | None = None) -> list[Quality]:
    """The quality of each dataset, in order, in a fixed number of queries."""
    datasets = list(datasets)
    if not datasets:
        return []
    prefetch_related_objects(
        datasets,
        "license",
        "tags",
        "categories",
        Prefetch("resources", queryset=Resource.objects.select_related("current")),
    )
    current_ids = [r.current_id for d in datasets for r in d.resources.all() if r.current_id]
    loaded = set(
        Table.objects.filter(version_id__in=current_ids).values_list("version_id", flat=True)
    )
    errors = standard_errors([d.pk for d in datasets if d.standard])
    now = now or timezone.now()
    return [_score(d, loaded=loaded, errors=errors.get(d.pk), now=now) for d in datasets]


def standard_errors(dataset_ids: list[int]) -> dict[int, int]:
    """Errors the tables each dataset serves now were published with (a roll-back serves
    an earlier check's verdict); a dataset serving no table of the pipeline is absent:
    never checked against its standard."""
    errors: dict[int, int] = {}
    runs = Run.objects.filter(
        dataset_id__in=dataset_ids, version__resource__current=F("version")
    ).values_list("dataset_id", "error_count")
    for dataset_id, count in runs:
        errors[dataset_id] = errors.get(dataset_id, 0) + count
    return errors


def _score(
    dataset: Dataset, *, loaded: set[int], errors: int | None, now: datetime.datetime
) -> Quality:
    versions = [r.current for r in dataset.resources.all() if r.current is not None]
    formats = [(v.format or "").upper() for v in versions]
    open_license = dataset.license.is_open
    levels = [
        bool(versions),
        any(f in MACHINE_READABLE for f in formats),
        any(f in OPEN_MACHINE_READABLE for f in formats),
        any(v.pk in loaded for v in versions),
        # Following a standard: checked against it by the pipeline, with no errors.
        (bool(dataset.standard) and errors == 0) or any(f in LINKED for f in formats),
    ]
    criteria = [
        _criterion(
            "license",
            _("Open license"),
            open_license,
            _("Choose an open license such as CC BY 4.0, so that anyone may reuse the data."),
            LICENSE_POINTS,
        ),
        _criterion(
            "online",
            _("On the web (1 star)"),
            levels[0],
            _("Add the data as a file or a link."),
            STAR_POINTS,
        ),
        _criterion(
            "machine_readable",
            _("Machine-readable (2 stars)"),
            levels[1],
            _(
                "Publish the data as a CSV or spreadsheet file, not only as PDF, Word or "
                "images, so that programs can read it."
            ),
            STAR_POINTS,
        ),
        _criterion(
            "open_format",
            _("Open format (3 stars)"),
            levels[2],
            _("Publish a CSV version: Excel files need particular software to read."),
            STAR_POINTS,
        ),
        _criterion(
            "api",
            _("Rows through the API (4 stars)"),
            levels[3],
            _(
                "Publish the data through the publish page, so that its rows are loaded and "
                "can be queried one by one through the API."
            ),
            STAR_POINTS,
        ),
        _criterion(
            "linked",
            _("Follows a standard or linked data (5 stars)"),
            levels[4],
            _conformance_hint(dataset, errors)
            if dataset.standard
            else _(
                "Follow a national standard dataset, or add an RDF version that links to "
                "shared vocabularies."
            ),
            STAR_POINTS,
        ),
        _conformance(dataset, errors),
        _open_formats(dataset),
        _freshness(dataset, now),
        *_metadata(dataset),
    ]
    open_share = sum(f not in PROPRIETARY for f in formats) / len(formats) if formats else 0.0
    met = {c.key: c.met for c in criteria}
    stars, points = _points(met, open_share)
    counted = []
    for c in criteria:
        if c.key in STAR_KEYS:
            earned = STAR_POINTS if STAR_KEYS.index(c.key) < stars else 0
        elif c.key == "open_formats":
            earned = round(OPEN_FORMATS_POINTS * open_share)
        else:
            earned = c.points if c.met else 0
        # Met alone, with the rest as it is: what the hint can promise.
        gain = 0 if c.met else _points({**met, c.key: True}, open_share, c.key)[1] - points
        counted.append(replace(c, earned=earned, gain=gain))
    return Quality(stars=stars, points=points, criteria=counted)


def _points(met: dict[str, bool], open_share: float, meeting: str = "") -> tuple[int, int]:
    """Stars and points of these criteria met. Stars count cumulatively from an open
    license on the web; files in open formats count by their share (all of them when
    `meeting` that criterion); the other criteria count whole."""
    levels = [met["license"] and met["online"], *(met[key] for key in STAR_KEYS[1:])]
    stars = next((i for i, ok in enumerate(levels) if not ok), len(levels))
    share = 1.0 if meeting == "open_formats" else open_share
    whole = sum(c_points for key, c_points in _WHOLE_POINTS.items() if met[key])
    return stars, stars * STAR_POINTS + round(OPEN_FORMATS_POINTS * share) + whole


_WHOLE_POINTS = {
    "license": LICENSE_POINTS,
    "conformance": CONFORMANCE_POINTS,
    "fresh": FRESH_POINTS,
    **METADATA_POINTS,
}


def _criterion(key: str, label: str, met: bool, hint: str, points: int) -> Criterion:
    return Criterion(key=key, label=label, met=met, hint="" if met else hint, points=points)


def _conformance(dataset: Dataset, errors: int | None) -> Criterion:
    met = bool(dataset.standard) and errors == 0
    return _criterion(
        "conformance",
        _("Conforms to a national standard"),
        met,
        _conformance_hint(dataset, errors),
        CONFORMANCE_POINTS,
    )


def _conformance_hint(dataset: Dataset, errors: int | None) -> str:
    if not dataset.standard:
        return _(
            "Follow a national standard dataset if one fits this data, so that it can be "
            "combined with other municipalities' data."
        )
    if errors is None:
        return _(
            "Publish the file through the publish page, so that it is checked against the standard."
        )
    return ngettext(
        "The version served was published with %(count)s error; correct it and publish again.",
        "The version served was published with %(count)s errors; correct them and publish again.",
        errors,
    ) % {"count": errors}


def _open_formats(dataset: Dataset) -> Criterion:
    resources = [r for r in dataset.resources.all() if r.current is not None]
    closed = [r for r in resources if (r.current.format or "").upper() in PROPRIETARY]
    if not resources:
        hint = _("Add the data in an open format such as CSV.")
    else:
        hint = _("Offer these files in an open format such as CSV or ODS as well: %(files)s.") % {
            "files": "、".join(f"{r.display_name} ({r.current.format})" for r in closed)
        }
    return _criterion(
        "open_formats",
        _("Every file in an open format"),
        bool(resources) and not closed,
        hint,
        OPEN_FORMATS_POINTS,
    )


def _freshness(dataset: Dataset, now: datetime.datetime) -> Criterion:
    due = due_date(dataset)
    hint = ""
    if due is not None:
        hint = _(
            "The data is updated %(frequency)s and was due by %(due)s. Update it, or correct "
            "its update frequency."
        ) % {
            "frequency": dataset.get_update_frequency_display(),
            "due": timezone.localdate(due).isoformat(),
        }
    return _criterion("fresh", _("Up to date"), is_fresh(dataset, now), hint, FRESH_POINTS)


def _metadata(dataset: Dataset) -> list[Criterion]:
    has_contact = bool(dataset.contact_name) and bool(
        dataset.contact_email or dataset.contact_phone
    )
    facts = [
        (
            "description",
            _("Description"),
            bool(dataset.description.strip()),
            _("Describe what the data contains, where it comes from and how it is made."),
        ),
        (
            "contact",
            _("Contact"),
            has_contact,
            _("Name a contact (a section) with an e-mail address or phone number for questions."),
        ),
        (
            "frequency",
            _("Update frequency"),
            dataset.update_frequency != Frequency.IRREGULAR,
            _("It is set to irregular: declare how often the data is updated, if it has a rhythm."),
        ),
        (
            "title_en",
            _("English title"),
            bool(dataset.title_en.strip()),
            _("Add an English title, so that visitors from abroad can find the data."),
        ),
        (
            "tags",
            _("Tags"),
            bool(dataset.tags.all()),
            _("Add tags with the words people search for."),
        ),
        (
            "categories",
            _("Categories"),
            bool(dataset.categories.all()),
            _("Choose at least one category."),
        ),
        (
            "period",
            _("Period covered"),
            dataset.temporal_start is not None,
            _("Give the period the data covers (at least its start)."),
        ),
    ]
    return [
        _criterion(key, label, met, hint, METADATA_POINTS[key]) for key, label, met, hint in facts
    ]


def quality_context(dataset: Dataset) -> dict[str, Quality]:
    """Context for `publish/_quality.html` on a dataset page."""
    return {"quality": score(dataset)}
