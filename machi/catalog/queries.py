"""Reads of the catalog worth naming: the search shared by the site, the API and CKAN.

A search reads its hits once: the full-text match joined to each hit's stored
facet values (DatasetSearch.facets) and the few dataset columns it sorts and
filters on. Visibility, facet filters, counts and sorting then happen on those
rows in Python, so a query costs one index lookup however many facets it shows.
Browsing the whole public catalog (no query, no filter) is answered from SQL
with facet counts cached per catalog version.
"""

import datetime
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.core.cache import cache
from django.db import connection
from django.db.models import Count, Max, Prefetch, Q, QuerySet

from machi.accounts.models import Department
from machi.accounts.permissions import User, department_ids, is_site_admin
from machi.catalog.models import Category, Dataset, DatasetSearch, License, Resource
from machi.catalog.search import FACET_FIELDS, backend, parse_facets, parse_query
from machi.lib.search import Node

PAGE_SIZE = 20
FACET_LIMIT = 30
SORTS = {"relevance", "modified", "title"}


@dataclass
class Filters:
    category: list[str] = field(default_factory=list)
    tag: list[str] = field(default_factory=list)
    department: list[str] = field(default_factory=list)
    format: list[str] = field(default_factory=list)
    license: list[str] = field(default_factory=list)

    def items(self) -> list[tuple[str, str]]:
        return [(name, value) for name in FACET_FIELDS for value in getattr(self, name)]

    def active(self) -> dict[str, set[str]]:
        return {name: set(values) for name in FACET_FIELDS if (values := getattr(self, name))}


@dataclass
class FacetValue:
    value: str
    label: str
    count: int


@dataclass
class SearchResult:
    count: int
    datasets: list[Dataset]
    facets: dict[str, list[FacetValue]]
    page: int
    page_size: int
    sort: str

    @property
    def pages(self) -> int:
        return max(1, -(-self.count // self.page_size))


@dataclass(slots=True)
class _Hit:
    id: int
    score: float
    facets: list[tuple[str, str]]
    public: bool
    department_id: int
    modified: datetime.datetime
    title: str


def visible_datasets(user: User | None) -> QuerySet[Dataset]:
    """Public datasets, plus private ones of the user's departments."""
    datasets = Dataset.objects.all()
    if user is None or not user.is_authenticated:
        return datasets.filter(is_public=True)
    if is_site_admin(user):
        return datasets
    return datasets.filter(Q(is_public=True) | Q(department_id__in=department_ids(user)))


def with_resources(datasets: QuerySet[Dataset]) -> QuerySet[Dataset]:
    return datasets.select_related("department", "license").prefetch_related(
        "tags",
        "categories",
        Prefetch("resources", queryset=Resource.objects.select_related("current")),
    )


def _modified(value: object) -> datetime.datetime:
    # Raw SQL on SQLite returns text; the ORM and PostgreSQL return datetimes.
    if isinstance(value, str):
        return datetime.datetime.fromisoformat(value)
    return value  # type: ignore[return-value]


def _matching(query: Node) -> list[_Hit]:
    match_sql, params = backend().match_sql(query)
    sql = (
        "SELECT m.id, m.score, s.facets, d.is_public, d.department_id, d.modified, d.title "
        f"FROM ({match_sql}) m "
        "JOIN catalog_datasetsearch s ON s.dataset_id = m.id "
        "JOIN catalog_dataset d ON d.id = m.id"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [
            _Hit(
                row[0],
                row[1],
                parse_facets(row[2]),
                bool(row[3]),
                row[4],
                _modified(row[5]),
                row[6],
            )
            for row in cursor.fetchall()
        ]


def _candidates(datasets: QuerySet[Dataset], filters: dict[str, set[str]]) -> list[_Hit]:
    """Hits without a text query: the datasets that pass the first filter, or all."""
    rows = DatasetSearch.objects.filter(dataset__in=_narrowed(datasets, filters).values("id"))
    return [
        _Hit(row[0], 0.0, parse_facets(row[1]), row[2], row[3], row[4], row[5])
        for row in rows.values_list(
            "dataset_id",
            "facets",
            "dataset__is_public",
            "dataset__department_id",
            "dataset__modified",
            "dataset__title",
        )
    ]


_LOOKUPS = {
    "category": "categories__slug",
    "tag": "tags__name",
    "department": "department__slug",
    "format": "resources__current__format",
    "license": "license__slug",
}


def _narrowed(datasets: QuerySet[Dataset], filters: dict[str, set[str]]) -> QuerySet[Dataset]:
    # One filter in SQL is enough to keep the candidate set small; the rest
    # are checked on the rows.
    for name, values in filters.items():
        return datasets.filter(
            id__in=Dataset.objects.filter(**{f"{_LOOKUPS[name]}__in": values}).values("id")
        )
    return datasets


def _visible(hits: Iterable[_Hit], user: User | None) -> list[_Hit]:
    if user is not None and is_site_admin(user):
        return list(hits)
    departments = department_ids(user) if user is not None else set()
    return [hit for hit in hits if hit.public or hit.department_id in departments]


def _passes(hit: _Hit, filters: dict[str, set[str]]) -> bool:
    # Values of one field are alternatives; different fields narrow the result.
    found: dict[str, bool] = {}
    for name, value in hit.facets:
        if name in filters and value in filters[name]:
            found[name] = True
    return len(found) == len(filters)


def _labels() -> dict[str, dict[str, str]]:
    return {
        "category": {c.slug: c.display_name for c in Category.objects.all()},
        "department": {d.slug: d.display_name for d in Department.objects.all()},
        "license": {lic.slug: lic.display_title for lic in License.objects.all()},
    }


def _facet_values(counts: Counter[tuple[str, str]]) -> dict[str, list[FacetValue]]:
    labels = _labels()
    facets: dict[str, list[FacetValue]] = {name: [] for name in FACET_FIELDS}
    for (name, value), count in sorted(counts.items(), key=lambda item: (-item[1], item[0])):
        if len(facets[name]) < FACET_LIMIT:
            label = labels.get(name, {}).get(value, value)
            facets[name].append(FacetValue(value=value, label=label, count=count))
    return facets


def _count_facets(hits: Iterable[_Hit]) -> Counter[tuple[str, str]]:
    counts: Counter[tuple[str, str]] = Counter()
    for hit in hits:
        counts.update(hit.facets)
    return counts


def _public_catalog_facets() -> Counter[tuple[str, str]]:
    """Facet counts of the whole public catalog, cached until any dataset changes."""
    version = DatasetSearch.objects.aggregate(n=Count("pk"), last=Max("updated"))
    last = version["last"].timestamp() if version["last"] else 0
    key = f"catalog-facets:{version['n']}:{last}"
    counts = cache.get(key)
    if counts is None:
        rows = DatasetSearch.objects.filter(dataset__is_public=True).values_list(
            "facets", flat=True
        )
        counts = Counter()
        for text in rows.iterator(chunk_size=5000):
            counts.update(parse_facets(text))
        cache.set(key, counts, timeout=3600)
    return counts


def _page(ids: list[int]) -> list[Dataset]:
    by_id = {d.id: d for d in with_resources(Dataset.objects.filter(id__in=ids))}
    return [by_id[i] for i in ids if i in by_id]


_SORT_KEYS = {
    "relevance": lambda hit: (-hit.score, -hit.id),
    "modified": lambda hit: (-hit.modified.timestamp(), -hit.id),
    "title": lambda hit: (hit.title, hit.id),
}


def search_datasets(
    *,
    q: str = "",
    filters: Filters | None = None,
    sort: str = "",
    page: int = 1,
    page_size: int = PAGE_SIZE,
    user: User | None = None,
    facets: bool = True,
) -> SearchResult:
    """Datasets matching a Japanese or English query, with facet counts."""
    active = (filters or Filters()).active()
    query = parse_query(q) if q.strip() else None
    if sort not in SORTS or (sort == "relevance" and query is None):
        sort = "relevance" if query is not None else "modified"
    page = max(1, page)
    offset = (page - 1) * page_size
    anonymous = user is None or not user.is_authenticated

    if query is None and not active and anonymous:
        public = Dataset.objects.filter(is_public=True)
        order = ["title", "id"] if sort == "title" else ["-modified", "-id"]
        return SearchResult(
            count=public.count(),
            datasets=list(with_resources(public.order_by(*order))[offset : offset + page_size]),
            facets=_facet_values(_public_catalog_facets()) if facets else {},
            page=page,
            page_size=page_size,
            sort=sort,
        )

    hits = _matching(query) if query is not None else _candidates(visible_datasets(user), active)
    hits = [hit for hit in _visible(hits, user) if _passes(hit, active)]
    hits.sort(key=_SORT_KEYS[sort])
    return SearchResult(
        count=len(hits),
        datasets=_page([hit.id for hit in hits[offset : offset + page_size]]),
        facets=_facet_values(_count_facets(hits)) if facets else {},
        page=page,
        page_size=page_size,
        sort=sort,
    )
