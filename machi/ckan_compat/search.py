"""package_search's parameters (q, fq, sort, rows, start, facet.*) as a catalog search.

The search itself is machi.catalog.queries.search_datasets, the one the site uses
(Japanese analysis, synonyms, permissions). Here only Solr's syntax is read:
`fq` terms become the search's filters, and ranges or ids it has no filter for
become the set of datasets the search is limited to.
"""

import datetime
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import reduce
from operator import or_
from typing import Any

from django.db.models import Q
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.translation import gettext as _

from machi.accounts.models import Department
from machi.catalog.queries import Filters
from machi.ckan_compat import dicts
from machi.ckan_compat.dicts import derived_id
from machi.ckan_compat.errors import SearchQueryError
from machi.ckan_compat.models import DatasetIdentity

DEFAULT_ROWS = 10
MAX_ROWS = 1000  # CKAN's ckan.search.rows_max
DEFAULT_FACET_LIMIT = 50

# CKAN facet names and the catalog filter that answers each.
FACETS = {
    "organization": "department",
    "groups": "category",
    "tags": "tag",
    "res_format": "format",
    "license_id": "license",
}
# Sorts as CKAN clients send them -> (catalog sort, reversed).
SORTS = {
    "score desc, metadata_modified desc": ("relevance", False),
    "score desc": ("relevance", False),
    "relevance asc": ("relevance", False),
    "metadata_modified desc": ("modified", False),
    "metadata_modified asc": ("modified", True),
    "title_string asc": ("title", False),
    "title_string desc": ("title", True),
    "title asc": ("title", False),
    "title desc": ("title", True),
    # ckanext-harvest pages with `id asc` for an order that new datasets do not shift:
    # machi's ids are not sortable UUIDs, so both page in creation order.
    "id asc": ("created", False),
    "id desc": ("created", True),
    "metadata_created asc": ("created", False),
    "metadata_created desc": ("created", True),
}
_RANGE_FIELDS = {"metadata_modified": "modified", "metadata_created": "created"}
_TERM = re.compile(
    r"""\s*(?P<sign>[+-]?)(?P<field>[A-Za-z_.]+):
        (?P<value>"(?:[^"\\]|\\.)*"|[\[{][^\]}]*[\]}]|\([^)]*\)|[^\s]+)""",
    re.VERBOSE,
)
_OR = {"OR", "||"}
_AND = {"AND", "&&"}
# Solr's text fields: q searches their words.
_TEXT_FIELDS = {"title", "notes", "text"}
_NOW = re.compile(r"^NOW(?:([+-])(\d+)(DAYS?|HOURS?|MINUTES?))?(?:/DAY)?$")


@dataclass
class SearchParams:
    q: str = ""
    filters: Filters = field(default_factory=Filters)
    within: Q | None = None  # a condition on Dataset the filters cannot express
    sort: str = "relevance"
    reverse: bool = False
    sort_text: str = "score desc, metadata_modified desc"
    rows: int = DEFAULT_ROWS
    start: int = 0
    facet_fields: list[str] = field(default_factory=list)
    facet_limit: int = DEFAULT_FACET_LIMIT
    include_private: bool = False

    def limit(self, condition: Q) -> None:
        self.within = condition if self.within is None else self.within & condition


def integer(
    data: Mapping[str, Any], name: str, default: int, low: int, high: int, *, clamp: bool = False
) -> int:
    """A whole-number parameter; with clamp, one above high is taken as high (CKAN's rows)."""
    raw = data.get(name)
    if raw in (None, ""):
        return default
    try:
        value = int(str(raw))
    except ValueError:
        raise SearchQueryError(
            _("%(name)s must be a whole number, not “%(value)s”.") % {"name": name, "value": raw}
        ) from None
    if clamp and value > high:
        return high
    if not low <= value <= high:
        raise SearchQueryError(
            _("%(name)s must be between %(low)d and %(high)d.")
            % {"name": name, "low": low, "high": high}
        )
    return value


def boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() in {"true", "1", "yes", "on"}


def parse(data: Mapping[str, Any]) -> SearchParams:
    params = SearchParams()
    # CKAN cuts rows to ckan.search.rows_max without a word; harvesters ask for 1000 or more.
    params.rows = integer(data, "rows", DEFAULT_ROWS, 0, MAX_ROWS, clamp=True)
    params.start = integer(data, "start", 0, 0, 10**9)
    params.include_private = boolean(data.get("include_private", False))
    q = str(data.get("q") or "").strip()
    if q in {"*:*", "*"}:
        q = ""
    words, terms = _read_q(_split(q))
    params.q = " ".join(words)
    for group in _or_groups(terms) + _or_groups(_split(str(data.get("fq") or ""))):
        _apply(params, group)
    _parse_sort(params, str(data.get("sort") or "").strip(), bool(params.q))
    _parse_facets(params, data)
    return params


def _read_q(pieces: list[str]) -> tuple[list[str], list[str]]:
    """q's words to search, and its field terms (with the ORs between them) to filter by.

    `q=tags:保育` is a filter in Solr's syntax; `title:`, `notes:` and `text:` search
    their words in all the text (the index does not keep fields apart).
    """

    def is_filter(piece: str) -> bool:
        term = _TERM.fullmatch(piece)
        return term is not None and term["field"] in _KNOWN_FIELDS

    words: list[str] = []
    terms: list[str] = []
    for i, piece in enumerate(pieces):
        term = _TERM.fullmatch(piece)
        joins_terms = (
            piece.upper() in _OR
            and 0 < i < len(pieces) - 1
            and is_filter(pieces[i - 1])
            and is_filter(pieces[i + 1])
        )
        if is_filter(piece) or joins_terms:
            terms.append(piece)
        elif term and term["field"] in _TEXT_FIELDS and term["sign"] != "-":
            words.extend(_text_words(term["value"]))
        else:
            words.append(piece)
    return words, terms


def _text_words(raw: str) -> list[str]:
    if raw.startswith("(") and raw.endswith(")"):
        return [_unquote(p) for p in _split(raw[1:-1]) if p.upper() not in _OR | _AND]
    return [_unquote(raw)]


def _or_groups(pieces: list[str]) -> list[list[str]]:
    """Terms joined by OR, one group each; the groups are ANDed (OR binds first).

    ckanext-harvest sends `organization:a OR organization:b metadata_modified:[... TO *]`
    for (a or b) and modified since.
    """
    groups: list[list[str]] = []
    joining = False
    for piece in pieces:
        operator = piece.upper()
        if operator in _AND:
            continue
        if operator in _OR:
            if joining or not groups:
                raise SearchQueryError(_("fq: OR needs a field:value term on each side."))
            joining = True
            continue
        if joining:
            groups[-1].append(piece)
        else:
            groups.append([piece])
        joining = False
    if joining:
        raise SearchQueryError(_("fq: OR needs a field:value term on each side."))
    return groups


def _split(text: str) -> list[str]:
    """Terms separated by spaces, keeping quoted values, ranges and (a OR b) whole."""
    pieces, depth, current, quoted = [], 0, "", False
    for char in text:
        if char == '"':
            quoted = not quoted
        elif not quoted and char in "[{(":
            depth += 1
        elif not quoted and char in "]})":
            depth = max(0, depth - 1)
        if char.isspace() and not quoted and depth == 0:
            if current:
                pieces.append(current)
            current = ""
        else:
            current += char
    if current:
        pieces.append(current)
    return pieces


def _values(raw: str) -> list[str]:
    if raw.startswith("(") and raw.endswith(")"):
        parts = [p for p in _split(raw[1:-1]) if p.upper() not in _OR]
        return [_unquote(p) for p in parts]
    return [_unquote(raw)]


def _unquote(raw: str) -> str:
    if len(raw) >= 2 and raw[0] == raw[-1] == '"':
        return re.sub(r"\\(.)", r"\1", raw[1:-1])
    return raw


def _term(piece: str) -> re.Match[str]:
    term = _TERM.fullmatch(piece)
    if term is None:
        raise SearchQueryError(_("fq: “%(term)s” is not a field:value term.") % {"term": piece})
    if term["field"] not in _KNOWN_FIELDS:
        raise SearchQueryError(
            _("fq: the field “%(field)s” cannot be searched. Fields: %(fields)s")
            % {"field": term["field"], "fields": ", ".join(sorted(_KNOWN_FIELDS))}
        )
    return term


def _apply(params: SearchParams, pieces: list[str]) -> None:
    """Terms joined by OR (most often one term) as one more condition of the search."""
    terms = [_term(piece) for piece in pieces]
    first = terms[0]
    for piece, term in zip(pieces[1:], terms[1:], strict=True):
        if "-" in (first["sign"], term["sign"]):
            excluded = pieces[0] if first["sign"] == "-" else piece
            raise SearchQueryError(
                _("fq: an exclusion (“%(term)s”) cannot be joined with OR.") % {"term": excluded}
            )
        if (first["field"] in _FACET_TERMS) != (term["field"] in _FACET_TERMS):
            raise SearchQueryError(
                _(
                    "fq: OR between “%(left)s” and “%(right)s” is not supported: OR joins "
                    "terms of %(facets)s with each other, or terms of the other fields."
                )
                % {"left": pieces[0], "right": piece, "facets": ", ".join(_FACET_TERMS)}
            )
    negated = first["sign"] == "-"
    if first["field"] in _FACET_TERMS:
        # Facet values are sets of dataset ids in the catalog's index (catalog.queries).
        keys = [key for t in terms for key in _FACET_TERMS[t["field"]](t["field"], t["value"])]
        if negated:
            params.filters.none_of.extend(keys)
        else:
            params.filters.any_of.append(keys)
        return
    conditions = [_CONDITIONS[t["field"]](t["field"], t["value"]) for t in terms]
    limiting = [condition for condition in conditions if condition is not None]
    # A term that limits nothing makes its OR limit nothing.
    condition = reduce(or_, limiting) if len(limiting) == len(conditions) else None
    if negated and condition is None:
        condition = _NOTHING
    elif negated:
        # -dataset_type:harvest, which harvesters send, leaves the search unlimited.
        condition = None if condition is _NOTHING else ~condition
    if condition is not None:
        params.limit(condition)


# A facet term's values as (catalog facet, value) keys, of which a match has one.
Keys = list[tuple[str, str]]


def _facet_keys(name: str, raw: str) -> Keys:
    values = _values(raw)
    if name == "tags":  # by the CKAN name a harvester stored, or as written
        values = [tag for value in values for tag in dicts.tag_names(value)]
    return [(FACETS[name], value) for value in values]


def _owner_org(name: str, raw: str) -> Keys:
    wanted = set(_values(raw))
    # An unknown organization has no key, so it matches nothing, as in CKAN.
    return [
        ("department", slug)
        for slug in Department.objects.values_list("slug", flat=True)
        if slug in wanted or derived_id("organization", slug) in wanted
    ]


# The other terms are conditions on Dataset; None is every dataset.
_NOTHING = Q(pk__in=[])


def _names(name: str, raw: str) -> Q | None:
    return Q(name__in=_values(raw))


def _ids(name: str, raw: str) -> Q | None:
    values = _values(raw)
    by_uid = DatasetIdentity.objects.filter(uid__in=[v for v in values if _is_uuid(v)])
    return Q(pk__in=by_uid.values("dataset_id")) | Q(name__in=values)


def _is_uuid(value: str) -> bool:
    return bool(re.fullmatch(r"[0-9a-fA-F-]{32,36}", value))


def _dataset_type(name: str, raw: str) -> Q | None:
    # Every machi dataset has CKAN's type "dataset".
    return None if "dataset" in _values(raw) else _NOTHING


def _private(name: str, raw: str) -> Q | None:
    values = {v.lower() for v in _values(raw)}
    wanted = {"true": False, "private": False, "false": True, "public": True}
    publics = {wanted[v] for v in values if v in wanted}
    if not publics:
        raise SearchQueryError(_("fq: %(field)s takes true or false.") % {"field": name})
    return Q(is_public__in=publics)


def _state(name: str, raw: str) -> Q | None:
    # Nothing is deleted or draft here.
    return None if "active" in _values(raw) else _NOTHING


def _range(name: str, raw: str) -> Q | None:
    column = _RANGE_FIELDS[name]
    match = re.fullmatch(r"([\[{])\s*(\S+)\s+TO\s+(\S+)\s*([\]}])", raw)
    if match is None:
        return Q(**{column: _moment(_unquote(raw), name)})
    opening, low_text, high_text, closing = match.groups()
    condition = None
    if low_text != "*":
        op = "gte" if opening == "[" else "gt"
        condition = Q(**{f"{column}__{op}": _moment(low_text, name)})
    if high_text != "*":
        op = "lte" if closing == "]" else "lt"
        high = Q(**{f"{column}__{op}": _moment(high_text, name)})
        condition = high if condition is None else condition & high
    return condition


def _moment(text: str, name: str) -> datetime.datetime:
    """Solr's date forms: 2024-01-01T00:00:00Z, 2024-01-01, NOW, NOW-7DAYS."""
    now = _NOW.fullmatch(text.upper())
    if now:
        moment = timezone.now()
        if now.group(1):
            unit = now.group(3).rstrip("S").lower() + "s"
            delta = datetime.timedelta(**{unit: int(now.group(2))})
            moment = moment + delta if now.group(1) == "+" else moment - delta
        return moment
    value = parse_datetime(text)
    if value is None and (day := parse_date(text)) is not None:
        value = datetime.datetime.combine(day, datetime.time())
    if value is None:
        raise SearchQueryError(
            _("fq: “%(value)s” in %(field)s is not a date (2024-01-01T00:00:00Z).")
            % {"value": text, "field": name}
        )
    # CKAN's times are UTC without an offset.
    return value if timezone.is_aware(value) else value.replace(tzinfo=datetime.UTC)


_FACET_TERMS: dict[str, Callable[[str, str], Keys]] = {
    **dict.fromkeys(FACETS, _facet_keys),
    "owner_org": _owner_org,
}
_CONDITIONS: dict[str, Callable[[str, str], Q | None]] = {
    "name": _names,
    "id": _ids,
    "dataset_type": _dataset_type,
    "type": _dataset_type,
    "private": _private,
    "capacity": _private,
    "state": _state,
    "metadata_modified": _range,
    "metadata_created": _range,
}
_KNOWN_FIELDS = {**_FACET_TERMS, **_CONDITIONS}


def _parse_sort(params: SearchParams, raw: str, has_query: bool) -> None:
    text = ", ".join(" ".join(part.split()).lower() for part in raw.split(",") if part.strip())
    if not text:
        text = "score desc, metadata_modified desc"
    if text not in SORTS:
        raise SearchQueryError(
            _("sort: “%(sort)s” is not supported. Use one of: %(sorts)s")
            % {"sort": raw, "sorts": "; ".join(SORTS)}
        )
    params.sort, params.reverse = SORTS[text]
    if params.sort == "relevance" and not has_query:
        params.sort = "modified"  # Solr's score ties without a query; the date decides
    params.sort_text = text


def _parse_facets(params: SearchParams, data: Mapping[str, Any]) -> None:
    raw = data.get("facet.field")
    if raw in (None, "", []):
        return
    fields = raw
    if isinstance(raw, str):
        try:
            fields = json.loads(raw)
        except ValueError:
            fields = None
    if not isinstance(fields, list) or not all(isinstance(f, str) for f in fields):
        raise SearchQueryError(
            _('facet.field must be a JSON list of field names, such as ["organization", "tags"].')
        )
    unknown = [f for f in fields if f not in FACETS]
    if unknown:
        raise SearchQueryError(
            _("facet.field: “%(field)s” cannot be counted. Fields: %(fields)s")
            % {"field": unknown[0], "fields": ", ".join(FACETS)}
        )
    params.facet_fields = fields
    if boolean(data.get("facet", "true")) is False:
        params.facet_fields = []
    limit = integer(data, "facet.limit", DEFAULT_FACET_LIMIT, -1, 10**6)
    params.facet_limit = limit if limit >= 0 else 10**6
