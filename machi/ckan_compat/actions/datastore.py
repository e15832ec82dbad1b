"""CKAN's datastore actions over machi's datastore (machi/datastore, docs/datastore.md).

Reads map onto the datastore's own queries and its read-only SQL runner. A write
(datastore_create, _upsert, _delete) publishes the resource's rows as a new CSV
version and loads it as that version's table, so the file, the table and the
version history always agree.
"""

import csv
import io
import json
import uuid
from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils.translation import gettext as _

from machi.catalog import permissions
from machi.catalog import services as catalog
from machi.catalog.models import Resource
from machi.ckan_compat.actions import Context, common, register
from machi.ckan_compat.errors import NotAuthorized, NotFound, ValidationFailed
from machi.datastore import queries
from machi.datastore import services as datastore
from machi.datastore import sql as datastore_sql
from machi.datastore.errors import DatastoreError
from machi.datastore.models import Table

# machi (Frictionless) types as CKAN's datastore names them, and back.
CKAN_TYPES = {
    "string": "text",
    "integer": "int",
    "number": "numeric",
    "boolean": "bool",
    "date": "date",
    "time": "time",
    "datetime": "timestamp",
    "year": "int",
    "geopoint": "text",
}
MACHI_TYPES = {
    "text": "string",
    "int": "integer",
    "int4": "integer",
    "int8": "integer",
    "bigint": "integer",
    "integer": "integer",
    "numeric": "number",
    "float": "number",
    "float8": "number",
    "double precision": "number",
    "bool": "boolean",
    "boolean": "boolean",
    "date": "date",
    "time": "time",
    "timestamp": "datetime",
}


def _table(ctx: Context, data: dict[str, Any], key: str = "resource_id") -> Table:
    ident = str(data.get(key) or data.get("id") or "").strip()
    if not ident:
        raise ValidationFailed(_("resource_id: missing value"), fields={key: [_("Missing value")]})
    try:
        uid = uuid.UUID(ident)
    except ValueError:
        raise NotFound(_("Resource not found: %(id)s") % {"id": ident}) from None
    return queries.find_table(ctx.user, uid)


def _fields(table: Table) -> list[dict[str, Any]]:
    return [
        {"id": "_id", "type": "int"},
        *({"id": c.name, "type": CKAN_TYPES.get(c.type, "text")} for c in table.column_list),
    ]


def _as_list(value: Any, name: str) -> list[str]:
    if value in (None, ""):
        return []
    if isinstance(value, str):
        return [v.strip() for v in value.split(",") if v.strip()]
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return value
    raise ValidationFailed(
        _("%(name)s: give a list of column names.") % {"name": name},
        fields={name: [_("Give a list of column names.")]},
    )


def _filters(value: Any) -> dict[str, Any]:
    if value in (None, ""):
        return {}
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            value = None
    if not isinstance(value, dict):
        raise ValidationFailed(
            _('filters: give a JSON object such as {"区分": "公立"}.'),
            fields={"filters": [_("Give a JSON object.")]},
        )
    return value


def _row_params(table: Table, data: dict[str, Any]) -> dict[str, Any]:
    """CKAN's search parameters as the datastore's own query parameters."""
    params: dict[str, Any] = {}
    columns = queries.columns_of(table)
    for name, value in _filters(data.get("filters")).items():
        if name not in columns:
            queries.column_named(table, name, "filters")  # raises, naming the columns
        if isinstance(value, list):
            params[f"{name}__in"] = json.dumps([str(v) for v in value], ensure_ascii=False)
        else:
            params[name] = "" if value is None else str(value)
    q = data.get("q")
    if isinstance(q, dict):
        raise ValidationFailed(
            _("q: searching single columns is not supported; use filters."),
            fields={"q": [_("Give the words to search for as text.")]},
        )
    for key in ("q", "sort", "limit", "offset"):
        if data.get(key) not in (None, ""):
            params[key] = str(data[key])
    # CKAN caps a larger limit at its maximum instead of refusing it (32000 is common).
    if params.get("limit", "").isdigit() and int(params["limit"]) > queries.MAX_LIMIT:
        params["limit"] = str(queries.MAX_LIMIT)
    fields = _as_list(data.get("fields"), "fields")
    if fields:
        params["fields"] = ",".join(fields)
    return params


def _link(resource_id: str, offset: int | None, limit: int | None) -> str:
    query = f"resource_id={resource_id}"
    if limit is not None:
        query = f"limit={limit}&" + query
    if offset:
        query = f"offset={offset}&" + query
    return f"/api/3/action/datastore_search?{query}"


@register("datastore_search")
def datastore_search(ctx: Context, data: dict[str, Any]) -> dict[str, Any]:
    table = _table(ctx, data)
    records_format = str(data.get("records_format") or "objects")
    if records_format != "objects":
        raise ValidationFailed(
            _("records_format: only “objects” is supported."),
            fields={"records_format": [_("Only “objects” is supported.")]},
        )
    params = _row_params(table, data)
    query = queries.parse(table, params)
    page = queries.rows(table, query)
    resource_id = str(table.resource.uid)
    chosen = [
        {"id": c.name, "type": "int" if c.name == "_id" else CKAN_TYPES.get(c.type, "text")}
        for c in page.fields
    ]
    include_total = str(data.get("include_total", True)).lower() not in {"false", "0", "no"}
    found = {
        "include_total": include_total,
        "limit": query.limit,
        "records_format": "objects",
        "resource_id": resource_id,
        "total_estimation_threshold": None,
        "fields": chosen,
        "records": page.records,
        "_links": {
            "start": _link(resource_id, None, query.limit),
            "next": _link(resource_id, query.offset + query.limit, query.limit),
        },
        "total": page.total,
        "total_was_estimated": not page.total_exact,
    }
    if not include_total:
        del found["total"], found["total_was_estimated"]
    return found


@register("datastore_info")
def datastore_info(ctx: Context, data: dict[str, Any]) -> dict[str, Any]:
    table = _table(ctx, data, key="id" if data.get("id") else "resource_id")
    return {
        "meta": {
            "id": str(table.resource.uid),
            "count": table.row_count,
            "table_type": "BASE TABLE",
            "aliases": [],
        },
        "fields": [
            {"id": f["id"], "type": f["type"], "schema": {"native_type": f["type"]}}
            for f in _fields(table)
            if f["id"] != "_id"
        ],
    }


@register("datastore_search_sql")
def datastore_search_sql(ctx: Context, data: dict[str, Any]) -> dict[str, Any]:
    sql = common.text(data, "sql")
    try:
        result = datastore_sql.run_sql(ctx.user, sql)
    except DatastoreError as error:
        # CKAN reports SQL problems as a Validation Error on `query`.
        raise ValidationFailed(str(error), fields={"query": [str(error)]}) from None
    answer: dict[str, Any] = {
        "sql": sql,
        "records": result.records,
        # CKAN's type names, as datastore_search gives them for the same columns.
        "fields": [
            {
                "id": f["name"],
                "type": "int" if f["name"] == "_id" else CKAN_TYPES.get(f["type"], "text"),
            }
            for f in result.fields
        ],
    }
    if result.truncated:
        answer["records_truncated"] = True
    return answer


# --- Writes ---------------------------------------------------------------------------------


def _editable_resource(ctx: Context, data: dict[str, Any]) -> Resource:
    res = common.resource(ctx.user, common.required(data, "resource_id"))
    if not permissions.can_edit_dataset(ctx.user, res.dataset):
        raise NotAuthorized(_("You cannot edit this dataset."))
    return res


def _schema(fields: Any) -> dict[str, Any]:
    if not isinstance(fields, list) or not fields:
        raise ValidationFailed(
            _('fields: give the columns, such as [{"id": "名称", "type": "text"}].'),
            fields={"fields": [_("Missing value")]},
        )
    result = []
    for item in fields:
        if not isinstance(item, dict) or not str(item.get("id") or "").strip():
            raise ValidationFailed(
                _("fields: every column needs an id."),
                fields={"fields": [_("Every column needs an id.")]},
            )
        kind = str(item.get("type") or "text").lower()
        if kind not in MACHI_TYPES:
            raise ValidationFailed(
                _("fields: the type “%(type)s” is not supported. Types: %(types)s")
                % {"type": kind, "types": ", ".join(MACHI_TYPES)},
                fields={"fields": [_("Unsupported type.")]},
            )
        result.append({"name": str(item["id"]), "type": MACHI_TYPES[kind]})
    return {"fields": result}


def _records(data: dict[str, Any]) -> list[dict[str, Any]]:
    records = data.get("records") or []
    if isinstance(records, str):
        try:
            records = json.loads(records)
        except ValueError:
            records = None
    if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
        raise ValidationFailed(
            _("records: give a list of objects."),
            fields={"records": [_("Give a list of objects.")]},
        )
    return records


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def _current_rows(table: Table) -> list[dict[str, str]]:
    columns = table.column_list
    query = queries.RowQuery(fields=columns)
    return [
        {c.name: _cell(queries.present(c, v)) for c, v in zip(columns, row, strict=True)}
        for row in queries.stream(table, query)
    ]


def _csv(schema: dict[str, Any], rows: list[dict[str, Any]], name: str) -> tuple[Any, list[Any]]:
    """The rows as a CSV upload, and as the cells load_table reads."""
    names = [f["name"] for f in schema["fields"]]
    for row in rows:
        unknown = set(row) - set(names)
        if unknown:
            raise ValidationFailed(
                _("records: the table has no column “%(name)s”.") % {"name": sorted(unknown)[0]},
                fields={"records": [_("Unknown column.")]},
            )
    cells = [[_cell(row.get(n)) for n in names] for row in rows]
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\r\n")
    writer.writerow(names)
    writer.writerows(cells)
    upload = SimpleUploadedFile(name, text.getvalue().encode("utf-8"), content_type="text/csv")
    return upload, cells


def _publish(
    ctx: Context, res: Resource, schema: dict[str, Any], rows: list[dict[str, Any]]
) -> Table:
    """The rows as a new CSV version of the resource, loaded as its table."""
    upload, cells = _csv(schema, rows, f"{res.uid}.csv")
    version = catalog.replace_resource(actor=ctx.user, resource=res, upload=upload, format="CSV")
    return datastore.load_table(
        actor=ctx.user, version=version, schema=schema, rows=cells, source=upload.name
    )


def _existing(res: Resource) -> Table | None:
    return Table.objects.filter(resource=res).order_by(*queries.serving_order()).first()


def _create_resource(
    ctx: Context, spec: Any, schema: dict[str, Any], rows: list[dict[str, Any]]
) -> Table:
    """datastore_create with `resource`: a new CSV resource holding the rows."""
    if not isinstance(spec, dict):
        raise ValidationFailed(
            _("resource_id: missing value"), fields={"resource_id": [_("Missing value")]}
        )
    dataset = common.dataset(ctx.user, common.required(spec, "package_id"), for_edit=True)
    name = common.text(spec, "name").strip() or _("Datastore table")
    upload, cells = _csv(schema, rows, "datastore.csv")
    res = catalog.add_resource(
        actor=ctx.user,
        dataset=dataset,
        name=name,
        upload=upload,
        description=common.text(spec, "description"),
        format="CSV",
    )
    res.refresh_from_db()
    return datastore.load_table(
        actor=ctx.user, version=res.current, schema=schema, rows=cells, source=upload.name
    )


@register("datastore_create", writes=True)
def datastore_create(ctx: Context, data: dict[str, Any]) -> dict[str, Any]:
    records = _records(data)
    if not data.get("resource_id"):
        table = _create_resource(ctx, data.get("resource"), _schema(data.get("fields")), records)
    else:
        res = _editable_resource(ctx, data)
        existing = _existing(res)
        if data.get("fields") in (None, []) and existing is not None:
            schema = existing.schema
        else:
            schema = _schema(data.get("fields"))
        rows = (_current_rows(existing) if existing is not None else []) + records
        table = _publish(ctx, res, schema, rows)
    return {
        "resource_id": str(table.resource.uid),
        "fields": [f for f in _fields(table) if f["id"] != "_id"],
        "method": "insert",
        "primary_key": data.get("primary_key") or [],
    }


def _key(data: dict[str, Any], table: Table) -> list[str]:
    key = _as_list(data.get("primary_key"), "primary_key")
    for name in key:
        queries.column_named(table, name, "primary_key")
    return key


@register("datastore_upsert", writes=True)
def datastore_upsert(ctx: Context, data: dict[str, Any]) -> dict[str, Any]:
    """method upsert (default), insert or update; `primary_key` names the columns that match."""
    res = _editable_resource(ctx, data)
    table = _existing(res)
    if table is None:
        raise NotFound(_("This resource has no datastore table; use datastore_create."))
    method = str(data.get("method") or "upsert")
    if method not in {"upsert", "insert", "update"}:
        raise ValidationFailed(
            _("method: use upsert, insert or update."),
            fields={"method": [_("Use upsert, insert or update.")]},
        )
    records = _records(data)
    rows = _current_rows(table)
    key = _key(data, table) if method != "insert" else []
    if method != "insert" and not key:
        raise ValidationFailed(
            _("primary_key: name the columns that identify a row (machi tables have no key)."),
            fields={"primary_key": [_("Missing value")]},
        )
    index = {tuple(row[k] for k in key): i for i, row in enumerate(rows)} if key else {}
    for record in records:
        cells = {k: _cell(v) for k, v in record.items()}
        if method == "insert":
            rows.append(cells)
            continue
        if any(k not in cells for k in key):
            raise ValidationFailed(
                _("records: every record needs the key columns %(key)s.") % {"key": ", ".join(key)},
                fields={"records": [_("Missing key value.")]},
            )
        where = index.get(tuple(cells[k] for k in key))
        if where is not None:
            rows[where] = {**rows[where], **cells}
        elif method == "update":
            raise NotFound(
                _("records: no row has the key %(key)s.")
                % {"key": ", ".join(cells[k] for k in key)}
            )
        else:
            index[tuple(cells[k] for k in key)] = len(rows)
            rows.append(cells)
    _publish(ctx, res, table.schema, rows)
    return {"resource_id": str(res.uid), "method": method, "records": records}


@register("datastore_delete", writes=True)
def datastore_delete(ctx: Context, data: dict[str, Any]) -> dict[str, Any]:
    """Rows matching `filters` (exact values), or the whole table without filters."""
    res = _editable_resource(ctx, data)
    table = _existing(res)
    if table is None:
        raise NotFound(_("This resource has no datastore table."))
    filters = _filters(data.get("filters"))
    if not filters:
        for each in Table.objects.filter(resource=res):
            datastore.drop_table(actor=ctx.user, table=each)
        return {"resource_id": str(res.uid)}
    columns = queries.columns_of(table)
    for name in filters:
        if name not in columns:
            queries.column_named(table, name, "filters")
    wanted = {
        k: [_cell(x) for x in v] if isinstance(v, list) else [_cell(v)] for k, v in filters.items()
    }
    rows = [
        r
        for r in _current_rows(table)
        if not all(r.get(k) in values for k, values in wanted.items())
    ]
    _publish(ctx, res, table.schema, rows)
    return {"resource_id": str(res.uid), "filters": filters}
