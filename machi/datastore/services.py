"""Every write to the datastore: load, replace and drop tables.

A load builds a whole new table in one transaction of the datastore
database, and only then records it (datastore.Table, in the main database)
and points the resource's view at it. Readers keep the previous table until
the new one is complete; a load that fails leaves nothing behind.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import replace
from typing import Any

from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from frictionless import Field, FrictionlessException, Schema

from machi.audit import services as audit
from machi.catalog import permissions
from machi.catalog.models import Resource, ResourceVersion
from machi.datastore import engine, sources
from machi.datastore.errors import TYPE_NAMES, LoadError
from machi.datastore.models import Table
from machi.datastore.queries import serving_order


def load_table(
    *,
    actor: User,
    version: ResourceVersion,
    schema: dict[str, Any],
    rows: Iterable[Sequence[Any]],
    source: str = "",
    first_line: int = 2,
    canonical: bool = False,
    search_later: bool = False,
) -> Table:
    """Load rows (cells in schema field order, text or Python values) as the version's table.

    `source` and `first_line` (the file line of the first row) make error
    messages point at the place in the file staff can open. `canonical` rows are
    text the publish pipeline wrote (ISO dates, `true`/`false`, plain numbers): they
    are read with the plain Python parsers instead of Frictionless's general ones, or
    on SQLite, when no tokens are written now, stored as text that SQLite converts
    (engine.insert_text).
    """
    resource = version.resource
    if not permissions.can_edit_dataset(actor, resource.dataset):
        raise PermissionDenied(_("You cannot edit this dataset."))
    schema = checked_schema(schema)
    columns = engine.plan_columns(schema["fields"])
    geo = engine.geo_columns(columns)
    name = _unused_name(version)
    searched = any(c.searched and c.type in engine.SEARCHED_TYPES for c in columns)
    # A table without text to search is ready at once; otherwise build_search writes it.
    search_ready = not search_later or not searched
    # Canonical text without tokens to write now goes to the database as it is: SQLite
    # converts it itself, and the cells it could not convert are found after (the
    # benchmark's 1,000,000 rows: 21–22 s against 33 s cast in Python, on one machine).
    as_text = canonical and (search_later or not searched) and engine.loads_text(columns)
    with transaction.atomic(using=engine.ALIAS), engine.bulk_writes():
        engine.ensure_schema()
        engine.create_table(name, columns, geo=any(c.type == "geopoint" for c in columns))
        if as_text:
            fitted = _fitted(rows, len(columns), source=source, first_line=first_line)
            count = engine.insert_text(name, columns, fitted)
        else:
            read = _canonical_rows if canonical else _cast_rows
            count = engine.insert_rows(
                name,
                columns,
                read(schema, columns, rows, source=source, first_line=first_line),
                search=not search_later,
                canonical=canonical and _all_canonical(schema),
            )
        nulls, misfit = engine.count_cells(name, columns, misfits=as_text)
        if misfit is not None:
            raise _misfit_error(name, schema, columns, misfit, source, first_line + misfit - 1)
        columns = [
            replace(c, nulls=n, empty=count > 0 and n == count)
            for c, n in zip(columns, nulls, strict=True)
        ]
        engine.finish_table(name, columns)
    previous = Table.objects.filter(version=version).first()
    try:
        with transaction.atomic():
            table, _created = Table.objects.update_or_create(
                version=version,
                defaults={
                    "resource": resource,
                    "name": name,
                    "schema": schema,
                    "columns": [c.as_json() for c in columns],
                    "geo": geo,
                    "row_count": count,
                    "loaded": timezone.now(),
                    "search_ready": search_ready,
                },
            )
            audit.record(
                actor=actor,
                action="update" if previous else "create",
                obj=table,
                department_id=resource.dataset.department_id,
                changes={"rows": [previous.row_count if previous else None, count]},
            )
    except BaseException:
        with transaction.atomic(using=engine.ALIAS):
            engine.drop_table(name)
        raise
    point_view(resource)
    if previous is not None:
        with transaction.atomic(using=engine.ALIAS):
            engine.drop_table(previous.name)
    return table


def build_search(table: Table) -> None:
    """Write the full-text index of a table loaded with `search_later`, then serve `q`.

    A run stopped midway (a killed worker) leaves `search_ready` False; the next run
    continues from the rows still without tokens and finishes the index.
    """
    if table.search_ready:
        return
    for _last in engine.fill_search(table.name, table.column_list):
        if not Table.objects.filter(pk=table.pk).exists():
            return  # removed meanwhile
    Table.objects.filter(pk=table.pk).update(search_ready=True)


def drop_table(*, actor: User, table: Table) -> None:
    """Remove a version's table; the resource answers from its newest remaining one.

    The table itself goes once the removal commits (signals.drop_removed_table),
    as it does when its resource or dataset is deleted.
    """
    resource = table.resource
    if not permissions.can_edit_dataset(actor, resource.dataset):
        raise PermissionDenied(_("You cannot edit this dataset."))
    with transaction.atomic():
        audit.record_deleted(actor=actor, obj=table, department_id=resource.dataset.department_id)
        table.delete()


def forget_table(name: str, resource_uid: str) -> None:
    """Drop a table no `Table` row lists any more, re-pointing its resource's view first."""
    newest = Table.objects.filter(resource__uid=resource_uid).order_by(*serving_order()).first()
    with transaction.atomic(using=engine.ALIAS):
        if newest is None:
            engine.point_view(resource_uid, None, [])
        else:
            engine.point_view(resource_uid, newest.name, engine.stored_columns(newest.column_list))
        engine.drop_table(name)


def checked_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """The descriptor, validated as a Frictionless Table Schema."""
    try:
        Schema.from_descriptor(schema)
    except FrictionlessException as error:
        raise LoadError(_("The table schema is not valid: %(error)s") % {"error": error}) from None
    names = [field["name"] for field in schema["fields"]]
    if len(set(names)) != len(names):
        raise LoadError(_("The table schema names a column twice."))
    return schema


def _unused_name(version: ResourceVersion) -> str:
    # A reload of the same version gets a new name, so the old table serves
    # until the new one is recorded.
    base = f"{version.resource.uid}@{version.number}"
    name, n = base, 1
    while Table.objects.filter(name=name).exists() or engine.table_exists(name):
        n += 1
        name = f"{base}~{n}"
    return name


def point_view(resource: Resource) -> None:
    """Make the resource's SQL view select from the table it serves (see `serving_order`)."""
    newest = Table.objects.filter(resource=resource).order_by(*serving_order()).first()
    if newest is not None:
        with transaction.atomic(using=engine.ALIAS):
            columns = engine.stored_columns(newest.column_list)
            engine.point_view(str(resource.uid), newest.name, columns)


def _cast_rows(
    schema: dict[str, Any],
    columns: Sequence[Any],
    rows: Iterable[Sequence[Any]],
    *,
    source: str,
    first_line: int,
) -> Iterator[list[Any]]:
    fields = Schema.from_descriptor(schema).fields
    readers: list[Callable[[Any], tuple[Any, Any]]] = [f.create_cell_reader() for f in fields]
    fitted = _fitted(rows, len(readers), source=source, first_line=first_line)
    for line, row in enumerate(fitted, start=first_line):
        values = []
        for read, field, cell in zip(readers, fields, row, strict=True):
            value, notes = read(cell)
            if notes:
                raise LoadError(
                    _cell_message(source, line, field, cell, notes), line=line, column=field.name
                )
            values.append(value)
        yield values


_CANONICAL: dict[str, Callable[[str], Any]] = {
    "integer": int,
    "year": int,
    "number": float,
    "boolean": {"true": True, "false": False}.__getitem__,
    # Dates and times are checked and kept as ISO text, which both engines store.
    "date": lambda text: datetime.date.fromisoformat(text).isoformat(),
    "time": lambda text: datetime.time.fromisoformat(text).isoformat(),
    "datetime": datetime.datetime.fromisoformat,
}
# Types whose values repeat (a column of dates holds a few thousand days): each text is
# read once, then found in a dict of at most _REMEMBERED texts per column.
_REPEATING = {"date", "time"}
_REMEMBERED = 100_000


class _Remembered(dict[str, Any]):
    """A parser's results by text; a text not seen yet is parsed on look-up."""

    def __init__(self, parse: Callable[[str], Any]) -> None:
        super().__init__()
        self.parse = parse

    def __missing__(self, text: str) -> Any:
        if len(self) >= _REMEMBERED:
            return self.parse(text)
        value = self[text] = self.parse(text)
        return value


def _all_canonical(schema: dict[str, Any]) -> bool:
    """Whether `_canonical_rows` reads every field itself (else Frictionless does)."""
    return all(f.get("type", "string") in {"string", *_CANONICAL} for f in schema["fields"])


def _canonical_rows(
    schema: dict[str, Any],
    columns: Sequence[Any],
    rows: Iterable[Sequence[Any]],
    *,
    source: str,
    first_line: int,
) -> Iterator[list[Any]]:
    """Rows of canonical text cast with plain parsers; empty text is NULL."""
    fields = schema["fields"]
    if not _all_canonical(schema):
        yield from _cast_rows(schema, columns, rows, source=source, first_line=first_line)
        return
    parsers: list[Callable[[str], Any] | None] = []
    for f in fields:
        kind = f.get("type", "string")
        parse = _CANONICAL.get(kind)
        parsers.append(_Remembered(parse).__getitem__ if kind in _REPEATING and parse else parse)
    fitted = _fitted(rows, len(parsers), source=source, first_line=first_line)
    for line, row in enumerate(fitted, start=first_line):
        try:
            # One comprehension a row: text as it is, other cells parsed, empty ones NULL.
            yield [(p(c) if p else c) if c else None for p, c in zip(parsers, row, strict=True)]
        except (ValueError, KeyError):
            raise _canonical_error(fields, parsers, row, source, line) from None


def _canonical_error(
    fields: Sequence[dict[str, Any]],
    parsers: Sequence[Callable[[str], Any] | None],
    row: Sequence[str],
    source: str,
    line: int,
) -> LoadError:
    """The first cell of `row` its parser refuses, as a LoadError."""
    for parse, cell, field in zip(parsers, row, fields, strict=True):
        if not cell or parse is None:
            continue
        try:
            parse(cell)
        except (ValueError, KeyError):
            return LoadError(
                _cell_message(source, line, Field.from_descriptor(field), cell, {"type": ""}),
                line=line,
                column=field["name"],
            )
    raise AssertionError("a cell failed to parse once and not again")


def _fitted(
    rows: Iterable[Sequence[Any]], width: int, *, source: str, first_line: int
) -> Iterator[Sequence[Any]]:
    """The rows, stopping at the first whose width is not the schema's."""
    for offset, row in enumerate(rows):
        if len(row) != width:
            raise _width_error(source, first_line + offset, len(row), width)
        yield row


def _misfit_error(
    name: str,
    schema: dict[str, Any],
    columns: Sequence[engine.Column],
    row: int,
    source: str,
    line: int,
) -> LoadError:
    """The first cell of a text load its column's type could not take, as a LoadError."""
    column, value = engine.misfit_cell(name, columns, row)
    field = schema["fields"][columns.index(column)]
    return LoadError(
        _cell_message(source, line, Field.from_descriptor(field), value, {"type": ""}),
        line=line,
        column=field["name"],
    )


def _width_error(source: str, line: int, found: int, width: int) -> LoadError:
    return LoadError(
        _("%(source)s line %(line)d has %(found)d cells; the header has %(width)d.")
        % {"source": source or _("the data"), "line": line, "found": found, "width": width},
        line=line,
    )


def _cell_message(source: str, line: int, field: Any, cell: Any, notes: dict[str, str]) -> str:
    place = {"source": source or _("the data"), "line": line, "column": field.name, "value": cell}
    if "type" in notes:
        place["type"] = TYPE_NAMES.get(field.type, field.type)
        return (
            _('%(source)s line %(line)d, column "%(column)s": "%(value)s" is not a %(type)s.')
            % place
        )
    if "required" in notes:
        return _('%(source)s line %(line)d, column "%(column)s": a value is required.') % place
    return _(
        '%(source)s line %(line)d, column "%(column)s": "%(value)s" breaks a rule (%(rule)s).'
    ) % {**place, "rule": ", ".join(notes)}


def load_version_file(*, actor: User, version: ResourceVersion) -> Table:
    """Load a version's CSV file as its table, with a schema guessed from the file."""
    header, rows, stream = sources.open_rows(version)
    with stream:
        sample, rows = sources.sample_rows(rows)
        schema = sources.infer_schema(header, sample)
        return load_table(
            actor=actor, version=version, schema=schema, rows=rows, source=version.filename
        )
