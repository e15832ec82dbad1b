"""Reading a CKAN site (or another machi) through the Action API's package_search."""

from __future__ import annotations

import datetime
import json
import urllib.parse
from collections.abc import Iterator
from typing import Any

from django.utils.translation import gettext as _

from machi.catalog.harvest_clients import (
    MAX_PAGES,
    Page,
    RecordError,
    RecordProblem,
    RemoteDataset,
    RemoteResource,
    SourceError,
    clean,
    fetch,
    parse_time,
    sha256_of,
    size_of,
    wished_name,
)

CKAN_PAGE_SIZE = 100
# Dataset fields machi's CKAN API sends as extras, which a harvesting machi keeps.
MACHI_EXTRAS = (
    "update_frequency",
    "temporal_start",
    "temporal_end",
    "spatial",
    "contact_phone",
    "standard",
)


class CkanClient:
    """Pages of `package_search`, as ckanext-harvest's CKAN harvester reads them."""

    def __init__(self, url: str) -> None:
        base = url.rstrip("/")
        for suffix in ("/api/3/action", "/api/action"):
            if base.endswith(suffix):
                base = base[: -len(suffix)]
        self.site_url = base
        self.action_url = f"{base}/api/3/action/"

    def _call(self, action: str, params: dict[str, Any]) -> Any:
        url = self.action_url + action + "?" + urllib.parse.urlencode(params)
        body, _type = fetch(url, accept="application/json")
        try:
            envelope = json.loads(body)
        except ValueError as error:
            raise SourceError(
                _("%(url)s did not answer with JSON; is this a CKAN site?") % {"url": url}
            ) from error
        if not isinstance(envelope, dict) or "success" not in envelope:
            raise SourceError(_("%(url)s did not answer like a CKAN Action API.") % {"url": url})
        if not envelope["success"]:
            error = envelope.get("error") or {}
            raise SourceError(
                _("%(url)s refused the request: %(error)s")
                % {"url": url, "error": error.get("message") or error.get("__type") or error}
            )
        return envelope.get("result")

    def pages(self, since: datetime.datetime | None) -> Iterator[Page]:
        """Every public dataset (modified since `since`, when given), a page at a time."""
        # Oldest change first: a record changed during the run moves to the end and is
        # read again rather than lost; one that shifts a page is caught by the next run.
        params: dict[str, Any] = {
            "q": "*:*",
            "rows": CKAN_PAGE_SIZE,
            "sort": "metadata_modified asc",
        }
        if since is not None:
            stamp = since.astimezone(datetime.UTC).replace(tzinfo=None).isoformat()
            params["fq"] = f"metadata_modified:[{stamp}Z TO *]"
        start = 0
        for _page in range(MAX_PAGES):
            result = self._call("package_search", {**params, "start": start})
            results = result.get("results") if isinstance(result, dict) else None
            if not isinstance(results, list):
                raise SourceError(
                    _("package_search of %(url)s has no list of results.") % {"url": self.site_url}
                )
            if not results:
                return
            yield self._page(results)
            start += len(results)
        raise SourceError(_("%(url)s kept sending pages.") % {"url": self.site_url})

    def _page(self, results: list[Any]) -> Page:
        records: list[RemoteDataset | RecordProblem] = []
        newest = None
        for raw in results:
            if isinstance(raw, dict) and (
                raw.get("private") or raw.get("state", "active") != "active"
            ):
                continue  # not public at the source: to us it is missing
            try:
                record = self.dataset(raw)
            except RecordError as error:
                raw_dict = raw if isinstance(raw, dict) else {}
                records.append(
                    RecordProblem(
                        remote_id=clean(raw_dict.get("id")),
                        title=clean(raw_dict.get("title")),
                        message=str(error),
                        raw=raw,
                    )
                )
                continue
            records.append(record)
            if record.modified and (newest is None or record.modified > newest):
                newest = record.modified
        return Page(records=records, newest=newest)

    def dataset(self, raw: Any) -> RemoteDataset:
        """One CKAN package dict (package_show or a package_search result) in our terms."""
        if not isinstance(raw, dict):
            raise RecordError(_("The record is not a JSON object."))
        remote_id = clean(raw.get("id")) or clean(raw.get("name"))
        if not remote_id:
            raise RecordError(_("The record has neither an id nor a name."))
        name = clean(raw.get("name"))
        title = clean(raw.get("title")) or name
        if not title:
            raise RecordError(_("The record has no title."))
        extras = {
            clean(item.get("key")): item.get("value")
            for item in raw.get("extras") or []
            if isinstance(item, dict)
        }
        translated_title = raw.get("title_translated") or {}
        translated_notes = raw.get("notes_translated") or {}
        organization = raw.get("organization") or {}
        contact_name, contact_email = _person(raw.get("maintainer"))
        if not contact_name:
            contact_name, contact_email = _person(raw.get("author"))
        groups = [
            clean(group.get("name"))
            for group in raw.get("groups") or []
            if isinstance(group, dict) and clean(group.get("name"))
        ]
        return RemoteDataset(
            remote_id=remote_id,
            name=wished_name(name, remote_id),
            title=clean(translated_title.get("ja")) or title,
            title_en=clean(translated_title.get("en"))
            or clean(raw.get("title_en"))
            or clean(extras.get("title_en")),
            description=clean(translated_notes.get("ja")) or clean(raw.get("notes")),
            description_en=clean(translated_notes.get("en"))
            or clean(raw.get("notes_en"))
            or clean(extras.get("notes_en"))
            or clean(extras.get("description_en")),
            details={k: clean(extras.get(k)) for k in MACHI_EXTRAS if clean(extras.get(k))},
            tags=[
                clean(tag.get("display_name")) or clean(tag.get("name"))
                for tag in raw.get("tags") or []
                if isinstance(tag, dict)
            ],
            groups=groups,
            license_id=clean(raw.get("license_id")),
            license_title=clean(raw.get("license_title")),
            license_url=clean(raw.get("license_url")),
            license_open=raw.get("isopen") if isinstance(raw.get("isopen"), bool) else None,
            publisher=clean(organization.get("title")) if isinstance(organization, dict) else "",
            contact_name=contact_name,
            contact_email=clean(raw.get("maintainer_email"))
            or clean(raw.get("author_email"))
            or contact_email,
            modified=parse_time(raw.get("metadata_modified")),
            remote_url=f"{self.site_url}/dataset/{urllib.parse.quote(name or remote_id)}",
            resources=[
                self._resource(item, position)
                for position, item in enumerate(raw.get("resources") or [])
                if isinstance(item, dict) and clean(item.get("url"))
            ],
            raw=raw,
        )

    def _resource(self, raw: dict[str, Any], position: int) -> RemoteResource:
        url = clean(raw.get("url"))
        return RemoteResource(
            remote_id=clean(raw.get("id")) or url,
            name=clean(raw.get("name")) or url.rsplit("/", 1)[-1] or f"#{position + 1}",
            url=url,
            description=clean(raw.get("description")),
            format=clean(raw.get("format")).upper()[:40],
            media_type=clean(raw.get("mimetype"))[:100],
            size=size_of(raw.get("size")),
            sha256=sha256_of(raw.get("hash")),
        )


def _person(value: Any) -> tuple[str, str]:
    """Name and e-mail of CKAN's `maintainer`/`author`: text, or (ckanext-scheming) JSON."""
    text = clean(value)
    if not text.startswith(("{", "[")):
        return text, ""
    try:
        data = json.loads(text)
    except ValueError:
        return text, ""
    if isinstance(data, list):
        data = data[0] if data and isinstance(data[0], dict) else {}
    if not isinstance(data, dict):
        return "", ""
    name = " ".join(
        part for part in (clean(data.get("given_name")), clean(data.get("name"))) if part
    )
    return name, clean(data.get("email"))
