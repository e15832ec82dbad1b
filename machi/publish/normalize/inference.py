"""Inferring each column's type, role and unit from a sample: `plan_columns`."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from typing import Any

from machi.publish.normalize.parsers import (
    _FLAG_FAMILY,
    _NO_VALUE,
    _PHONE,
    _Invalid,
    header_hint,
    parse_date,
    parse_datetime,
    parse_degrees,
    parse_number,
    parse_time,
    parse_year,
)
from machi.publish.normalize.plans import ColumnPlan
from machi.publish.normalize.text import tidy_spaces, to_half_width

TYPED_SHARE = 0.98  # share of sampled values that must parse for a column to be typed...
HINTED_SHARE = 0.8  # ...or when the header already says what the column holds

_TYPE_RULES = {
    "integer": ["number"],
    "number": ["number"],
    "boolean": ["flag"],
    "date": ["wareki", "date"],
    "datetime": ["wareki", "datetime"],
    "time": ["time"],
    "year": ["wareki", "year"],
}
_ROLE_RULES = {
    "lat": "latlon",
    "lon": "latlon",
    "phone": "phone",
    "postcode": "postcode",
    "clock": "time",
    "mark": "mark",
    "yes-no": "yes-no",
}
# A standard's values for yes and no, as the role that writes them.
_MARK_ROLES = {("1",): "mark", ("有", "無"): "yes-no"}


def _clean(value: object) -> object:
    if isinstance(value, str):
        return tidy_spaces(to_half_width(value))
    return value


def _sample_values(sample: list[list[object]], index: int) -> Counter[object]:
    """A column's cleaned, non-empty sample values, counted."""
    values: Counter[object] = Counter()
    for row in sample:
        if index < len(row):
            value = _clean(row[index])
            if value is not None and value != "" and value not in _NO_VALUE:
                values[value] += 1
    return values


def _passes(parse: Callable[[object], object], values: Counter[object], share: float) -> bool:
    total = sum(values.values())
    allowed = total * (1 - share)
    failed = 0
    for value, count in values.items():
        try:
            parse(value)
        except _Invalid:
            failed += count
            if failed > allowed:
                return False
    return True


def _number_type(values: Counter[object], share: float) -> tuple[str, str] | None:
    """("integer" or "number", unit) when the values are numbers in one unit."""
    units: set[str] = set()
    decimal = False

    def parse(value: object) -> None:
        nonlocal decimal
        number, _rule, unit = parse_number(value)
        units.add(unit)
        decimal = decimal or isinstance(number, float)

    if not _passes(parse, values, share):
        return None
    units.discard("")
    if len(units) > 1:
        return None
    return ("number" if decimal else "integer"), (units.pop() if units else "")


def _time_type(values: Counter[object], share: float) -> tuple[str, str, str] | None:
    """A time column, or a string column of clock text when a time is past midnight."""
    past_midnight = False

    def parse(value: object) -> None:
        nonlocal past_midnight
        past_midnight = isinstance(parse_time(value)[0], str) or past_midnight

    if not _passes(parse, values, share):
        return None
    return ("string", "clock", "") if past_midnight else ("time", "", "")


def _leading_zeros(values: Counter[object]) -> bool:
    return any(isinstance(v, str) and len(v) > 1 and v[0] == "0" and v[1].isdigit() for v in values)


def _infer(hint: str, values: Counter[object]) -> tuple[str, str, str]:
    """(type, role, unit) of a column from its cleaned non-empty sample values."""
    if not values:
        return "string", hint if hint in ("phone", "postcode") else "", ""
    if hint in ("phone", "postcode"):
        return "string", hint, ""
    if hint == "code" or (hint == "id" and _leading_zeros(values)):
        return "string", "", ""
    if hint in ("lat", "lon") and _passes(parse_degrees, values, HINTED_SHARE):
        return "number", hint, ""
    words = {str(v).lower() for v in values}
    families = {_FLAG_FAMILY.get(w) for w in words}
    if len(families) == 1 and None not in families:
        if families != {_FLAG_FAMILY["1"]} or hint == "flag":  # 1/0 alone are numbers
            return "boolean", "", ""
    order = ["integer", "date", "datetime", "time", "year"]
    if hint in order:
        order.remove(hint)
        order.insert(0, hint)
    if _leading_zeros(values):
        order.remove("integer")
    for kind in order:
        share = (
            HINTED_SHARE if kind == hint or (kind, hint) == ("integer", "number") else TYPED_SHARE
        )
        if kind == "integer":
            found = _number_type(values, share)
            if found:
                return found[0], "", found[1]
        elif kind == "time":
            found = _time_type(values, share)
            if found:
                return found
        elif _passes(_INFER_PARSERS[kind], values, share):
            return kind, "", ""
    if all(isinstance(v, str) and not v.isdigit() and _PHONE.fullmatch(v) for v in values):
        return "string", "phone", ""
    if all(
        isinstance(v, str) and re.fullmatch(r"〒\s*\d{3}-?\d{4}|\d{3}-\d{4}", v) for v in values
    ):
        return "string", "postcode", ""
    return "string", "", ""


_INFER_PARSERS = {"date": parse_date, "datetime": parse_datetime, "year": parse_year}

# A text column most of whose sampled values are dates, numbers or times: a few values
# that are not kept the type from it, and staff should hear so (a bad 和暦 date would
# otherwise leave every date in the column unconverted, without a word).
NEAR_SHARE = 0.6
NEAR_MIN_VALUES = 3
_NEAR_PARSERS: tuple[tuple[str, Callable[[object], object]], ...] = (
    ("date", parse_date),
    ("number", parse_number),
    ("time", parse_time),
)


def nearly_typed(
    plans: list[ColumnPlan], sample: list[list[object]], *, types: dict[str, str] | None = None
) -> list[tuple[str, str, int, int, object]]:
    """(column, type, values that parse, values, one that does not) for each inferred text
    column whose sample nearly has that type."""
    found = []
    for index, plan in enumerate(plans):
        if plan.type != "string" or plan.role or plan.name in (types or {}):
            continue
        if header_hint(plan.name) in ("code", "id", "phone", "postcode"):
            continue
        values = _sample_values(sample, index)
        total = sum(values.values())
        for kind, parse in _NEAR_PARSERS:
            bad = [value for value in values if not _parses(parse, value)]
            parsed = total - sum(values[value] for value in bad)
            if bad and parsed >= NEAR_MIN_VALUES and parsed >= total * NEAR_SHARE:
                found.append((plan.name, kind, parsed, total, bad[0]))
                break
    return found


def _parses(parse: Callable[[object], object], value: object) -> bool:
    try:
        parse(value)
    except _Invalid:
        return False
    return True


def plan_columns(
    columns: list[str],
    sample: list[list[object]],
    *,
    types: dict[str, str] | None = None,
    standard_fields: dict[str, dict[str, Any]] | None = None,
) -> list[ColumnPlan]:
    """Infer each column's type and normalisers from a sample (e.g. first 5,000 data rows);
    `types` overrides (staff edits or the standard's types); `standard_fields` holds the
    national standard's field of each column typed as the standard says.

    Latitude and longitude plans are paired through `partner`; run `check_coordinates`
    on each converted row to catch swapped or out-of-Japan coordinates.
    """
    types = types or {}
    standard_fields = standard_fields or {}
    plans = []
    for index, name in enumerate(columns):
        hint = header_hint(name)
        values = _sample_values(sample, index)
        given = types.get(name)
        if given is None:
            kind, role, unit = _infer(hint, values)
        else:
            kind, role, unit = given, "", ""
            if kind == "number" and hint in ("lat", "lon"):
                role = hint
            elif kind == "string" and hint in ("phone", "postcode"):
                role = hint
            elif kind in ("integer", "number"):
                unit = (_number_type(values, 0.0) or ("", ""))[1]
        spec = standard_fields.get(name, {})
        # What the standard's values are: enforced (enum), or only expected where a legacy
        # edition's files differ (x-expected-values: its 災害種別 columns say 1, files ○).
        constraints = spec.get("constraints", {})
        enum = tuple(constraints.get("enum") or spec.get("x-expected-values") or ())
        if kind == "string" and enum in _MARK_ROLES:
            role = _MARK_ROLES[enum]  # a standard's 1-or-empty or 有/無; files mark them ○
        rules = ["width", "space"]
        if kind != "string":
            rules.append("dash")
        rules += _TYPE_RULES.get(kind, []) if role not in ("lat", "lon") else []
        if role:
            rules.append(_ROLE_RULES[role])
        plans.append(
            ColumnPlan(
                name=name,
                type=kind,
                rules=rules,
                role=role,
                unit=unit,
                by_standard=name in standard_fields,
                time_format=spec.get("format", "") if kind == "time" else "",
            )
        )
    _pair_coordinates(plans)
    return plans


def _pair_coordinates(plans: list[ColumnPlan]) -> None:
    lats = [i for i, plan in enumerate(plans) if plan.role == "lat"]
    lons = [i for i, plan in enumerate(plans) if plan.role == "lon"]
    for lat in lats:
        twin = plans[lat].name.replace("緯度", "経度").replace("latitude", "longitude")
        pick = next((i for i in lons if plans[i].name == twin), lons[0] if lons else None)
        if pick is not None:
            lons.remove(pick)
            plans[lat].partner, plans[pick].partner = pick, lat
    checks = tuple(sorted(lats + lons))
    for plan in plans:
        plan._coordinates = checks
