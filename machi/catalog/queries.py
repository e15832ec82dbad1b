"""Reads of the catalog worth naming: the search shared by the site, the API and CKAN.

A search reads its hits once: the full-text match joined to each hit's stored
facet values (DatasetSearch.facets) and the few dataset columns it sorts and
filters on. Visibility, facet filters, counts and sorting then happen on those
rows in Python, so a query costs one index lookup however many facets it shows.
Browsing the whole public catalog (no query, no filter) is answered from SQL
with facet counts cached per catalog version.
"""

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from operator import attrgetter

from django.core.cache import cache
from django.db import connection
from django.db.models import Count, Max, Prefetch, Q, QuerySet

from machi.accounts.models import Department
from machi.accounts.permissions import User, department_ids, is_site_admin
from machi.catalog.models import Category, Dataset, DatasetFacets, License, Resource
from machi.catalog.search import FACET_FIELDS, backend, facet_key, parse_query
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
    keys: str  # DatasetFacets.keys
    public: bool
    department_id: int
    order: object  # the column the result is sorted on, if not the score


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


_SORT_COLUMNS = {"relevance": "dataset_id", "modified": "modified", "title": "title"}


def _matching(query: Node, sort: str, within: QuerySet[Dataset] | None) -> list[_Hit]:
    candidates = None
    if within is not None:
        sql, candidate_params = within.values("id").query.sql_with_params()
        candidates = (sql, list(candidate_params))
    match_sql, params = backend().match_sql(query, candidates)
    sql = (
        f"SELECT m.id, m.score, f.keys, f.is_public, f.department_id, f.{_SORT_COLUMNS[sort]} "
        f"FROM ({match_sql}) m JOIN catalog_datasetfacets f ON f.dataset_id = m.id"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [_Hit(*row) for row in cursor.fetchall()]


def _candidates(datasets: QuerySet[Dataset], filters: dict[str, set[str]], sort: str) -> list[_Hit]:
    """Hits without a text query: the datasets that pass the first filter, or all."""
    rows = DatasetFacets.objects.filter(dataset__in=_narrowed(datasets, filters).values("id"))
    return [
        _Hit(row[0], 0.0, row[1], row[2], row[3], row[4])
        for row in rows.values_list(
            "dataset_id", "keys", "is_public", "department_id", _SORT_COLUMNS[sort]
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


def _passing(hits: list[_Hit], filters: dict[str, set[str]]) -> list[_Hit]:
    # Values of one field are alternatives; different fields narrow the result.
    if not filters:
        return hits
    wanted = [[f"\n{facet_key(name, v)}\n" for v in values] for name, values in filters.items()]
    return [
        hit
        for hit in hits
        for padded in (f"\n{hit.keys}\n",)
        if all(any(key in padded for key in keys) for keys in wanted)
    ]


def _labels() -> dict[str, dict[str, str]]:
    return {
        "category": {c.slug: c.display_name for c in Category.objects.all()},
        "department": {d.slug: d.display_name for d in Department.objects.all()},
        "license": {lic.slug: lic.display_title for lic in License.objects.all()},
    }


def _facet_values(counts: Counter[str]) -> dict[str, list[FacetValue]]:
    labels = _labels()
    facets: dict[str, list[FacetValue]] = {name: [] for name in FACET_FIELDS}
    for key, count in sorted(counts.items(), key=lambda item: (-item[1], item[0])):
        name, _, value = key.partition("\t")
        if name in facets and len(facets[name]) < FACET_LIMIT:
            label = labels.get(name, {}).get(value, value)
            facets[name].append(FacetValue(value=value, label=label, count=count))
    return facets


def _count_keys(texts: Iterable[str]) -> Counter[str]:
    # One split of all the hits' keys at once is much faster than per hit.
    counts = Counter("\n".join(texts).split("\n"))
    counts.pop("", None)
    return counts


def _public_catalog_facets() -> Counter[str]:
    """Facet counts of the whole public catalog, cached until any dataset changes."""
    version = DatasetFacets.objects.aggregate(n=Count("pk"), last=Max("updated"))
    last = version["last"].timestamp() if version["last"] else 0
    key = f"catalog-facets:{version['n']}:{last}"
    counts = cache.get(key)
    if counts is None:
        rows = DatasetFacets.objects.filter(is_public=True).values_list("keys", flat=True)
        counts = _count_keys(rows.iterator(chunk_size=5000))
        cache.set(key, counts, timeout=3600)
    return counts


def _page(ids: list[int]) -> list[Dataset]:
    by_id = {d.id: d for d in with_resources(Dataset.objects.filter(id__in=ids))}
    return [by_id[i] for i in ids if i in by_id]


# Ties go to the newest dataset id (the first sort in search_datasets).
_SORT_KEYS = {
    "relevance": attrgetter("score"),
    "modified": attrgetter("order"),
    "title": attrgetter("order"),
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

    if query is not None:
        # A filter narrows the match in SQL, so common words stay cheap.
        within = _narrowed(Dataset.objects.all(), active) if active else None
        hits = _matching(query, sort, within)
    else:
        hits = _candidates(visible_datasets(user), active, sort)
    hits = _passing(_visible(hits, user), active)
    # Two stable sorts on plain attributes beat one sort on built tuples.
    hits.sort(key=attrgetter("id"), reverse=sort != "title")
    hits.sort(key=_SORT_KEYS[sort], reverse=sort != "title")
    return SearchResult(
        count=len(hits),
        datasets=_page([hit.id for hit in hits[offset : offset + page_size]]),
        facets=_facet_values(_count_keys(hit.keys for hit in hits)) if facets else {},
        page=page,
        page_size=page_size,
        sort=sort,
    )
