"""Convert one staff file: read, find the table, normalise, match a standard, validate.

`convert` streams the file twice at most: a sample (the first rows, for the layout,
the column plans and the standard match), then every record, written as clean
UTF-8 CSV beside the original. Nothing here touches the catalog or the datastore;
publishing that CSV is `services.publish_run`.
"""

from __future__ import annotations

import csv
import datetime as dt
import functools
import gc
import io
import multiprocessing
import multiprocessing.pool
import re
import signal
import time
from collections import Counter, deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from types import NoneType
from typing import Any

from django.conf import settings
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from machi.publish import layout as layouts
from machi.publish import normalize, privacy, reading, standards
from machi.publish.problems import Problem, column_letter

HEAD_ROWS = 60  # rows read to find the header
SAMPLE_RECORDS = 5000  # records that decide column types and normalisers
PREVIEW_RECORDS = 10  # records shown to staff beside the detected header
STORED_PROBLEMS = 1000  # problems kept in the report; the counts cover all
SECTION_COLUMN = "区分"

Progress = Callable[[str, float], None]


@dataclass
class Options:
    """What staff chose, or the pipeline guessed when they did not."""

    sheet: int | None = None  # None: the first sheet holding a table (_table_sheet)
    header_rows: list[int] | None = None
    body_start: int | None = None
    section_mode: str = "column"  # or "drop"
    standard: str | None = None  # a slug; "" means none; None means match automatically
    mapping: dict[str, str] | None = None  # source column -> standard field ("" drops it)
    types: dict[str, str] = field(default_factory=dict)  # output column -> Table Schema type
    drop_columns: list[str] = field(default_factory=list)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Options:
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        return cls(**known)


@dataclass
class Result:
    report: dict[str, Any]
    schema: dict[str, Any] | None
    row_count: int
    error_count: int
    warning_count: int
    readable: bool


class Collector:
    """Problems of every stage: all counted, the first STORED_PROBLEMS kept."""

    def __init__(self) -> None:
        self.kept: list[Problem] = []
        self.by_code: Counter[str] = Counter()
        self.errors = 0
        self.warnings = 0

    def add(self, problem: Problem, count: int = 1) -> None:
        self.by_code[problem.code] += count
        if problem.level == "error":
            self.errors += count
        else:
            self.warnings += count
        if len(self.kept) < STORED_PROBLEMS:
            self.kept.append(problem)

    def extend(self, problems: list[Problem]) -> None:
        for problem in problems:
            self.add(problem)

    def take(self, other: Collector) -> None:
        """Add what another collector (a later chunk's) counted and kept."""
        self.kept.extend(other.kept[: STORED_PROBLEMS - len(self.kept)])
        self.by_code.update(other.by_code)
        self.errors += other.errors
        self.warnings += other.warnings


def convert(
    original: Path, filename: str, output: Path, options: Options, progress: Progress
) -> Result:
    """Write the clean CSV of `original` to `output` and return the report."""
    collector = Collector()
    report: dict[str, Any] = {"file": {"name": filename}}
    try:
        source = reading.open_source(original, filename)
    except reading.ReadError as error:
        collector.add(Problem(code=error.code, message=str(error)))
        return _failed(report, collector)
    with source:
        report["file"].update(
            format=source.format,
            encoding=source.encoding,
            delimiter=source.delimiter,
            sheets=[{"index": s.index, "name": s.name, "rows": s.rows} for s in source.sheets],
            size=original.stat().st_size,
        )
        collector.extend(source.problems)
        if options.sheet is None:  # not chosen by staff: read and recorded with the report
            options.sheet = _table_sheet(source)
        report["file"]["sheet"] = options.sheet
        if not 0 <= options.sheet < len(source.sheets):
            collector.add(
                Problem(
                    code="no-sheet",
                    message=_("%(file)s has no sheet number %(n)d.")
                    % {"file": filename, "n": options.sheet + 1},
                )
            )
            return _failed(report, collector)
        sheet = source.sheets[options.sheet]
        progress(_("Finding the table"), 0.02)
        head = list(islice(source.rows(options.sheet), HEAD_ROWS))
        if not any(_filled(cells) for _n, cells in head):
            collector.add(
                Problem(
                    code="empty",
                    message=_("%(file)s has no data.") % {"file": _place(filename, sheet.name)},
                    sheet=sheet.name,
                )
            )
            return _failed(report, collector)
        found = _layout(head, options, sheet.name)
        collector.extend(found.problems)
        columns = _column_names(found.columns)
        report["layout"] = {
            "header_rows": found.header_rows,
            "body_start": found.body_start,
            "title": found.title,
            "section_mode": found.section_mode,
            "guessed": options.header_rows is None,
            "last_head_row": head[-1][0],  # the header is found among the rows up to this one
            "head": [[n, [_text(c) for c in cells]] for n, cells in head[:15]],
        }
        sample_body = layouts.BodyReader(found, sheet=sheet.name, source_name=filename)
        sample = [
            cells
            for _n, cells in islice(
                sample_body.records(_after(source.rows(options.sheet), found.body_start)),
                SAMPLE_RECORDS,
            )
        ]
        with_sections = found.section_mode == "column" and sample_body.sections > 0
        if with_sections:
            columns.append(SECTION_COLUMN)
        else:
            sample = [cells[: len(columns)] for cells in sample]
        report["source_columns"] = columns
        target = _target(columns, sample, options, report, collector)
        arranged = [target.arrange(cells) for cells in sample]
        plans = normalize.plan_columns(
            target.names, arranged, types=target.types, standard_fields=target.standard_fields
        )
        _warn_nearly_typed(plans, arranged, target, collector)
        _warn_sampled(plans, arranged, collector)
        scanner = privacy.PrivacyScanner(target.names)
        hidden = _hidden_columns(target, found, source.hidden_columns(options.sheet))
        expected = _expected_rows(sheet, original, head, found.body_start)
        body = layouts.BodyReader(found, sheet=sheet.name, source_name=filename)
        records = body.records(_after(source.rows(options.sheet), found.body_start))
        hidden_rows: list[int] = []  # the records the workbook hides, as they are read
        if hiding := source.hidden_rows(options.sheet):
            records = _noting_hidden(records, hiding, hidden_rows)
        count = _write(
            output,
            target,
            plans,
            scanner,
            collector,
            records,
            expected=expected,
            progress=progress,
        )
        collector.extend(body.problems)
        if hidden_rows:
            collector.add(
                Problem(
                    code="hidden-rows",
                    level="warning",
                    sheet=sheet.name,
                    row=hidden_rows[0],
                    message=ngettext(
                        "Row %(rows)s is hidden in the workbook, and is published like the "
                        "others: delete it in the file if it is not for publishing.",
                        "Rows %(rows)s are hidden in the workbook, and are published like the "
                        "others: delete them in the file if they are not for publishing.",
                        len(hidden_rows),
                    )
                    % {"rows": _listed(hidden_rows)},
                )
            )
        if body.totals:
            collector.add(
                Problem(
                    code="total-row",
                    level="warning",
                    sheet=sheet.name,
                    row=body.totals[0],
                    message=ngettext(
                        "Row %(rows)s is a total (合計) of the rows above and was left out: "
                        "published, it would be counted with them.",
                        "Rows %(rows)s are totals (合計) of the rows above and were left out: "
                        "published, they would be counted with them.",
                        len(body.totals),
                    )
                    % {"rows": _(", ").join(map(str, body.totals[:20]))},
                )
            )
        if count == 0:
            # Published, it would replace the table residents use with an empty one.
            if options.body_start:  # staff's choice, not the file, left nothing
                message = _(
                    "%(file)s has no data from row %(row)d on: choose the first data row "
                    "again (see the first rows of the sheet above)."
                ) % {"file": _place(filename, sheet.name), "row": found.body_start}
            else:
                message = _(
                    "%(file)s has a header but no data rows: there is nothing to publish."
                ) % {"file": _place(filename, sheet.name)}
            collector.add(Problem(code="no-rows", message=message, sheet=sheet.name))
        if body.sections and not with_sections and found.section_mode == "column":
            collector.add(
                Problem(
                    code="late-sections",
                    level="warning",
                    message=_(
                        "Section rows appear only after row %(n)d; they were dropped. "
                        "Choose the header again to keep them as a column."
                    )
                    % {"n": SAMPLE_RECORDS},
                )
            )
    loose = _collect_cell_errors(plans, collector)
    findings = scanner.findings() + hidden
    order = {name: n for n, name in enumerate(scanner.columns)}
    findings.sort(key=lambda finding: order.get(finding.column, len(order)))  # stable
    report["columns"] = [
        {
            "name": plan.name,
            "type": plan.type,
            "unit": plan.unit if plan.type in {"integer", "number"} else "",
            "source": target.sources.get(plan.name, ""),
            "rules": plan.rules,
            "changes": [
                {"rule": c.rule, "count": c.count, "samples": [list(s) for s in c.samples]}
                for c in plan.changes.values()
                if c.count
            ],
        }
        for plan in plans
    ]
    report["preview"] = _preview(output)
    report["privacy"] = [
        {
            "column": f.column,
            "kind": f.kind,
            "count": f.count,
            "rows": f.rows,
            "message": f.message,
        }
        for f in findings
    ]
    report["body"] = {
        "records": count,
        "sections": body.sections,
        "blank_rows": body.blank,
        "footnotes": body.footnotes[:20],
        "totals": body.totals[:20],
    }
    report["problems"] = [p.as_json() for p in collector.kept]
    report["problem_counts"] = dict(collector.by_code)
    # Columns with cells that kept their text: publishing over the errors loads them as text.
    report["loose_columns"] = loose
    schema = _schema(target, plans)
    return Result(
        report=report,
        schema=schema,
        row_count=count,
        error_count=collector.errors,
        warning_count=collector.warnings,
        readable=True,
    )


_NEAR_TYPE_NAMES = {
    "date": gettext_lazy("dates"),
    "number": gettext_lazy("numbers"),
    "time": gettext_lazy("times"),
}
_NEAR_TYPE_CHOICES = {
    "date": gettext_lazy("date"),
    "number": gettext_lazy("number"),
    "time": gettext_lazy("time"),
}


def _warn_nearly_typed(
    plans: list[normalize.ColumnPlan],
    sample: list[list[object]],
    target: Target,
    collector: Collector,
) -> None:
    for column, kind, parsed, total, found in normalize.nearly_typed(
        plans, sample, types=target.types
    ):
        value = _text(found)[:100]
        collector.add(
            Problem(
                code="nearly-typed",
                level="warning",
                column=column,
                value=value,
                message=_(
                    "Column %(column)s: %(parsed)d of %(total)d values read look like "
                    "%(kind)s, but some do not (such as “%(value)s”), so the column was left "
                    "as text. Set its type to %(type)s to see which cells do not fit."
                )
                % {
                    "column": column,
                    "parsed": parsed,
                    "total": total,
                    "kind": _NEAR_TYPE_NAMES[kind],
                    "value": value,
                    "type": _NEAR_TYPE_CHOICES[kind],
                },
            )
        )


_PHONE_MARKS = str.maketrans("", "", "-()（） ‐－")


def _lost_zero(text: str) -> bool:
    """A phone number that lost its leading 0: a spreadsheet took 0338117111 for a
    number. Numbers dialled at home start with 0: 9 or 10 digits without it cannot be rung."""
    digits = text.translate(_PHONE_MARKS)
    return digits.isdigit() and 9 <= len(digits) <= 10 and digits[0] != "0"


def _no_area_code(text: str) -> bool:
    """A local number without its area code (3811-1111 for 03-3811-1111): from a mobile
    phone, or from outside the area, it reaches nobody."""
    digits = text.translate(_PHONE_MARKS)
    return digits.isdigit() and 5 <= len(digits) <= 8 and digits[0] != "0"


def _short_postcode(text: str) -> bool:
    """A postcode of fewer than 7 digits (113 for 113-0033): no letter or map can use it."""
    digits = "".join(ch for ch in text if ch.isdigit())
    return 0 < len(digits) < 7


# Role: which sampled cells to warn of, the problem's code, and its message for a count.
_SAMPLED_WARNINGS: dict[str, list[tuple[Callable[[str], bool], str, Callable[[int], str]]]] = {
    "phone": [
        (
            _lost_zero,
            "phone-without-zero",
            lambda n: ngettext(
                "Column %(column)s: %(count)d phone number does not start with 0 (such as "
                "“%(value)s”): a spreadsheet may have dropped it. Save the column as text in the "
                "file, or add the 0.",
                "Column %(column)s: %(count)d phone numbers do not start with 0 (such as "
                "“%(value)s”): a spreadsheet may have dropped it. Save the column as text in the "
                "file, or add the 0.",
                n,
            ),
        ),
        (
            _no_area_code,
            "phone-without-area-code",
            lambda n: ngettext(
                "Column %(column)s: %(count)d phone number has no area code (such as "
                "“%(value)s”): from a mobile phone or another town it reaches nobody. Add "
                "it, such as 03-3811-1111.",
                "Column %(column)s: %(count)d phone numbers have no area code (such as "
                "“%(value)s”): from a mobile phone or another town they reach nobody. Add "
                "it, such as 03-3811-1111.",
                n,
            ),
        ),
    ],
    "postcode": [
        (
            _short_postcode,
            "short-postcode",
            lambda n: ngettext(
                "Column %(column)s: %(count)d postcode has fewer than 7 digits (such as "
                "“%(value)s”). Write all seven, such as 113-0033.",
                "Column %(column)s: %(count)d postcodes have fewer than 7 digits (such as "
                "“%(value)s”). Write all seven, such as 113-0033.",
                n,
            ),
        ),
    ],
}


def _warn_sampled(
    plans: list[normalize.ColumnPlan], sample: list[list[object]], collector: Collector
) -> None:
    """Warnings about sampled cells of phone and postcode columns that convert without
    an error but cannot be used as published (_SAMPLED_WARNINGS)."""
    for index, plan in enumerate(plans):
        if plan.role not in _SAMPLED_WARNINGS:
            continue
        texts = [
            normalize.to_half_width(_text(cells[index]))
            for cells in sample
            if index < len(cells) and cells[index] not in (None, "")
        ]
        for odd, code, message in _SAMPLED_WARNINGS[plan.role]:
            found = [text for text in texts if odd(text)]
            if not found:
                continue
            value = found[0][:100]
            collector.add(
                Problem(
                    code=code,
                    level="warning",
                    column=plan.name,
                    value=value,
                    message=message(len(found))
                    % {"column": plan.name, "count": len(found), "value": value},
                )
            )


def _collect_cell_errors(plans: list[normalize.ColumnPlan], collector: Collector) -> list[str]:
    """Add the cells no normaliser could read; return the columns that have any.

    Coordinate warnings were collected as they were found; a plan keeps them too.
    """
    loose = []
    for plan in plans:
        kept = [p for p in plan.problems if p.level == "error"]
        for problem in kept:
            collector.add(problem)
        # Past the plan's cap only counts remain; coordinate warnings are not among them
        # unless the cap was reached, which at worst under-counts errors there.
        extra = plan.problem_count - len(plan.problems) if len(plan.problems) else 0
        if extra > 0 and kept:
            collector.by_code[kept[0].code] += extra
            collector.errors += extra
        if kept:
            loose.append(plan.name)
    return loose


def _failed(report: dict[str, Any], collector: Collector) -> Result:
    report["problems"] = [p.as_json() for p in collector.kept]
    report["problem_counts"] = dict(collector.by_code)
    return Result(
        report=report,
        schema=None,
        row_count=0,
        error_count=max(collector.errors, 1),
        warning_count=collector.warnings,
        readable=False,
    )


def _layout(head: list[tuple[int, list[object]]], options: Options, sheet: str) -> layouts.Layout:
    if options.header_rows:
        found = layouts.layout_from(head, options.header_rows, options.body_start, sheet=sheet)
    else:
        found = layouts.guess_layout(head, sheet=sheet)
    found.section_mode = options.section_mode
    return found


def _hidden_columns(
    target: Target, found: layouts.Layout, hidden: frozenset[int]
) -> list[privacy.Finding]:
    """A finding for each published column that the workbook hides."""
    findings = []
    for i, pick in enumerate(target.picks):
        if pick is None or pick >= len(found.columns):  # none in the file, or 区分
            continue
        if found.first_column + pick in hidden:
            letter = column_letter(found.first_column + pick)
            findings.append(privacy.hidden_column(target.names[i], letter))
    return findings


def _noting_hidden(
    records: Iterator[tuple[int, list[object]]], hiding: frozenset[int], seen: list[int]
) -> Iterator[tuple[int, list[object]]]:
    for record in records:
        if record[0] in hiding:
            seen.append(record[0])
        yield record


def _listed(rows: list[int], shown: int = 20) -> str:
    listed = _(", ").join(map(str, rows[:shown]))
    return listed + ("…" if len(rows) > shown else "")


def _after(rows: Iterator[tuple[int, list[object]]], start: int) -> Iterator[tuple[int, list]]:
    return ((n, cells) for n, cells in rows if n >= start)


def _table_sheet(source: reading.Source) -> int:
    """The first sheet holding a table (two rows with two filled cells each among its
    first rows), passing over a cover or a note sheet (表紙, 説明); else the first. The
    source keeps the sheet it read last, so the one chosen is not read twice."""
    if len(source.sheets) < 2:
        return 0
    for sheet in source.sheets:
        rows = (cells for _n, cells in islice(source.rows(sheet.index), HEAD_ROWS))
        if sum(1 for cells in rows if sum(c not in ("", None) for c in cells) >= 2) >= 2:
            return sheet.index
    return 0


def _filled(cells: list[object]) -> bool:
    return any(c not in ("", None) for c in cells)


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    return str(value)


def _place(filename: str, sheet: str) -> str:
    return f"{filename} [{sheet}]" if sheet else filename


def _column_names(names: list[str]) -> list[str]:
    """Header names, with 列N for empty ones and a suffix for repeats (reported by the layout)."""
    seen: Counter[str] = Counter()
    result = []
    for i, name in enumerate(names, start=1):
        name = name or _("Column %(n)d") % {"n": i}
        seen[name] += 1
        result.append(name if seen[name] == 1 else f"{name}_{seen[name]}")
    return result


# --- Standard and the output columns -----------------------------------------------------


@dataclass
class Target:
    """The output table: column names in order and where each comes from in a record."""

    names: list[str]
    picks: list[int | None]  # index into the source record; None = empty (a missing column)
    types: dict[str, str]
    sources: dict[str, str]  # output column -> source column
    standard: standards.Standard | None
    extra: list[str]
    # The standard's field of each column typed as the standard says (staff kept its type).
    standard_fields: dict[str, dict[str, Any]] = field(default_factory=dict)
    # Values of columns the file lacks but says once (調査年月日 in its title), picked
    # after the record's own cells.
    constants: list[object] = field(default_factory=list)
    width: int = 0  # source columns, after which the constants are picked

    def arrange(self, cells: list[object]) -> list[object]:
        if self.constants:
            cells = [*cells[: self.width], *self.constants]
        return [None if i is None else cells[i] for i in self.picks]


def _target(
    columns: list[str],
    sample: list[list[object]],
    options: Options,
    report: dict[str, Any],
    collector: Collector,
) -> Target:
    dropped = set(options.drop_columns)
    kept = [c for c in columns if c not in dropped]
    chosen = _standard(kept, options, report)
    if chosen is None:
        return Target(
            names=kept,
            picks=[columns.index(c) for c in kept],
            types=dict(options.types),
            sources={c: c for c in kept},
            standard=None,
            extra=[],
        )
    standard, match = chosen
    mapping = dict(match.mapping)
    if options.mapping is not None:
        mapping = {s: f for s, f in options.mapping.items() if f and s in kept}
    by_field = {f: s for s, f in mapping.items()}
    names, picks, sources = [], [], {}
    types = {}
    for spec in standard.schema["fields"]:
        name = spec["name"]
        names.append(name)
        source = by_field.get(name)
        picks.append(columns.index(source) if source is not None else None)
        types[name] = spec.get("type", "string")
        if source is not None:
            sources[name] = source
    extra = [c for c in kept if c not in mapping]
    for column in extra:
        names.append(column)
        picks.append(columns.index(column))
        sources[column] = column
    fields = standard.schema["fields"]
    standard_fields = {f["name"]: f for f in fields if f["name"] not in options.types}
    types.update(options.types)
    constants: list[object] = []
    title = (report.get("layout") or {}).get("title") or ""
    # A field marked `as_of` holds one day for the whole table, often said only in its title.
    as_of = {f["name"] for f in fields if f.get("as_of")}
    for name in standard.required():
        day = _day_in(title) if name in as_of and name not in by_field else None
        if day is not None:  # 地域・年齢別人口（令和6年10月1日現在）: the day of every row
            picks[names.index(name)] = len(columns) + len(constants)
            constants.append(day)
            sources[name] = title
            collector.add(
                Problem(
                    code="column-from-title",
                    level="warning",
                    column=name,
                    message=_(
                        "The file has no column “%(column)s”: it was filled with the date in "
                        "the title above the table, %(day)s. Check that it is the right day."
                    )
                    % {"column": name, "day": day},
                )
            )
        elif name not in by_field:
            collector.add(
                Problem(
                    code="required-column-missing",
                    column=name,
                    message=_(
                        "The standard %(standard)s requires the column “%(column)s”, "
                        "which the file does not have."
                    )
                    % {"standard": standards.standard_title(standard.slug), "column": name},
                )
            )
    for column in extra:
        collector.add(
            Problem(
                code="extra-column",
                level="warning",
                column=column,
                message=_(
                    "Column “%(column)s” is not part of %(standard)s; it is kept after the "
                    "standard's columns. In the mapping, give the standard column it is, or "
                    "choose “remove this column” if it is not needed."
                )
                % {"column": column, "standard": standards.standard_title(standard.slug)},
            )
        )
    report["standard"]["mapping"] = mapping
    return Target(
        names=names,
        picks=picks,
        types=types,
        sources=sources,
        standard=standard,
        extra=extra,
        standard_fields=standard_fields,
        constants=constants,
        width=len(columns),
    )


_TITLE_DAY = re.compile(
    r"(?:令和|平成|昭和|[RHS])\s*(?:\d{1,2}|元)\s*[年.]\s*\d{1,2}\s*[月.]\s*\d{1,2}\s*日?"
    r"|\d{4}\s*[年/.-]\s*\d{1,2}\s*[月/.-]\s*\d{1,2}\s*日?"
)


def _day_in(title: str) -> str | None:
    """The one date written in a table's title (令和6年10月1日現在), as written; None when
    there is none or more than one (a period: which day would it be?)."""
    found = _TITLE_DAY.findall(normalize.to_half_width(title))
    return found[0].strip() if len(found) == 1 else None


def _standard(
    columns: list[str], options: Options, report: dict[str, Any]
) -> tuple[standards.Standard, standards.Match] | None:
    candidates = standards.match(columns)
    report["standard"] = {
        "candidates": [
            {"slug": m.standard.slug, "title": m.standard.title, "score": round(m.score, 3)}
            for m in candidates[:5]
        ],
        "slug": "",
        "chosen_by": "",
    }
    if options.standard == "":
        report["standard"]["chosen_by"] = "staff"
        return None
    if options.standard:
        standard = standards.get(options.standard)
        match = standards.match_to(standard, columns)
        chosen_by = "staff"
    elif (found := standards.confident_match(candidates)) is not None:
        match = found
        standard = match.standard
        chosen_by = "match"
    else:
        return None
    report["standard"].update(
        slug=standard.slug,
        title=standard.title,
        score=round(match.score, 3),
        chosen_by=chosen_by,
        missing_required=match.missing_required,
        missing=match.missing,
    )
    return standard, match


# --- The pass over every record ----------------------------------------------------------


def _expected_rows(
    sheet: reading.SheetInfo, original: Path, head: list[tuple[int, list]], body_start: int
) -> int:
    """About how many rows the progress bar counts to."""
    if sheet.rows:
        return max(sheet.rows - body_start + 1, 1)
    sampled = [cells for n, cells in head if n >= body_start]
    if not sampled:
        return 1
    per_row = sum(len(",".join(_text(c) for c in cells).encode()) + 2 for cells in sampled)
    per_row = max(per_row / len(sampled), 1.0)
    return max(int(original.stat().st_size / per_row), 1)


def _write(
    output: Path,
    target: Target,
    plans: list[normalize.ColumnPlan],
    scanner: privacy.PrivacyScanner,
    collector: Collector,
    records: Iterator[tuple[int, list[object]]],
    *,
    expected: int,
    progress: Progress,
) -> int:
    job = _RecordJob(target, plans, scanner, collector)
    processes = settings.PUBLISH_PROCESSES
    with output.open("w", encoding="utf-8", newline="") as stream:
        csv.writer(stream, lineterminator="\n").writerow(target.names)
        if processes > 1 and expected >= PARALLEL_RECORDS and _can_fork():
            return _write_in_processes(job, records, stream, processes, expected, progress)
        job.start(stream)
        count = 0
        shown = time.monotonic()
        while chunk := list(islice(records, CHUNK_RECORDS)):
            job.write(chunk)
            count += len(chunk)
            if time.monotonic() - shown > 0.5:
                shown = time.monotonic()
                _converting(progress, count, expected)
    return count


def _converting(progress: Progress, count: int, expected: int) -> None:
    progress(
        _("Converting row %(n)s") % {"n": f"{count:,}"}, 0.05 + 0.9 * min(count / expected, 1.0)
    )


class _RecordJob:
    """Everything the pass does to a chunk of records: convert their cells, complete
    government codes, check the standard's rules and the coordinates, scan for personal
    data, write their CSV lines. It works column by column, so that the work per cell is
    mostly C (cache look-ups, counting, joining); what it finds and counts is what one
    record after another would give, in the same order."""

    def __init__(
        self,
        target: Target,
        plans: list[normalize.ColumnPlan],
        scanner: privacy.PrivacyScanner,
        collector: Collector,
    ) -> None:
        # A column the file lacks (a standard's, with no source) stays empty without its plan.
        self.steps = list(zip(plans, target.picks, strict=True))
        # Columns whose cells may be long: numbers, dates and flags never are.
        self.text_columns = [
            i
            for i, (plan, pick) in enumerate(self.steps)
            if pick is not None and plan.type == "string"
        ]
        self.checks = _checks(target)
        self.coordinates = plans[0]._coordinates if plans else ()
        self.codes = _code_columns(target, plans)
        self.names = target.names
        self.constants, self.width = target.constants, target.width
        self.plans, self.scanner, self.collector = plans, scanner, collector

    def start(self, stream: io.TextIOBase) -> None:
        self.write_text = stream.write

    def write(self, chunk: list[tuple[int, list[object]]]) -> None:
        if not chunk:
            return
        rows = [row for row, _cells in chunk]
        # Records are fitted to the columns (layout.BodyReader); a 区分 cell may follow.
        cells = list(zip(*(cells for _row, cells in chunk), strict=False))
        if self.constants:  # after the source columns (a record may carry an empty 区分)
            cells = [*cells[: self.width], *([value] * len(rows) for value in self.constants)]
        columns = [
            [None] * len(rows) if pick is None else plan.convert_column(cells[pick], rows)
            for plan, pick in self.steps
        ]
        for i, change in self.codes:
            _complete_codes(columns[i], change)
        found: list[tuple[int, int, Problem]] = []  # (record, order in it, problem)
        if self.coordinates:  # first: the standard checks a swapped pair as it is swapped
            found.extend(self._check_coordinates(rows, columns))
        for i, check, only_empty in self.checks:
            # Text is normalised: a cell of spaces only is None by now.
            if only_empty and None not in columns[i]:
                continue
            if self.plans[i].type == "string":
                results = list(map(check, columns[i]))
            else:
                # Text left in a typed column is a cell the normaliser could not read, and
                # it said so: one error per cell, not a second from the standard.
                results = [None if v.__class__ is str else check(v) for v in columns[i]]
            if results.count(None) != len(results):
                for n, result in enumerate(results):
                    if result is not None:
                        problem = _cell_problem(self.names[i], rows[n], columns[i][n], *result)
                        found.append((n, i, problem))
        texts = [
            _cell_texts(column, plan.shown if plan.time_format else _csv_text)
            for column, (plan, _pick) in zip(columns, self.steps, strict=True)
        ]
        for i in self.text_columns:
            if max(map(len, texts[i])) > CELL_CHARACTERS:
                found.extend(
                    (n, i, _long_cell(self.names[i], rows[n], text))
                    for n, text in enumerate(texts[i])
                    if len(text) > CELL_CHARACTERS
                )
        found.sort(key=lambda item: item[:2])
        for _n, _order, problem in found:
            self.collector.add(problem)
        self.scanner.feed_columns(rows, columns, texts)
        self.write_text(_csv_lines(texts))

    def _check_coordinates(
        self, rows: list[int], columns: list[list[object]]
    ) -> list[tuple[int, int, Problem]]:
        """check_coordinates on the records whose coordinates are not a pair inside Japan
        (the others it passes without a word); swapped pairs are swapped in `columns`."""
        suspects: set[int] = set()
        for index in self.coordinates:
            partner = self.plans[index].partner
            if partner is None:
                suspects.update(range(len(rows)))
                continue
            suspects.update(
                n
                for n, (lat, lon) in enumerate(zip(columns[index], columns[partner], strict=True))
                if not (
                    lat.__class__ is float
                    and 20.0 <= lat <= 46.0  # type: ignore[operator]
                    and lon.__class__ is float
                    and 122.0 <= lon <= 154.0  # type: ignore[operator]
                )
            )
        found = []
        checks_done = len(self.names)  # coordinates come after the record's cell checks
        for n in sorted(suspects):
            values = [column[n] for column in columns]
            problems = normalize.check_coordinates(self.plans, values, rows[n])
            for order, problem in enumerate(problems, checks_done):
                found.append((n, order, problem))
            for index in self.coordinates:
                partner = self.plans[index].partner
                columns[index][n] = values[index]
                if partner is not None:
                    columns[partner][n] = values[partner]
        return found


def _complete_codes(column: list[object], change: normalize.Change) -> None:
    """5-digit local government codes get their check digit (_code_columns)."""
    for n, value in enumerate(column):
        if value.__class__ is str and len(value) == 5:  # type: ignore[arg-type]
            fixed = _completed_code(value)  # type: ignore[arg-type]
            if fixed:
                column[n] = fixed
                change.count += 1
                if len(change.samples) < 5 and (value, fixed) not in change.samples:
                    change.samples.append((value, fixed))


# --- Large files: chunks of records converted in worker processes -----------------------
#
# The pass is pure Python and spends its time per cell, so a large file is cut into
# chunks that forked workers convert side by side (each a copy of this process's plans,
# caches included). Each chunk comes back as its CSV text and what it counted; taking
# them in file order gives the same file, counts, samples and first problems as the
# pass in one process. Only a bounded number of chunks is in flight.

PARALLEL_RECORDS = 50_000  # smaller files convert in a few seconds in one process
CHUNK_RECORDS = 1_000  # a chunk's columns are many objects at once: 2,000 took 15 MB more
_JOB: _RecordJob | None = None  # the forked workers' job, set just before they start


def _can_fork() -> bool:
    return "fork" in multiprocessing.get_all_start_methods()


def _write_in_processes(
    job: _RecordJob,
    records: Iterator[tuple[int, list[object]]],
    stream: io.TextIOBase,
    processes: int,
    expected: int,
    progress: Progress,
) -> int:
    global _JOB
    _JOB = job
    count = 0
    pending: deque[multiprocessing.pool.AsyncResult] = deque()
    shown = time.monotonic()

    def take_oldest() -> None:
        text, handed = pending.popleft().get()
        stream.write(text)
        _take(job, handed)

    # Objects that exist now stay out of the cyclic collector's passes, in the workers
    # and in this process until they are done: a pass writes to every object it visits,
    # which copies the pages a worker shares with this process (Django, the plans,
    # Sudachi's structures) into the one writing. This process collecting them again at
    # once cost 45 MB at 1,000,000 rows (its full passes came only in a long run).
    gc.freeze()
    try:
        # Forked, the workers start with this process's plans; a spawned one would have
        # to import Django and rebuild them.
        pool = multiprocessing.get_context("fork").Pool(processes, initializer=_worker_start)
        try:
            while chunk := list(islice(records, CHUNK_RECORDS)):
                pending.append(pool.apply_async(_convert_chunk, (count, _packed(chunk))))
                count += len(chunk)
                if len(pending) > 2 * processes:
                    take_oldest()
                if time.monotonic() - shown > 0.5:
                    shown = time.monotonic()
                    _converting(progress, count - len(pending) * CHUNK_RECORDS, expected)
            while pending:
                take_oldest()
            pool.close()  # the workers finish and exit; join waits for them
        except BaseException:
            pool.terminate()
            raise
        finally:
            pool.join()
    finally:
        gc.unfreeze()
        _JOB = None
    return count


_SEPARATOR = "\x1f"  # ASCII's unit separator, which staff files do not hold (checked)


def _packed(chunk: list[tuple[int, list[object]]]) -> Any:
    """The chunk as few objects as possible: pickling 20 strings a record would cost the
    reading process more than the joins. Records whose cells are not all text (Excel's
    numbers and dates) or hold the separator go as they are."""
    try:
        joined = [_SEPARATOR.join(cells) for _n, cells in chunk]  # type: ignore[arg-type]
    except TypeError:
        return chunk
    separators = sum(len(cells) - 1 for _n, cells in chunk)
    if sum(text.count(_SEPARATOR) for text in joined) != separators or not all(
        cells for _n, cells in chunk
    ):
        return chunk
    return [n for n, _cells in chunk], joined


def _unpacked(packed: Any) -> Iterator[tuple[int, list[object]]]:
    if isinstance(packed, list):
        return iter(packed)
    rows, joined = packed
    return zip(rows, (text.split(_SEPARATOR) for text in joined), strict=True)


def _worker_start() -> None:
    """A worker's signals as a new process has them. A task worker (django-tasks'
    db_worker) catches SIGTERM to stop after its task; a forked worker inheriting that
    handler would ignore Pool.terminate and wait for work for ever."""
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _convert_chunk(ordinal: int, packed: Any) -> tuple[str, Any]:
    """(In a worker) the chunk's CSV lines, and what converting it counted."""
    job = _JOB
    assert job is not None, "workers are forked with their job"
    text = io.StringIO()
    job.start(text)
    job.collector = Collector()
    job.scanner.start_at(ordinal)
    job.write(list(_unpacked(packed)))
    handed = (
        [plan.hand_over() for plan in job.plans],
        job.scanner.hand_over(),
        job.collector,
    )
    return text.getvalue(), handed


def _take(job: _RecordJob, handed: Any) -> None:
    plans, scanned, collector = handed
    for plan, counts in zip(job.plans, plans, strict=True):
        plan.take(counts)
    job.scanner.take(scanned)
    job.collector.take(collector)


def _checks(target: Target) -> list[tuple[int, standards.Check, bool]]:
    """Per output column the file has, the standard's cell check (after normalising), and
    whether it can only find empty cells (then it runs on columns that have some).

    A standard column the file lacks is reported once (`required-column-missing`),
    not on every row; an optional text field without rules is not checked at all.
    """
    standard = target.standard
    if standard is None:
        return []
    fields = set(standard.field_names())
    checks = []
    for i, name in enumerate(target.names):
        if name not in fields or target.picks[i] is None:
            continue
        only_empty = standards.checks_only_empty(standard, name)
        if only_empty and not standard.field(name).get("constraints", {}).get("required"):
            continue
        checks.append((i, standards.validator(standard, name), only_empty))
    return checks


def _code_columns(
    target: Target, plans: list[normalize.ColumnPlan]
) -> list[tuple[int, normalize.Change]]:
    """Local government code columns: a 5-digit code gets its check digit (37201 → 372013).

    Systems often export the 5-digit code of JIS X 0402 without the check digit, or
    Excel drops the leading zero; the standards ask for all 6 digits.
    """
    standard = target.standard
    if standard is None:
        return []
    names = {f["name"] for f in standard.schema["fields"] if f.get("check") == "lg-code"}
    return [
        (i, plans[i].changes.setdefault("lg-code", normalize.Change("lg-code")))
        for i, name in enumerate(target.names)
        if name in names and target.picks[i] is not None
    ]


@functools.lru_cache(maxsize=4096)
def _completed_code(code: str) -> str | None:
    return standards.complete_lg_code(code)


# Excel's limit: a longer cell cannot be opened by the residents who download the table,
# and is nearly always text pasted into the wrong place.
CELL_CHARACTERS = 32_767


def _long_cell(column: str, row: int, text: str) -> Problem:
    return _cell_problem(
        column,
        row,
        text,
        "cell-too-long",
        _(
            "the cell holds %(n)s characters; a spreadsheet cell holds at most %(limit)s. "
            "Shorten it or move the text to a document."
        )
        % {"n": f"{len(text):,}", "limit": f"{CELL_CHARACTERS:,}"},
    )


def _cell_problem(column: str, row: int, value: object, code: str, message: str) -> Problem:
    return Problem(
        code=code,
        row=row,
        column=column,
        value=_csv_text(value)[:100],
        message=_("Row %(row)d, column %(column)s: %(message)s")
        % {"row": row, "column": column, "message": message},
    )


def _cell_texts(column: list[object], shown: Callable[[object], str]) -> list[str]:
    """A column's cells as the clean CSV writes them (`shown`: _csv_text, or a time
    column's plan.shown), the usual kinds of column without a call per cell."""
    kinds = set(map(type, column))
    if kinds == {str}:
        return column  # type: ignore[return-value]
    if kinds == {NoneType}:
        return [""] * len(column)
    if kinds <= {str, NoneType}:
        return [value or "" for value in column]  # type: ignore[misc]
    if kinds <= {str, int, float, NoneType}:
        return ["" if value is None else str(value) for value in column]
    if bool in kinds and (int in kinds or float in kinds):
        return list(map(shown, column))  # True == 1: a look-up would mix them up
    # Dates, times and flags repeat: each distinct value is written once.
    written = {value: shown(value) for value in set(column)}
    return list(map(written.__getitem__, column))


_QUOTED = re.compile('[,"\r\n]')


def _csv_lines(texts: list[list[str]]) -> str:
    """CSV lines (RFC 4180, "\n" line ends) of the records in these columns of text:
    a field is quoted when it holds a comma, a quote or a line break, as csv.writer
    quotes, and also for a lone carriage return, which Python 3.11's writer leaves bare
    and its reader then takes for a line end."""
    fields = []
    for column in texts:
        joined = "\x1f".join(column)
        if "," in joined or '"' in joined or "\n" in joined or "\r" in joined:
            column = [
                '"' + text.replace('"', '""') + '"' if _QUOTED.search(text) else text
                for text in column
            ]
        fields.append(column)
    if len(fields) == 1:  # a one-column record with an empty cell is "", not an empty line
        fields = [[text or '""' for text in fields[0]]]
    return "\n".join(map(",".join, zip(*fields, strict=True))) + "\n"


def _csv_text(value: object) -> str:
    if value is None:
        return ""
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    return str(value)


def _preview(output: Path) -> list[list[str]]:
    with output.open(encoding="utf-8", newline="") as stream:
        return list(islice(csv.reader(stream), PREVIEW_RECORDS + 1))


def _schema(target: Target, plans: list[normalize.ColumnPlan]) -> dict[str, Any]:
    """The published table's Table Schema: the standard's fields, then the rest as inferred."""
    if target.standard is not None:
        base = {f["name"]: f for f in standards.schema_for_publish(target.standard)["fields"]}
    else:
        base = {}
    fields = []
    for plan in plans:
        spec = dict(base.get(plan.name, {"name": plan.name}))
        spec["type"] = plan.type
        if plan.type not in {"date", "datetime", "time"}:
            spec.pop("format", None)
        if plan.type == "string" and not _prose(plan):
            spec["x-search"] = False
        if plan.unit and plan.type in {"integer", "number"}:
            # 1,234.5㎡ is published as 1234.5: the unit stays with the column.
            spec["x-unit"] = plan.unit
            spec.setdefault("description", _("Unit: %(unit)s") % {"unit": plan.unit})
        fields.append(spec)
    schema: dict[str, Any] = {"fields": fields}
    if target.standard is not None:
        schema["x-standard"] = target.standard.slug
    return schema


# Text columns that full-text search leaves to filters: codes, numbers, web addresses.
_NOT_PROSE = re.compile(
    r"URL|ＵＲＬ|ホームページ|コード|番号|^NO$|^ID$|カナ|ｶﾅ|郵便|メール|mail", re.IGNORECASE
)


def _prose(plan: normalize.ColumnPlan) -> bool:
    """Whether a text column is words residents search for (names, places, notes).

    Readings of kanji names are indexed already, so カナ columns add nothing; phone
    numbers, postcodes, codes and URLs are found exactly with `eq`/`prefix` filters.
    """
    return plan.role not in {"phone", "postcode", "clock"} and not _NOT_PROSE.search(plan.name)


def read_output(path: Path) -> tuple[list[str], Iterator[list[str]], io.TextIOBase]:
    """The header and records of a converted CSV (the caller closes the stream)."""
    stream = path.open(encoding="utf-8", newline="")
    reader = csv.reader(stream)
    header = next(reader)
    return header, reader, stream
