"""Machine-readable metadata in the dataset page's <head>: schema.org JSON-LD, RDF links."""

from __future__ import annotations

import json
from typing import Any

from django import template
from django.conf import settings
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe

from machi.catalog import dcat
from machi.catalog.models import Dataset
from machi.lib.i18n import english_requested

register = template.Library()

# Inside <script>, "</script>" or "<!--" would end or bend the block: escape <, > and &.
_SCRIPT_ESCAPES = {ord("<"): "\\u003C", ord(">"): "\\u003E", ord("&"): "\\u0026"}


def schema_org(dataset: Dataset) -> dict[str, Any]:
    """A schema.org Dataset for web search engines (as ckanext-dcat's schemaorg profile).

    Texts in the page's language. Reads prefetched tags and resources (with_resources).
    """
    absolute = dcat.absolute
    ward = (
        settings.MACHI_MUNICIPALITY_NAME_EN
        if english_requested()
        else settings.MACHI_MUNICIPALITY_NAME
    )
    site_name = settings.MACHI_SITE_NAME_EN if english_requested() else settings.MACHI_SITE_NAME
    distributions = []
    for resource in dataset.resources.all():
        version = resource.current
        if version is None:
            continue
        entry: dict[str, Any] = {
            "@type": "DataDownload",
            "name": resource.display_name,
            "contentUrl": absolute(resource.download_url()) if version.is_upload else version.url,
        }
        if version.media_type:
            entry["encodingFormat"] = version.media_type
        elif version.format:
            entry["encodingFormat"] = version.format
        if version.size is not None:
            entry["contentSize"] = f"{version.size} B"
        if version.sha256:
            entry["sha256"] = version.sha256
        entry["dateModified"] = version.created.isoformat()
        distributions.append(entry)
    data: dict[str, Any] = {
        "@context": "https://schema.org",
        "@type": "Dataset",
        "@id": str(dcat.dataset_uri(dataset)),
        "name": dataset.display_title,
        # Search engines want a description; the title stands in when there is none.
        "description": dataset.display_description or dataset.display_title,
        "url": absolute(dataset.get_absolute_url()),
        "identifier": str(dcat.dataset_uri(dataset)),
        "inLanguage": "en" if english_requested() and dataset.title_en else "ja",
        "keywords": [tag.name for tag in dataset.tags.all()],
        "isAccessibleForFree": True,
        "dateCreated": dataset.created.isoformat(),
        "dateModified": dataset.modified.isoformat(),
        "publisher": {
            "@type": "GovernmentOrganization",
            "name": dataset.department.display_name,
            "url": absolute(reverse("catalog:department", args=[dataset.department.slug])),
            "parentOrganization": {"@type": "GovernmentOrganization", "name": ward},
        },
        "includedInDataCatalog": {"@type": "DataCatalog", "name": site_name, "url": absolute("/")},
        "distribution": distributions,
    }
    if dataset.license.url:
        data["license"] = dcat.license_uri(dataset.license.url)
    if dataset.temporal_start or dataset.temporal_end:
        start = dataset.temporal_start.isoformat() if dataset.temporal_start else ".."
        end = dataset.temporal_end.isoformat() if dataset.temporal_end else ".."
        data["temporalCoverage"] = f"{start}/{end}"
    if dataset.spatial:
        data["spatialCoverage"] = {"@type": "Place", "name": dataset.spatial}
    if dataset.contact_email or dataset.contact_phone:
        data["creator"] = {
            "@type": "GovernmentOrganization",
            "name": dataset.department.display_name,
            "contactPoint": {
                "@type": "ContactPoint",
                "contactType": "customer support",
                **({"email": dataset.contact_email} if dataset.contact_email else {}),
                **({"telephone": dataset.contact_phone} if dataset.contact_phone else {}),
            },
        }
    return data


@register.simple_tag
def dataset_metadata(dataset: Dataset) -> SafeString:
    """<link rel=alternate> to the RDF of a public dataset, and its schema.org JSON-LD."""
    if not dataset.is_public:
        return mark_safe("")  # private data stays out of search engines and DCAT
    text = json.dumps(schema_org(dataset), ensure_ascii=False).translate(_SCRIPT_ESCAPES)
    links = format_html_join(
        "\n",
        '<link rel="alternate" type="{}" href="{}">',
        (
            (content_type, reverse("catalog:dcat_dataset", args=[dataset.name, fmt]))
            for content_type, fmt in (
                ("text/turtle", "ttl"),
                ("application/rdf+xml", "rdf"),
                ("application/ld+json", "jsonld"),
            )
        ),
    )
    # The JSON is escaped for a script block above; format_html would escape its quotes.
    script = mark_safe(f'<script type="application/ld+json">{text}</script>')  # noqa: S308
    return format_html("{}\n{}", links, script)


@register.filter
def lang_of(obj: Any, field: str) -> SafeString:
    """` lang="ja"` on an English page showing `field` in Japanese (Bilingual.fallback_lang)."""
    return format_html(' lang="{}"', "ja") if obj.fallback_lang(field) else mark_safe("")
