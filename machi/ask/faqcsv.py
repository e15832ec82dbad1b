"""The FAQ as a CSV file: `id,question,answer,category,department,url` and optional columns.

Optional columns: question_en, answer_en, variants (phrasings separated by `|`), contact,
last_reviewed (YYYY-MM-DD). Files from Excel (UTF-8 with a byte order mark, or Shift_JIS) are
read too. Every problem is reported with its line and column; a file with problems changes
nothing.
"""

from __future__ import annotations

import csv
import datetime
import io
import re
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.utils.translation import gettext as _

REQUIRED = ("id", "question", "answer", "category", "department", "url")
OPTIONAL = ("question_en", "answer_en", "variants", "contact", "last_reviewed")
COLUMNS = REQUIRED + OPTIONAL
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_LIMITS = {"category": 100, "department": 200, "contact": 300, "url": 500}


@dataclass(frozen=True)
class Problem:
    line: int
    column: str
    message: str

    def __str__(self) -> str:
        if self.column:
            return _("Line %(line)s, column %(column)s: %(message)s") % {
                "line": self.line,
                "column": self.column,
                "message": self.message,
            }
        return _("Line %(line)s: %(message)s") % {"line": self.line, "message": self.message}


class FaqFileError(Exception):
    """The file cannot be imported; `problems` says where and why."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("\n".join(str(problem) for problem in problems))
        self.problems = problems


@dataclass(frozen=True)
class Row:
    public_id: str
    fields: dict[str, object]
    variants: list[str]


def decode(data: bytes) -> str:
    for encoding in ("utf-8-sig", "cp932"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise FaqFileError(
        [Problem(1, "", _("The file is neither UTF-8 nor Shift_JIS text. Save it as CSV UTF-8."))]
    )


def read(data: bytes) -> list[Row]:
    """The rows of a FAQ file, or FaqFileError listing every problem."""
    reader = csv.DictReader(io.StringIO(decode(data), newline=""))
    header = [name.strip() for name in reader.fieldnames or []]
    missing = [name for name in REQUIRED if name not in header]
    if missing:
        raise FaqFileError(
            [
                Problem(
                    1,
                    "",
                    _("The header lacks the columns %(columns)s. It must start with %(header)s.")
                    % {"columns": ", ".join(missing), "header": ",".join(REQUIRED)},
                )
            ]
        )
    reader.fieldnames = header
    problems: list[Problem] = []
    rows: list[Row] = []
    seen: dict[str, int] = {}
    for record in reader:
        line = reader.line_num
        row_problems: list[Problem] = []
        values = {name: (record.get(name) or "").strip() for name in COLUMNS}
        if None in record:
            row_problems.append(Problem(line, "", _("This line has more cells than the header.")))
        public_id = values["id"]
        if not public_id:
            row_problems.append(Problem(line, "id", _("The id is empty.")))
        elif not _ID.match(public_id):
            row_problems.append(
                Problem(
                    line,
                    "id",
                    _("The id may use only letters, digits, '-', '_' and '.' (64 at most)."),
                )
            )
        elif public_id in seen:
            row_problems.append(
                Problem(
                    line,
                    "id",
                    _("The id %(id)s is already used on line %(line)s.")
                    % {"id": public_id, "line": seen[public_id]},
                )
            )
        else:
            seen[public_id] = line
        for name in ("question", "answer"):
            if not values[name]:
                row_problems.append(Problem(line, name, _("This cell is empty.")))
        for name, limit in _LIMITS.items():
            if len(values[name]) > limit:
                row_problems.append(
                    Problem(
                        line,
                        name,
                        _("At most %(limit)s characters (this has %(count)s).")
                        % {"limit": limit, "count": len(values[name])},
                    )
                )
        if values["url"]:
            try:
                URLValidator(schemes=["http", "https"])(values["url"])
            except ValidationError:
                row_problems.append(Problem(line, "url", _("This is not an http(s) address.")))
        reviewed = None
        if values["last_reviewed"]:
            try:
                reviewed = datetime.date.fromisoformat(values["last_reviewed"])
            except ValueError:
                row_problems.append(
                    Problem(line, "last_reviewed", _("Enter a date as YYYY-MM-DD."))
                )
        problems.extend(row_problems)
        if row_problems:
            continue
        variants = [part.strip() for part in values["variants"].split("|") if part.strip()]
        fields: dict[str, object] = {
            name: values[name]
            for name in ("question", "answer", "category", "department", "url")
            + ("question_en", "answer_en", "contact")
        }
        fields["variants"] = "\n".join(variants)
        fields["last_reviewed"] = reviewed
        rows.append(Row(public_id, fields, variants))
    if problems:
        raise FaqFileError(problems)
    if not rows:
        raise FaqFileError([Problem(2, "", _("The file has no entries."))])
    return rows


def write(entries: list[dict[str, object]]) -> str:
    """The FAQ as CSV text with every column (`variants` joined by `|`)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    for entry in entries:
        variants = str(entry["variants"] or "").splitlines()
        reviewed = entry["last_reviewed"]
        writer.writerow(
            [
                entry["public_id"],
                entry["question"],
                entry["answer"],
                entry["category"],
                entry["department"],
                entry["url"],
                entry["question_en"],
                entry["answer_en"],
                "|".join(v.strip() for v in variants if v.strip()),
                entry["contact"],
                reviewed.isoformat() if isinstance(reviewed, datetime.date) else "",
            ]
        )
    return out.getvalue()
