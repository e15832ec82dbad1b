"""Reads of the catalog worth naming: the search shared by the site, the API and CKAN."""

from dataclasses import dataclass, field

from django.db import connection
from django.db.models import Count, Prefetch, Q, QuerySet
from django.db.models.expressions import RawSQL

from machi.accounts.permissions import User, department_ids, is_site_admin
from machi.catalog.models import Dataset, Resource
from machi.catalog.search import backend, parse_query
from machi.lib.search import Node

PAGE_SIZE = 20
FACET_LIMIT = 30
SORTS = {"relevance", "modified", "title"}
FACET_FIELDS = ("category", "tag", "department", "format", "license")


@dataclass
class Filters:
    category: list[str] = field(default_factory=list)
    tag: list[str] = field(default_factory=list)
    department: list[str] = field(default_factory=list)
    format: list[str] = field(default_factory=list)
    license: list[str] = field(default_factory=list)

    def items(self) -> list[tuple[str, str]]:
        return [(name, value) for name in FACET_FIELDS for value in getattr(self, name)]


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


def _filtered(datasets: QuerySet[Dataset], filters: Filters) -> QuerySet[Dataset]:
    # Values of one field are alternatives; different fields narrow the result.
    lookups = {
        "category": "categories__slug",
        "tag": "tags__name",
        "department": "department__slug",
        "format": "resources__current__format",
        "license": "license__slug",
    }
    for name, lookup in lookups.items():
        values = getattr(filters, name)
        if values:
            datasets = datasets.filter(
                id__in=Dataset.objects.filter(**{f"{lookup}__in": values}).values("id")
            )
    return datasets


def _facets(datasets: QuerySet[Dataset]) -> dict[str, list[FacetValue]]:
    ids = datasets.values("id")
    specs = {
        "category": ("categories__slug", "categories__name"),
        "tag": ("tags__name", "tags__name"),
        "department": ("department__slug", "department__name"),
        "format": ("resources__current__format", "resources__current__format"),
        "license": ("license__slug", "license__title"),
    }
    facets: dict[str, list[FacetValue]] = {}
    for name, (value_field, label_field) in specs.items():
        rows = (
            Dataset.objects.filter(id__in=ids)
            .exclude(**{f"{value_field}__isnull": True})
            .exclude(**{value_field: ""})
            .values(value_field, label_field)
            .annotate(n=Count("id", distinct=True))
            .order_by("-n", value_field)[:FACET_LIMIT]
        )
        facets[name] = [
            FacetValue(value=row[value_field], label=row[label_field], count=row["n"])
            for row in rows
        ]
    return facets


def _ranked_ids(datasets: QuerySet[Dataset], query: Node, offset: int, limit: int) -> list[int]:
    match_sql, match_params = backend().match_sql(query)
    candidates_sql, candidate_params = datasets.values("id").query.sql_with_params()
    sql = (
        f"SELECT m.id FROM ({match_sql}) m WHERE m.id IN ({candidates_sql}) "
        f"ORDER BY m.score DESC, m.id DESC LIMIT %s OFFSET %s"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [*match_params, *candidate_params, limit, offset])
        return [row[0] for row in cursor.fetchall()]


def with_resources(datasets: QuerySet[Dataset]) -> QuerySet[Dataset]:
    return datasets.select_related("department", "license").prefetch_related(
        "tags",
        "categories",
        Prefetch("resources", queryset=Resource.objects.select_related("current")),
    )


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
    filters = filters or Filters()
    query = parse_query(q) if q.strip() else None
    datasets = _filtered(visible_datasets(user), filters)
    if query is not None:
        ids_sql, ids_params = backend().ids_sql(query)
        datasets = datasets.filter(id__in=RawSQL(ids_sql, ids_params))
    if sort not in SORTS:
        sort = "relevance" if query is not None else "modified"
    page = max(1, page)
    offset = (page - 1) * page_size
    count = datasets.count()
    if sort == "relevance" and query is not None:
        ids = _ranked_ids(datasets, query, offset, page_size)
        by_id = {d.id: d for d in with_resources(Dataset.objects.filter(id__in=ids))}
        page_items = [by_id[i] for i in ids if i in by_id]
    else:
        order = ["title", "id"] if sort == "title" else ["-modified", "-id"]
        page_items = list(with_resources(datasets.order_by(*order))[offset : offset + page_size])
    return SearchResult(
        count=count,
        datasets=page_items,
        facets=_facets(datasets) if facets else {},
        page=page,
        page_size=page_size,
        sort=sort,
    )
