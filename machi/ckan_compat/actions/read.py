"""CKAN's read actions over the catalog."""

from importlib.metadata import PackageNotFoundError, version
from typing import Any

from django.conf import settings
from django.db.models import Count
from django.utils.translation import gettext as _

from machi.accounts.models import Department
from machi.catalog.models import Category, Dataset, License, Tag
from machi.catalog.queries import search_datasets, visible_datasets, with_resources
from machi.ckan_compat import dicts
from machi.ckan_compat import search as search_params
from machi.ckan_compat.actions import Context, register
from machi.ckan_compat.actions.common import category, dataset, department, paging, resource
from machi.ckan_compat.errors import NotFound, ValidationFailed

# The CKAN release whose Action API this one follows (docs/ckan-compat.md).
CKAN_VERSION = "2.10.0"


def _machi_version() -> str:
    try:
        return version("machi")
    except PackageNotFoundError:  # a checkout that was never installed
        return ""


@register("status_show")
def status_show(ctx: Context, data: dict[str, Any]) -> dict[str, Any]:
    return {
        "site_title": settings.MACHI_SITE_NAME,
        "site_description": "",
        "site_url": settings.SITE_URL,
        "ckan_version": CKAN_VERSION,
        "error_emails_to": None,
        "locale_default": settings.LANGUAGE_CODE,
        "extensions": ["machi", "datastore"],
        "machi_version": _machi_version(),
    }


@register("site_read")
def site_read(ctx: Context, data: dict[str, Any]) -> bool:
    return True


@register("package_list")
def package_list(ctx: Context, data: dict[str, Any]) -> list[str]:
    """Names of public datasets, A to Z (CKAN leaves private ones out here)."""
    limit, offset = paging(data, None, 10**9)
    names = Dataset.objects.filter(is_public=True).order_by("name").values_list("name", flat=True)
    return list(names[offset : offset + limit])


@register("current_package_list_with_resources")
def current_package_list_with_resources(ctx: Context, data: dict[str, Any]) -> list[Any]:
    limit, offset = paging(data, None, 1000)
    public = with_resources(Dataset.objects.filter(is_public=True).order_by("-modified", "-id"))
    return dicts.packages(ctx.request, list(public[offset : offset + limit]))


@register("package_show")
def package_show(ctx: Context, data: dict[str, Any]) -> dict[str, Any]:
    found = dataset(ctx.user, data.get("id") or data.get("name"))
    return dicts.packages(ctx.request, [found])[0]


@register("resource_show")
def resource_show(ctx: Context, data: dict[str, Any]) -> dict[str, Any]:
    found = resource(ctx.user, data.get("id"))
    package_id = dicts.dataset_ids([found.dataset])[found.dataset_id]
    return dicts.resource(ctx.request, found, package_id)


def _within(params: search_params.SearchParams) -> list[int] | None:
    if params.within is None:
        return None
    return list(Dataset.objects.filter(params.within).values_list("pk", flat=True))


def run_search(ctx: Context, data: dict[str, Any]) -> dict[str, Any]:
    params = search_params.parse(data)
    user = ctx.user if params.include_private and ctx.user.is_authenticated else None
    within = _within(params)
    rows = max(params.rows, 1)

    def window(offset: int, first: Any = None) -> tuple[Any, list[Dataset]]:
        """Results [offset, offset + rows) in the catalog's order, from at most two pages.

        The catalog pages by page number, CKAN by offset: an offset between two page
        starts reads the two pages of `rows` around it.
        """
        page = offset // rows + 1
        pages = [first] if first is not None and page == 1 else []
        while len(pages) < (1 if offset % rows == 0 else 2):
            pages.append(
                search_datasets(
                    q=params.q,
                    filters=params.filters,
                    sort=params.sort,
                    page=page + len(pages),
                    page_size=rows,
                    user=user,
                    facets=bool(params.facet_fields) and page + len(pages) == 1,
                    within=within,
                )
            )
        found = [d for result in pages for d in result.datasets]
        skip = offset - (page - 1) * rows
        return pages[0], found[skip : skip + rows]

    top, results = window(0 if params.reverse else params.start)
    if params.reverse:
        # Ascending order: the mirror of the descending one, read from its end.
        end = max(0, top.count - params.start)
        first = max(0, end - rows)
        _, mirrored = window(first, top if first < rows else None)
        results = list(reversed(mirrored[: end - first]))
    results = results[: params.rows]
    found = top if not params.facet_fields or top.page == 1 else None
    if found is None:  # the facet counts come with the first page
        found = search_datasets(
            q=params.q,
            filters=params.filters,
            sort=params.sort,
            page=1,
            page_size=1,
            user=user,
            within=within,
        )
    facets: dict[str, dict[str, int]] = {}
    search_facets: dict[str, Any] = {}
    for name in params.facet_fields:
        values = found.facets.get(search_params.FACETS[name], [])[: params.facet_limit]
        # Tags go by the name a CKAN stores (子育て-教育), shown as written.
        named = dicts.ckan_tag_name if name == "tags" else str
        facets[name] = {named(v.value): v.count for v in values}
        search_facets[name] = {
            "items": [
                {"count": v.count, "display_name": v.label, "name": named(v.value)} for v in values
            ],
            "title": name,
        }
    return {
        "count": found.count,
        "facets": facets,
        "results": dicts.packages(ctx.request, results),
        "sort": params.sort_text,
        "search_facets": search_facets,
    }


@register("package_search")
def package_search(ctx: Context, data: dict[str, Any]) -> dict[str, Any]:
    return run_search(ctx, data)


def _public_counts(field: str) -> dict[int, int]:
    rows = (
        Dataset.objects.filter(is_public=True)
        .values(field)
        .annotate(n=Count("pk"))
        .values_list(field, "n")
    )
    return {key: n for key, n in rows if key is not None}


def _names_or_dicts(
    data: dict[str, Any], objects: list[Any], as_dict: Any, counts: dict[int, int]
) -> list[Any]:
    wanted = data.get("organizations") or data.get("groups")
    if isinstance(wanted, str):
        wanted = [w for w in wanted.replace(",", " ").split() if w]
    if wanted:
        objects = [o for o in objects if o.slug in wanted]
    sort = str(data.get("sort") or "name asc").strip().lower()
    if sort.startswith(("title", "display_name")):
        objects.sort(key=lambda o: o.name, reverse=sort.endswith("desc"))
    elif sort.startswith("package_count"):
        objects.sort(key=lambda o: counts.get(o.pk, 0), reverse=not sort.endswith("asc"))
    else:
        objects.sort(key=lambda o: o.slug, reverse=sort.endswith("desc"))
    limit, offset = paging(data, 1000, 1000)
    objects = objects[offset : offset + limit]
    if search_params.boolean(data.get("all_fields", False)):
        return [as_dict(o, package_count=counts.get(o.pk, 0)) for o in objects]
    return [o.slug for o in objects]


@register("organization_list")
def organization_list(ctx: Context, data: dict[str, Any]) -> list[Any]:
    return _names_or_dicts(
        data, list(Department.objects.all()), dicts.organization, _public_counts("department")
    )


@register("group_list")
def group_list(ctx: Context, data: dict[str, Any]) -> list[Any]:
    return _names_or_dicts(
        data, list(Category.objects.all()), dicts.group, _public_counts("categories")
    )


def _with_packages(
    ctx: Context, data: dict[str, Any], result: dict[str, Any], fq: str
) -> dict[str, Any]:
    if search_params.boolean(data.get("include_datasets", False)):
        found = run_search(ctx, {"fq": fq, "rows": 1000, "include_private": True})
        result["packages"] = found["results"]
    result.setdefault("users", [])
    result.setdefault("extras", [])
    result.setdefault("tags", [])
    result.setdefault("groups", [])
    return result


@register("organization_show")
def organization_show(ctx: Context, data: dict[str, Any]) -> dict[str, Any]:
    found = department(data.get("id") or data.get("name"))
    visible = visible_datasets(ctx.user)
    result = dicts.organization(found, package_count=visible.filter(department=found).count())
    return _with_packages(ctx, data, result, f'organization:"{found.slug}"')


@register("group_show")
def group_show(ctx: Context, data: dict[str, Any]) -> dict[str, Any]:
    found = category(data.get("id") or data.get("name"))
    visible = visible_datasets(ctx.user)
    result = dicts.group(found, package_count=visible.filter(categories=found).count())
    return _with_packages(ctx, data, result, f'groups:"{found.slug}"')


@register("tag_list")
def tag_list(ctx: Context, data: dict[str, Any]) -> list[Any]:
    tags = Tag.objects.filter(datasets__is_public=True).distinct().order_by("name")
    query = str(data.get("query") or data.get("q") or "").strip()
    if query:
        tags = tags.filter(name__icontains=query)
    names = list(tags.values_list("name", flat=True))
    if search_params.boolean(data.get("all_fields", False)):
        return [dicts.tag(name) for name in names]
    return list(dict.fromkeys(dicts.ckan_tag_name(name) for name in names))


@register("tag_show")
def tag_show(ctx: Context, data: dict[str, Any]) -> dict[str, Any]:
    ident = str(data.get("id") or "").strip()
    if not ident:
        raise ValidationFailed(_("id: missing value"), fields={"id": [_("Missing value")]})
    tag = Tag.objects.filter(name__in=dicts.tag_names(ident)).first()
    if tag is None:
        tag = next((t for t in Tag.objects.all() if dicts.derived_id("tag", t.name) == ident), None)
    if tag is None:
        raise NotFound(_("Tag not found: %(id)s") % {"id": ident})
    result = dicts.tag(tag.name)
    if search_params.boolean(data.get("include_datasets", False)):
        public = with_resources(visible_datasets(ctx.user).filter(tags=tag).order_by("name"))
        result["packages"] = dicts.packages(ctx.request, list(public[:1000]))
    return result


@register("license_list")
def license_list(ctx: Context, data: dict[str, Any]) -> list[Any]:
    return [dicts.license_(lic) for lic in License.objects.all()]


@register("help_show")
def help_show(ctx: Context, data: dict[str, Any]) -> str:
    """The documentation of an action (the `help` link of every answer points here)."""
    from machi.ckan_compat.actions import ACTIONS

    name = str(data.get("name") or "")
    spec = ACTIONS.get(name)
    if spec is None:
        raise NotFound(_("Action name not known: %(name)s") % {"name": name})
    doc = " ".join((spec.function.__doc__ or "").split())
    return f"{name}: {doc} (machi: docs/ckan-compat.md)".replace(":  (", ": (")
