"""Reads of the catalog worth naming: the search shared by the site, the API and CKAN.

A search reads its hits once, as plain rows: the full-text match (narrowed in
SQL by the filters and by what the user may see) joined to each hit's narrow
DatasetFacets row. Counting facets and sorting then happen on those rows in
Python at C speed, so a query costs one index lookup however many facets it
shows. Browsing the whole public catalog (no query, no filter) is answered
from SQL, with its facet counts cached per catalog version.
"""

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from operator import itemgetter
from typing import Any

from django.core.cache import cache
from django.db import connection
from django.db.models import Prefetch, Q, QuerySet

from machi.accounts.models import Department
from machi.accounts.permissions import User, department_ids, is_site_admin
from machi.catalog.models import Category, Dataset, DatasetFacets, License, Resource
from machi.catalog.search import (
    FACET_FIELDS,
    backend,
    current_version,
    facet_key,
    parse_query,
)
from machi.lib.search import SQL, Node

PAGE_SIZE = 20
FACET_LIMIT = 30
SORTS = {"relevance", "modified", "title"}
CATALOG_SIZE = "\x00size"  # kept among the cached facet counts


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


# A hit row: (dataset id, score, DatasetFacets.keys, the column it is sorted on).
Row = tuple[int, float, str, Any]
# Sorted as text: ISO timestamps order correctly, and the driver skips
# turning thousands of them into datetimes.
_SORT_COLUMNS = {
    "relevance": "f.dataset_id",
    "modified": "CAST(f.modified AS TEXT)",
    "title": "f.title",
}


# A filter that keeps more of the catalog than this is cheaper to check on
# the matched rows than to intersect in SQL (a query rarely matches more).
PUSHDOWN_SHARE = 0.2


def _pushed_down(filters: dict[str, set[str]], text_query: bool) -> str | None:
    """The filter field to apply in SQL: the most selective, if selective enough."""
    if not filters:
        return None
    counts = _public_catalog_facets()
    kept = {
        name: sum(counts[facet_key(name, v)] for v in values) for name, values in filters.items()
    }
    name = min(kept, key=kept.__getitem__)
    if text_query and kept[name] > PUSHDOWN_SHARE * counts[CATALOG_SIZE]:
        return None
    return name


def _filtered_ids(name: str, values: set[str]) -> SQL:
    """SQL selecting the datasets with any of these values in one facet field."""
    # Straight from the link tables: joining catalog_dataset would only slow it.
    ids: QuerySet[Any] = {
        "category": lambda: Dataset.categories.through.objects.filter(
            category__slug__in=values
        ).values("dataset_id"),
        "tag": lambda: Dataset.tags.through.objects.filter(tag__name__in=values).values(
            "dataset_id"
        ),
        "department": lambda: Dataset.objects.filter(department__slug__in=values).values("id"),
        "format": lambda: Resource.objects.filter(current__format__in=values).values("dataset_id"),
        "license": lambda: Dataset.objects.filter(license__slug__in=values).values("id"),
    }[name]()
    sql, params = ids.query.sql_with_params()
    return sql, list(params)


def _passing(rows: list[Row], filters: dict[str, set[str]]) -> list[Row]:
    """Rows whose facet keys satisfy every filter (a field's values are alternatives)."""
    for name, values in filters.items():
        needles = [f"\n{facet_key(name, value)}\n" for value in values]
        if len(needles) == 1:
            needle = needles[0]
            rows = [row for row in rows if needle in row[2]]
        else:
            rows = [row for row in rows if any(n in row[2] for n in needles)]
    return rows


def _visibility(user: User | None) -> SQL:
    """SQL condition on DatasetFacets (as f) for what the user may see."""
    if user is not None and is_site_admin(user):
        return "1 = 1", []
    departments = sorted(department_ids(user)) if user is not None else []
    if not departments:
        return "f.is_public", []
    marks = ", ".join(["%s"] * len(departments))
    return f"(f.is_public OR f.department_id IN ({marks}))", list(departments)


def _hits(
    query: Node | None, filters: dict[str, set[str]], user: User | None, sort: str
) -> list[Row]:
    """Every dataset the user may see that matches the query and passes the filters."""
    # The most selective filter narrows the SQL; the others are checked on the
    # rows' facet keys, which is cheaper than intersecting id sets in SQL.
    rest = dict(filters)
    within = None
    name = _pushed_down(filters, text_query=query is not None)
    if name is not None:
        within = _filtered_ids(name, rest.pop(name))
    visible, params = _visibility(user)
    order = _SORT_COLUMNS[sort]
    if query is not None:
        match_sql, match_params = backend().match_sql(query, within)
        sql = (
            f"SELECT f.dataset_id, m.score, f.keys, {order} FROM ({match_sql}) m "
            f"JOIN catalog_datasetfacets f ON f.dataset_id = m.id WHERE {visible}"
        )
        params = [*match_params, *params]
    else:
        sql = f"SELECT f.dataset_id, 0.0, f.keys, {order} FROM catalog_datasetfacets f "
        sql += f"WHERE {visible}"
        if within is not None:
            sql += f" AND f.dataset_id IN ({within[0]})"
            params = [*params, *within[1]]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return _passing(cursor.fetchall(), rest)


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
    counts = Counter("".join(texts).split("\n"))
    counts.pop("", None)
    return counts


def _public_catalog_facets() -> Counter[str]:
    """Facet counts of the whole public catalog, cached until any dataset changes."""
    key = f"catalog-facets:{current_version()}"
    counts = cache.get(key)
    if counts is None:
        rows = DatasetFacets.objects.filter(is_public=True).values_list("keys", flat=True)
        counts = _count_keys(rows.iterator(chunk_size=5000))
        # The public catalog's size, beside the facet counts it is compared with.
        counts[CATALOG_SIZE] = DatasetFacets.objects.filter(is_public=True).count()
        cache.set(key, counts, timeout=3600)
    return counts


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

    rows = _hits(query, active, user, sort)
    # Two stable sorts on one column each: ties go to the newest dataset id
    # (the oldest for titles, which read A to Z).
    newest_first = sort != "title"
    rows.sort(key=itemgetter(0), reverse=newest_first)
    rows.sort(key=itemgetter(1 if sort == "relevance" else 3), reverse=newest_first)
    return SearchResult(
        count=len(rows),
        datasets=_page([row[0] for row in rows[offset : offset + page_size]]),
        facets=_facet_values(_count_keys(row[2] for row in rows)) if facets else {},
        page=page,
        page_size=page_size,
        sort=sort,
    )
