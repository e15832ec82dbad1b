"""Public catalog pages: thin views over queries and services."""

import csv
import io

from django.db.models import Count, Q
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.utils.http import urlencode
from django.views.decorators.http import require_safe

from machi.accounts.models import Department
from machi.catalog import dcat_views, history, permissions
from machi.catalog.models import Category, Dataset, News, Resource, ResourceVersion, Showcase, Tag
from machi.catalog.queries import (
    FACET_FIELDS,
    Filters,
    SearchResult,
    search_datasets,
    visible_datasets,
    with_resources,
)
from machi.datastore import views as datastore_views
from machi.lib import files
from machi.publish.quality import quality_context
from machi.publish.standards import standard_title

PREVIEW_ROWS = 20


def _page_number(request: HttpRequest) -> int:
    try:
        return max(1, int(request.GET.get("page", "1")))
    except ValueError:
        return 1


def _past_the_end(request: HttpRequest, result: SearchResult) -> HttpResponse | None:
    """A page number past the last page (an old link, fewer datasets now) goes to the last
    page: it said 「72 件」 over 「該当するデータセットはありません」 and 「5 / 4 ページ」."""
    if result.page <= result.pages:
        return None
    params = request.GET.copy()
    params["page"] = str(result.pages)
    return HttpResponseRedirect(f"{request.path}?{params.urlencode()}")


def _filters(request: HttpRequest) -> Filters:
    return Filters(**{name: request.GET.getlist(name) for name in FACET_FIELDS})


@require_safe
def home(request: HttpRequest) -> HttpResponse:
    datasets = visible_datasets(request.user)
    categories = Category.objects.annotate(
        n=Count("datasets", filter=Q(datasets__in=datasets.values("id")))
    )
    return render(
        request,
        "catalog/home.html",
        {
            "categories": categories,
            "recent": with_resources(datasets.order_by("-modified"))[:6],
            "news": News.objects.filter(is_public=True).select_related("dataset")[:6],
            "dataset_count": datasets.count(),
            "showcases": Showcase.objects.filter(is_public=True)[:3],
        },
    )


@require_safe
def search(request: HttpRequest) -> HttpResponse:
    q = request.GET.get("q", "").strip()[:200]
    filters = _filters(request)
    result = search_datasets(
        q=q,
        filters=filters,
        sort=request.GET.get("sort", ""),
        page=_page_number(request),
        user=request.user,
    )
    if past := _past_the_end(request, result):
        return past
    active = set(filters.items())
    base = [
        (key, value) for key, values in request.GET.lists() if key != "page" for value in values
    ]
    facets = []
    for name, values in result.facets.items():
        items = []
        for value in values:
            selected = (name, value.value) in active
            params = (
                [(k, v) for k, v in base if (k, v) != (name, value.value)]
                if selected
                else [*base, (name, value.value)]
            )
            items.append({"value": value, "selected": selected, "url": "?" + urlencode(params)})
        facets.append((name, items))
    return render(
        request,
        "catalog/search.html",
        {
            "q": q,
            "result": result,
            "facets": facets,
            "active_filters": [
                {
                    "name": name,
                    "value": value,
                    "remove_url": "?"
                    + urlencode([(k, v) for k, v in base if (k, v) != (name, value)]),
                }
                for name, value in filters.items()
            ],
            "query_without_page": urlencode([(k, v) for k, v in base if k != "page"]),
            "sort_options": ["relevance", "modified", "title"],
        },
    )


def _visible_dataset(request: HttpRequest, name: str) -> Dataset:
    dataset = get_object_or_404(with_resources(Dataset.objects.all()), name=name)
    if not permissions.can_view_dataset(request.user, dataset):
        raise Http404
    return dataset


@require_safe
@dcat_views.negotiates_rdf  # Accept: text/turtle etc. get the RDF
def dataset_detail(request: HttpRequest, name: str) -> HttpResponse:
    dataset = _visible_dataset(request, name)
    return render(
        request,
        "catalog/dataset.html",
        {
            "dataset": dataset,
            "resources": dataset.resources.all(),
            "history": history.dataset_history(dataset),
            # A harvested dataset changes only at its source (services refuse local edits).
            "can_edit": permissions.can_edit_dataset(request.user, dataset)
            and not dataset.is_harvested,
            "showcases": dataset.showcases.filter(is_public=True),
            "standard_title": standard_title(dataset.standard),
            **quality_context(dataset),
        },
    )


def _resource(request: HttpRequest, name: str, uid: str) -> Resource:
    dataset = _visible_dataset(request, name)
    return get_object_or_404(
        Resource.objects.select_related("current", "dataset"), dataset=dataset, uid=uid
    )


def _preview(version: ResourceVersion | None) -> tuple[list[str], list[list[str]]] | None:
    """First rows of a CSV upload, decoded with the encoding found at upload."""
    if version is None or not version.file or version.format not in {"CSV", "TSV"}:
        return None
    codec = files.codec_for(version.encoding)
    with version.file.open("rb") as raw:
        text = io.TextIOWrapper(raw, encoding=codec, errors="replace", newline="")
        reader = csv.reader(text, delimiter="\t" if version.format == "TSV" else ",")
        rows = [row for _, row in zip(range(PREVIEW_ROWS + 1), reader, strict=False)]
    if not rows:
        return None
    return rows[0], rows[1:]


@require_safe
def resource_detail(request: HttpRequest, name: str, uid: str) -> HttpResponse:
    resource = _resource(request, name, uid)
    # Tabular resources loaded into the datastore get its table view instead
    # of the file preview (the view layer is where the two apps meet).
    redirect = datastore_views.canonical_redirect(request)
    if redirect is not None:
        return redirect
    table = datastore_views.table_panel(request, resource)
    return render(
        request,
        "catalog/resource.html",
        {
            "dataset": resource.dataset,
            "resource": resource,
            "versions": resource.versions.all(),
            "table": table,
            "preview": None if table else _preview(resource.current),
        },
    )


def _serve(version: ResourceVersion) -> HttpResponse:
    if not version.file:
        return HttpResponseRedirect(version.url)
    response = FileResponse(
        version.file.open("rb"),
        as_attachment=True,
        filename=version.filename or version.file.name.rsplit("/", 1)[-1],
    )
    if version.media_type.startswith("text/") and version.encoding.startswith("UTF-8"):
        response.headers["Content-Type"] = f"{version.media_type}; charset=utf-8"
    if version.sha256:
        response.headers["ETag"] = f'"{version.sha256}"'
    return response


@require_safe
def download(request: HttpRequest, name: str, uid: str) -> HttpResponse:
    resource = _resource(request, name, uid)
    if resource.current is None:
        raise Http404
    return _serve(resource.current)


@require_safe
def download_version(request: HttpRequest, name: str, uid: str, number: int) -> HttpResponse:
    resource = _resource(request, name, uid)
    return _serve(get_object_or_404(ResourceVersion, resource=resource, number=number))


def _listing(
    request: HttpRequest, template: str, filters: Filters, **context: object
) -> HttpResponse:
    result = search_datasets(
        filters=filters,
        sort=request.GET.get("sort", "modified"),
        page=_page_number(request),
        user=request.user,
        facets=False,
    )
    if past := _past_the_end(request, result):
        return past
    return render(request, template, {"result": result, **context})


@require_safe
def department_list(request: HttpRequest) -> HttpResponse:
    visible = visible_datasets(request.user).values("id")
    departments = Department.objects.annotate(
        n=Count("datasets", filter=Q(datasets__in=visible))
    ).order_by("slug")
    return render(request, "catalog/department_list.html", {"departments": departments})


@require_safe
def department_detail(request: HttpRequest, slug: str) -> HttpResponse:
    department = get_object_or_404(Department, slug=slug)
    return _listing(
        request, "catalog/department.html", Filters(department=[slug]), department=department
    )


@require_safe
def category_list(request: HttpRequest) -> HttpResponse:
    visible = visible_datasets(request.user).values("id")
    categories = Category.objects.annotate(n=Count("datasets", filter=Q(datasets__in=visible)))
    return render(request, "catalog/category_list.html", {"categories": categories})


@require_safe
def category_detail(request: HttpRequest, slug: str) -> HttpResponse:
    category = get_object_or_404(Category, slug=slug)
    return _listing(request, "catalog/category.html", Filters(category=[slug]), category=category)


@require_safe
def tag_detail(request: HttpRequest, name: str) -> HttpResponse:
    tag = get_object_or_404(Tag, name=name)
    return _listing(request, "catalog/tag.html", Filters(tag=[tag.name]), tag=tag)


@require_safe
def news_list(request: HttpRequest) -> HttpResponse:
    items = News.objects.filter(is_public=True).select_related("dataset", "department")
    kind = request.GET.get("kind")
    if kind in News.Kind.values:
        items = items.filter(kind=kind)
    return render(request, "catalog/news_list.html", {"items": items[:100], "kind": kind})


@require_safe
def news_detail(request: HttpRequest, pk: int) -> HttpResponse:
    item = get_object_or_404(News.objects.select_related("dataset"), pk=pk, is_public=True)
    return render(request, "catalog/news_detail.html", {"item": item})


@require_safe
def showcase_list(request: HttpRequest) -> HttpResponse:
    showcases = Showcase.objects.filter(is_public=True).prefetch_related("datasets")
    return render(request, "catalog/showcase_list.html", {"showcases": showcases})


@require_safe
def showcase_detail(request: HttpRequest, name: str) -> HttpResponse:
    showcase = get_object_or_404(Showcase, name=name, is_public=True)
    datasets = showcase.datasets.filter(id__in=visible_datasets(request.user).values("id"))
    return render(request, "catalog/showcase.html", {"showcase": showcase, "datasets": datasets})
