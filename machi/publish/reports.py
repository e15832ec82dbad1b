"""A run's report as plain text: what the CLI prints and the report page summarises."""

from __future__ import annotations

from django.utils.translation import gettext as _
from django.utils.translation import ngettext, pgettext_lazy

from machi.publish import standards
from machi.publish.forms import TYPES
from machi.publish.models import Run

SHOWN_PROBLEMS = 30
TYPE_NAMES = dict(TYPES)  # a column type as staff read it

# What each normalising rule did, as the report names it (a rule's code is in the JSON).
RULE_NAMES = {
    # Both ways: ＡＢＣ１２３ to half width, ﾊﾝｶｸ to full width.
    "width": pgettext_lazy("change rule", "full and half width made uniform"),
    "kana": pgettext_lazy("change rule", "half-width kana to full width"),
    "wareki": pgettext_lazy("change rule", "Japanese era to Western year"),
    "date": pgettext_lazy("change rule", "date"),
    "datetime": pgettext_lazy("change rule", "date and time"),
    "time": pgettext_lazy("change rule", "time"),
    "number": pgettext_lazy("change rule", "number"),
    "flag": pgettext_lazy("change rule", "yes/no"),
    "phone": pgettext_lazy("change rule", "phone number"),
    "postcode": pgettext_lazy("change rule", "postcode"),
    "space": pgettext_lazy("change rule", "spaces"),
    "latlon": pgettext_lazy("change rule", "latitude and longitude"),
    "swapped-latlon": pgettext_lazy("change rule", "latitude and longitude swapped"),
    "lg-code": pgettext_lazy("change rule", "check digit of the local government code"),
    "dash": pgettext_lazy("change rule", "mark for an empty cell"),
    "mark": pgettext_lazy("change rule", "mark to 1 or empty"),
    "yes-no": pgettext_lazy("change rule", "mark to 有 or 無"),
}


def rule_name(rule: str) -> str:
    return str(RULE_NAMES.get(rule, rule))


def as_text(run: Run) -> str:
    report = run.report
    lines = [_("File: %(name)s") % {"name": run.filename}]
    facts = report.get("file", {})
    if facts.get("format"):
        lines.append(_("Format: %(format)s") % {"format": facts["format"]})
    if facts.get("encoding"):
        lines.append(_("Encoding: %(encoding)s") % {"encoding": facts["encoding"]})
    sheets = facts.get("sheets") or []
    if len(sheets) > 1 or (sheets and sheets[0].get("name")):
        chosen = run.options.get("sheet", 0)
        lines.append(
            _("Sheets: %(sheets)s")
            % {
                "sheets": ", ".join(
                    ("*" if s["index"] == chosen else "") + (s["name"] or str(s["index"] + 1))
                    for s in sheets
                )
            }
        )
    found = report.get("layout")
    if found:
        lines.append(
            ngettext(
                "Header: row %(rows)s; data from row %(start)d",
                "Header: rows %(rows)s; data from row %(start)d",
                len(found["header_rows"]),
            )
            % {"rows": ", ".join(map(str, found["header_rows"])), "start": found["body_start"]}
        )
        if found.get("title"):
            lines.append(_("Title above the table: %(title)s") % {"title": found["title"]})
    standard = report.get("standard") or {}
    if standard.get("slug"):
        lines.append(
            _("Standard: %(title)s (%(slug)s, match %(score)d%%)")
            % {
                "title": standards.standard_title(standard["slug"]),
                "slug": standard["slug"],
                "score": round(100 * standard.get("score", 0)),
            }
        )
    elif "standard" in report:
        lines.append(_("Standard: none matched"))
    body = report.get("body")
    if body:
        lines.append(
            _("Rows: %(n)s (blank rows skipped %(blank)d, section rows %(sections)d)")
            % {
                "n": f"{body['records']:,}",
                "blank": body["blank_rows"],
                "sections": body["sections"],
            }
        )
    if body and body.get("footnotes"):
        lines.append(
            _("Notes under the table (not imported): %(notes)s")
            % {"notes": " / ".join(body["footnotes"])}
        )
    columns = report.get("columns") or []
    if columns:
        lines.append(_("Columns:"))
        for column in columns:
            source = column.get("source")
            renamed = f" ← {source}" if source and source != column["name"] else ""
            kind = column["type"]
            unit = column.get("unit")
            shown = f" {_('unit: %(unit)s') % {'unit': unit}}" if unit else ""
            lines.append(
                f"  {column['name']}{renamed}: {TYPE_NAMES.get(kind, kind)} ({kind}){shown}"
            )
            for change in column["changes"]:
                sample = "; ".join(
                    f"{a} → {b if b != '' else _('(empty)')}" for a, b in change["samples"][:2]
                )
                lines.append(
                    "    "
                    + _("%(rule)s: %(n)s changed (%(sample)s)")
                    % {
                        "rule": rule_name(change["rule"]),
                        "n": f"{change['count']:,}",
                        "sample": sample,
                    }
                )
    for finding in report.get("privacy") or []:
        lines.append(_("Personal data? %(message)s") % {"message": finding["message"]})
    lines.append(
        _("Errors: %(errors)s, warnings: %(warnings)s")
        % {"errors": f"{run.error_count:,}", "warnings": f"{run.warning_count:,}"}
    )
    problems = report.get("problems") or []
    for problem in problems[:SHOWN_PROBLEMS]:
        mark = "E" if problem.get("level", "error") == "error" else "W"
        lines.append(f"  [{mark}] {problem['message']}")
    hidden = run.error_count + run.warning_count - min(len(problems), SHOWN_PROBLEMS)
    if hidden > 0:
        lines.append("  " + _("… and %(n)s more") % {"n": f"{hidden:,}"})
    return "\n".join(lines)
