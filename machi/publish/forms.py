"""Forms of the staff publishing pages."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from machi.catalog.models import Dataset
from machi.publish import standards

TYPES = [
    ("string", pgettext_lazy("column type", "text")),
    ("integer", _("integer")),
    ("number", _("number")),
    ("boolean", _("yes/no")),
    ("date", _("date")),
    ("time", _("time")),
    ("datetime", _("date and time")),
    ("year", _("year")),
]


def standard_options() -> list[tuple[str, str]]:
    """Every standard machi knows, as a choice: its slug, and its name with the slug."""
    return [
        (s.slug, f"{standards.standard_title(s.slug)} ({s.slug})")
        for s in standards.all_standards()
    ]


def standard_choices(blank: str) -> list[tuple[str, str]]:
    return [("auto", blank), ("none", _("No standard")), *standard_options()]


class DescribedErrors:
    """A field's help and error are what a screen reader announces with the field
    (_form_fields.html renders them as id_<name>-help and id_<name>-error)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[call-arg]
        for name, field in self.fields.items():  # type: ignore[attr-defined]
            if field.help_text:
                field.widget.attrs["aria-describedby"] = f"id_{name}-help"

    def full_clean(self) -> None:
        super().full_clean()  # type: ignore[misc]
        self._describe_errors()

    def add_error(self, field: str | None, error: Any) -> None:
        """Errors a view adds after validation (a refused publication) are described too."""
        super().add_error(field, error)  # type: ignore[misc]
        self._describe_errors()

    def _describe_errors(self) -> None:
        for name in self._errors or {}:  # type: ignore[attr-defined]
            if name not in self.fields:  # type: ignore[attr-defined]
                continue
            attrs = self.fields[name].widget.attrs  # type: ignore[attr-defined]
            described = attrs.get("aria-describedby", "").split()
            if f"id_{name}-error" not in described:
                attrs["aria-describedby"] = " ".join([*described, f"id_{name}-error"])
            attrs["aria-invalid"] = "true"


class UploadForm(DescribedErrors, forms.Form):
    file = forms.FileField(
        label=_("Excel or CSV file"),
        help_text=_("CSV, TSV or TXT in any Japanese encoding; XLSX, XLS or ODS workbooks."),
    )
    dataset = forms.ModelChoiceField(queryset=Dataset.objects.none(), label=_("Dataset"))
    resource_name = forms.CharField(
        label=_("Resource name"),
        required=False,
        max_length=300,
        help_text=_(
            "The resource this file replaces; a new resource when the dataset has none by "
            "this name. Empty: the dataset's only table, or a new one, named after the "
            "dataset when it is its first table, else after the file."
        ),
    )
    standard = forms.ChoiceField(label=_("Standard dataset"), choices=())

    def __init__(self, *args: Any, datasets: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["dataset"].queryset = datasets
        self.fields["standard"].choices = standard_choices(_("Find automatically"))


class LayoutForm(DescribedErrors, forms.Form):
    sheet = forms.TypedChoiceField(label=_("Sheet"), coerce=int, choices=(), required=False)
    header_rows = forms.CharField(
        label=_("Header row numbers"),
        help_text=_("For a header over two rows, give both: 3,4"),
        max_length=50,
    )
    body_start = forms.IntegerField(
        label=_("First data row"),
        help_text=_("Empty: the first filled row under the header."),
        min_value=1,
        required=False,
    )
    section_mode = forms.ChoiceField(
        label=_("Section rows (such as ＜手続き・くらし＞)"),
        choices=[("column", _("Keep as a column “区分”")), ("drop", _("Drop"))],
        widget=forms.RadioSelect,
    )

    def __init__(
        self,
        *args: Any,
        sheets: list[dict[str, Any]],
        found: dict[str, Any] | None = None,
        sheet_now: int = 0,
        **kwargs: Any,
    ) -> None:
        """`found`: the layout being corrected (the report's), which the form starts from;
        `sheet_now`: the sheet it was found in."""
        super().__init__(*args, **kwargs)
        self.sheet_now = sheet_now
        self.fields["sheet"].choices = [
            (s["index"], s["name"] or str(s["index"] + 1)) for s in sheets
        ]
        self.found = found or {}

    def clean_header_rows(self) -> list[int]:
        text = self.cleaned_data["header_rows"].replace("、", ",").replace(" ", "")
        try:
            rows = sorted({int(n) for n in text.split(",") if n})
        except ValueError:
            raise forms.ValidationError(_("Give row numbers such as 3 or 3,4.")) from None
        if not rows or rows[0] < 1:
            raise forms.ValidationError(_("Give row numbers such as 3 or 3,4."))
        if rows != list(range(rows[0], rows[-1] + 1)):
            raise forms.ValidationError(
                _("A header over several rows is rows next to each other, such as 3,4.")
            )
        last = self.found.get("last_head_row")
        other_sheet = self.cleaned_data.get("sheet") not in (None, self.sheet_now)
        if last and rows[-1] > last and not other_sheet:  # another sheet has other rows
            raise forms.ValidationError(
                _("Choose header rows among rows 1 to %(last)d.") % {"last": last}
            )
        return rows

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        rows, start = data.get("header_rows"), data.get("body_start")
        if not rows:
            return data
        if start == self.found.get("body_start") and rows != self.found.get("header_rows"):
            # The first data row was left as guessed for the old header: found anew.
            data["body_start"] = start = None
        if start is not None and start <= rows[-1]:
            self.add_error(
                "body_start",
                _("The first data row must come after the header (row %(row)d).")
                % {"row": rows[-1]},
            )
        return data

    def options(self) -> dict[str, Any]:
        data = self.cleaned_data
        options: dict[str, Any] = {
            "header_rows": data["header_rows"],
            "body_start": data.get("body_start"),
            "section_mode": data["section_mode"],
        }
        if data.get("sheet") is not None:
            options["sheet"] = data["sheet"]
        return options


REMOVE = "-"  # a mapping choice: leave the column out of the published table


class StandardForm(forms.Form):
    standard = forms.ChoiceField(label=_("Standard dataset"), choices=())

    def __init__(self, *args: Any, columns: list[str], fields: list[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["standard"].choices = standard_choices(_("Best match"))
        self.columns = columns
        choices = [
            ("", _("(not in the standard: keep after its columns)")),
            (REMOVE, _("(remove this column)")),
        ] + [(f, f) for f in fields]
        for i, column in enumerate(columns):
            self.fields[f"map_{i}"] = forms.ChoiceField(
                label=column, choices=choices, required=False
            )

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        targets = [data.get(f"map_{i}") for i in range(len(self.columns))]
        by_target: dict[str, list[str]] = {}
        for column, target in zip(self.columns, targets, strict=True):
            if target and target != REMOVE:
                by_target.setdefault(target, []).append(column)
        for target, columns in by_target.items():
            if len(columns) > 1:
                raise forms.ValidationError(
                    _("%(columns)s are all mapped to the standard column %(target)s: choose one.")
                    % {"columns": "、".join(f"「{c}」" for c in columns), "target": f"「{target}」"}
                )
        return data

    def options(self, changed_standard: bool) -> dict[str, Any]:
        slug = self.cleaned_data["standard"]
        options: dict[str, Any] = {
            "standard": None if slug == "auto" else ("" if slug == "none" else slug)
        }
        chosen = {
            column: self.cleaned_data.get(f"map_{i}") or "" for i, column in enumerate(self.columns)
        }
        # Every column of the file is listed, removed ones too: the list is the whole choice.
        options["drop_columns"] = [c for c, target in chosen.items() if target == REMOVE]
        if changed_standard:
            options["mapping"] = None
        else:
            options["mapping"] = {c: "" if t == REMOVE else t for c, t in chosen.items()}
        return options


class PublishForm(DescribedErrors, forms.Form):
    override_reason = forms.CharField(
        label=_("Reason for publishing with errors"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Kept in the audit log."),
    )
