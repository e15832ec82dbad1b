"""Reads of the catalog worth naming: the search shared by the site, the API and CKAN.

A search reads only (score, id) of its matches from SQL. What the user may
see, the filters and the facet counts are operations on sets of dataset ids
held in memory per catalog version (catalog.search.FacetIndex): the match is
limited to the allowed ids before it is scored, and counting a facet value
is one intersection, however many hits there are. Browsing the whole public
catalog (no query, no filter) lists from SQL, with the index's facet counts.
"""

import heapq
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from itertools import compress, islice

from django.db import connection
from django.db.models import Count, Prefetch, Q, QuerySet

from machi.accounts.models import Department
from machi.accounts.permissions import User, department_ids, is_site_admin
from machi.catalog.models import Category, Dataset, License, Resource
from machi.catalog.search import (
    FACET_FIELDS,
    FacetIndex,
    backend,
    facet_index,
    facet_key,
    parse_query,
)
from machi.lib.search import Node, bitmap, flags

PAGE_SIZE = 20
FACET_LIMIT = 30
SORTS = {"relevance", "modified", "title", "created"}


@dataclass
class Filters:
    category: list[str] = field(default_factory=list)
    tag: list[str] = field(default_factory=list)
    department: list[str] = field(default_factory=list)
    format: list[str] = field(default_factory=list)
    license: list[str] = field(default_factory=list)
    # Solr's fq (the CKAN API) adds more: groups of (field, value) a match must have
    # one of each (tags:a AND tags:b), and values a match may not have (-tags:a).
    any_of: list[list[tuple[str, str]]] = field(default_factory=list)
    none_of: list[tuple[str, str]] = field(default_factory=list)

    def items(self) -> list[tuple[str, str]]:
        return [(name, value) for name in FACET_FIELDS for value in getattr(self, name)]

    def active(self) -> dict[str, set[str]]:
        return {name: set(values) for name in FACET_FIELDS if (values := getattr(self, name))}

    def groups(self) -> list[list[tuple[str, str]]]:
        """Every group of alternatives a match must have one of: a field's values, then any_of."""
        return [[(name, value) for value in values] for name, values in self.active().items()] + [
            list(group) for group in self.any_of
        ]


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
        # tables: rows loaded into the datastore (machi.datastore.Table), for its API URL.
        # A resource without a current version is a first publication still loading.
        Prefetch(
            "resources",
            queryset=Resource.objects.filter(current__isnull=False)
            .select_related("current")
            .annotate(tables_loaded=Count("tables")),
        ),
    )


def _visible(index: FacetIndex, user: User | None) -> int:
    """visible_datasets as a set of ids, as the search rows have it."""
    if user is not None and is_site_admin(user):
        return index.everything
    visible = index.public
    for department_id in department_ids(user) if user is not None else ():
        visible |= index.by_department.get(department_id, 0)
    return visible


def _either(index: FacetIndex, pairs: Iterable[tuple[str, str]]) -> int:
    either = 0
    for name, value in pairs:
        either |= index.by_key.get(facet_key(name, value), 0)
    return either


def _allowed(index: FacetIndex, filters: Filters, user: User | None) -> int:
    """What the user may see that has one value of every group and none excluded."""
    allowed = _visible(index, user)
    for group in filters.groups():
        allowed &= _either(index, group)
    return allowed & ~_either(index, filters.none_of)


# A match: (score, dataset id); sorted descending, the best score comes first
# and ties go to the newest dataset id.
Match = tuple[float, int]


def _matches(query: Node, allowed: bytes, scored: bool) -> list[Match]:
    match_sql, params = backend().match_sql(query, allowed, scored=scored)
    with connection.cursor() as cursor:
        cursor.execute(match_sql, params)
        return cursor.fetchall()


def _page_ids(
    index: FacetIndex, hits: int, matches: list[Match], sort: str, offset: int, limit: int
) -> list[int]:
    if sort == "relevance":
        return [dataset_id for _, dataset_id in heapq.nlargest(offset + limit, matches)[offset:]]
    # The catalog in this order, skipping what is not a hit: a page of common
    # hits is found after a few steps, the rarest after one pass in C.
    order = {"modified": index.newest_first, "title": index.by_title}.get(sort, range(index.size))
    in_hits = flags(hits, index.size)
    return list(islice(compress(order, map(in_hits.__getitem__, order)), offset, offset + limit))


def _labels() -> dict[str, dict[str, str]]:
    return {
        "category": {c.slug: c.display_name for c in Category.objects.all()},
        "department": {d.slug: d.display_name for d in Department.objects.all()},
        "license": {lic.slug: lic.display_title for lic in License.objects.all()},
    }


def _facet_values(counts: Mapping[str, int]) -> dict[str, list[FacetValue]]:
    labels = _labels()
    facets: dict[str, list[FacetValue]] = {name: [] for name in FACET_FIELDS}
    for key, count in sorted(counts.items(), key=lambda item: (-item[1], item[0])):
        name, _, value = key.partition("\t")
        if name in facets and len(facets[name]) < FACET_LIMIT:
            label = labels.get(name, {}).get(value, value)
            facets[name].append(FacetValue(value=value, label=label, count=count))
    return facets


def _facet_counts(index: FacetIndex, hits: int) -> dict[str, int]:
    counts = {key: (ids & hits).bit_count() for key, ids in index.by_key.items()}
    return {key: count for key, count in counts.items() if count}


def _page(ids: list[int]) -> list[Dataset]:
    by_id = {d.id: d for d in with_resources(Dataset.objects.filter(id__in=ids))}
    return [by_id[i] for i in ids if i in by_id]


def search_datasets(
    *,
    q: str = "",
    filters: Filters | None = None,
    sort: str = "",
    page: int = 1,
    page_size: int = PAGE_SIZE,
    user: User | None = None,
    facets: bool = True,
    within: Iterable[int] | None = None,
) -> SearchResult:
    """Datasets matching a Japanese or English query, with facet counts.

    `within`: dataset ids a search is limited to besides the filters (the CKAN
    API's `fq` ranges such as metadata_modified:[... TO *]).
    """
    filters = filters or Filters()
    narrowed = bool(filters.groups() or filters.none_of)
    query = parse_query(q) if q.strip() else None
    if sort not in SORTS or (sort == "relevance" and query is None):
        sort = "relevance" if query is not None else "modified"
    page = max(1, page)
    offset = (page - 1) * page_size
    anonymous = user is None or not user.is_authenticated

    if query is None and not narrowed and anonymous and within is None:
        public = Dataset.objects.filter(is_public=True)
        order = {"title": ["title", "id"], "created": ["id"]}.get(sort, ["-modified", "-id"])
        return SearchResult(
            count=public.count(),
            datasets=list(with_resources(public.order_by(*order))[offset : offset + page_size]),
            facets=_facet_values(facet_index().public_counts) if facets else {},
            page=page,
            page_size=page_size,
            sort=sort,
        )

    index = facet_index()
    allowed = _allowed(index, filters, user)
    if within is not None:
        allowed &= bitmap((i for i in within if i < index.size), index.size)
    matches: list[Match] = []
    if query is None:
        hits = allowed
    else:
        matches = _matches(query, flags(allowed, index.size), scored=sort == "relevance")
        hits = bitmap((dataset_id for _, dataset_id in matches), index.size)
    return SearchResult(
        count=hits.bit_count(),
        datasets=_page(_page_ids(index, hits, matches, sort, offset, page_size)),
        facets=_facet_values(_facet_counts(index, hits)) if facets else {},
        page=page,
        page_size=page_size,
        sort=sort,
    )
