"""Checking a row's coordinates: swapped latitude and longitude, or outside Japan."""

from __future__ import annotations

from django.utils.translation import gettext as _

from machi.publish.normalize.plans import Change, ColumnPlan
from machi.publish.problems import Problem

_LAT_RANGE = (20.0, 46.0)
_LON_RANGE = (122.0, 154.0)


def _within(value: object, bounds: tuple[float, float]) -> bool:
    return isinstance(value, float) and bounds[0] <= value <= bounds[1]


def check_coordinates(plans: list[ColumnPlan], values: list[object], row: int) -> list[Problem]:
    """Warnings for one converted row's coordinates; swaps a swapped pair in `values`.

    `plans` as plan_columns returned them. The problems are also kept on the latitude
    column's plan (capped like convert's), so a caller collects either the plans' problems
    or these, not both.
    """
    problems: list[Problem] = []
    for index in plans[0]._coordinates if plans else ():
        plan = plans[index]
        lat = values[index]
        if plan.partner is not None and lat.__class__ is float and 20.0 <= lat <= 46.0:  # type: ignore[operator]
            lon = values[plan.partner]
            if lon.__class__ is float and 122.0 <= lon <= 154.0:  # type: ignore[operator]
                continue  # the common case, without a call
        problem = _check_pair(plans, values, index, row)
        if problem is not None:
            plan.note(problem)
            problems.append(problem)
    return problems


def _check_pair(
    plans: list[ColumnPlan], values: list[object], index: int, row: int
) -> Problem | None:
    plan = plans[index]
    value = values[index]
    if not isinstance(value, float):
        return None
    if plan.partner is None:
        if plan.role == "lat":
            if _within(value, _LAT_RANGE):
                return None
            message = _(
                "Row %(row)d, column %(column)s: %(value)s is outside Japan (latitude 20 to 46)."
            )
        else:
            if _within(value, _LON_RANGE):
                return None
            message = _(
                "Row %(row)d, column %(column)s: %(value)s is outside Japan (longitude 122 to 154)."
            )
        params = {"row": row, "column": plan.name, "value": value}
        return Problem("outside-japan", message % params, "warning", row=row, column=plan.name)
    other = plans[plan.partner]
    lat, lon = value, values[plan.partner]
    if not isinstance(lon, float) or (_within(lat, _LAT_RANGE) and _within(lon, _LON_RANGE)):
        return None
    params = {"row": row, "lat": lat, "lon": lon, "lat_column": plan.name}
    params["lon_column"] = other.name
    if _within(lon, _LAT_RANGE) and _within(lat, _LON_RANGE):
        values[index], values[plan.partner] = lon, lat
        change = plan.changes.setdefault("swapped-latlon", Change("swapped-latlon"))
        change.count += 1
        if len(change.samples) < 5:
            change.samples.append((f"{lat}, {lon}", f"{lon}, {lat}"))
        message = _(
            "Row %(row)d: %(lat_column)s %(lat)s and %(lon_column)s %(lon)s look swapped; "
            "they were swapped back."
        )
        return Problem("swapped-latlon", message % params, "warning", row=row, column=plan.name)
    message = _(
        "Row %(row)d, columns %(lat_column)s and %(lon_column)s: %(lat)s, %(lon)s is outside "
        "Japan (latitude 20 to 46, longitude 122 to 154)."
    )
    return Problem("outside-japan", message % params, "warning", row=row, column=plan.name)
