"""Staff pages: upload a file, review what the pipeline found and changed, publish, roll back."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from machi.accounts.models import Role
from machi.accounts.permissions import department_ids, is_site_admin
from machi.catalog import permissions
from machi.catalog.models import Dataset, Resource, ResourceVersion
from machi.publish import forms, reports, services, standards, tasks
from machi.publish.models import Run, RunStatus
from machi.publish.problems import column_letter

staff_only = login_required(login_url="admin:login")
SHOWN_PROBLEMS = 200


def editable_datasets(user: Any) -> QuerySet[Dataset]:
    datasets = Dataset.objects.select_related("department").order_by("title")
    if is_site_admin(user):
        return datasets
    return datasets.filter(department_id__in=department_ids(user, Role.EDITOR))


def _run(request: HttpRequest, uid: str) -> Run:
    run = get_object_or_404(Run.objects.select_related("dataset__department", "resource"), uid=uid)
    if not permissions.can_edit_dataset(request.user, run.dataset):
        raise Http404
    return run


@staff_only
@require_http_methods(["GET", "HEAD", "POST"])
def runs(request: HttpRequest) -> HttpResponse:
    datasets = editable_datasets(request.user)
    form = forms.UploadForm(
        request.POST or None,
        request.FILES or None,
        datasets=datasets,
        initial={"dataset": request.GET.get("dataset"), "standard": "auto"},
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        dataset = data["dataset"]
        name = data["resource_name"].strip()
        resource = _resource_named(dataset, name)
        options: dict[str, Any] = {}
        if data["standard"] != "auto":
            options["standard"] = "" if data["standard"] == "none" else data["standard"]
        try:
            run = services.start_run(
                actor=request.user,
                dataset=dataset,
                upload=data["file"],
                resource=resource,
                resource_name=name,
                options=options,
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            tasks.queue_conversion(run)
            return redirect("publish:run", uid=run.uid)
    recent = Run.objects.filter(dataset__in=datasets).select_related("dataset", "resource")[:50]
    return render(request, "publish/runs.html", {"form": form, "runs": recent})


def _resource_named(dataset: Dataset, name: str) -> Resource | None:
    if name:
        return dataset.resources.filter(current__isnull=False, name=name).first()
    return services.only_table(dataset)


@staff_only
@require_safe
def run_detail(request: HttpRequest, uid: str) -> HttpResponse:
    run = _run(request, uid)
    return render(request, "publish/run.html", _run_context(request, run))


def _run_context(request: HttpRequest, run: Run, **forms_given: Any) -> dict[str, Any]:
    report = run.report or {}
    context: dict[str, Any] = {
        "run": run,
        "report": report,
        "text_report": reports.as_text(run) if run.status == RunStatus.REVIEW else "",
        "problems": (report.get("problems") or [])[:SHOWN_PROBLEMS],
        "findings": services.open_findings(run),
        "privacy_columns": _privacy_columns(run),
        # As the CLI report says it (一致度 33%), not a fraction.
        "standard_match": f"{round(100 * (report.get('standard') or {}).get('score', 0))}%",
        "standard_title": standards.standard_title((report.get("standard") or {}).get("slug", "")),
        "sheets": (sheets := _sheets(run, report)),
        "other_sheets": [sheet["label"] for sheet in sheets if not sheet["chosen"]],
        "can_override": services.can_override(request.user, run.dataset),
        "columns": [
            {
                **column,
                "type_label": reports.TYPE_NAMES.get(column["type"], column["type"]),
                "changes": [
                    {
                        **change,
                        "label": reports.rule_name(change["rule"]),
                        "samples": _shown_samples(change),
                    }
                    for change in column["changes"]
                ],
            }
            for column in report.get("columns", [])
        ],
    }
    context["editable"] = run.status == RunStatus.REVIEW
    # A refused form re-renders the whole page: the summary at its top says where.
    context["form_errors"] = [
        _form_error(forms_given[key], anchor, label)
        for key, anchor, label in (
            ("layout_form", "layout-form", _("The header and the sheet")),
            ("standard_form", "standard-h", _("National standard")),
            ("publish_form", "publish-h", _("Publish")),
        )
        if forms_given.get(key) is not None and forms_given[key].errors
    ]
    if run.status in {RunStatus.REVIEW, RunStatus.PUBLISHED} and "layout" in report:
        found = report["layout"]
        width = max((len(cells) for _n, cells in found["head"]), default=0)
        context["head_columns"] = [column_letter(n) for n in range(width)]
        context["layout_form"] = forms_given.get("layout_form") or forms.LayoutForm(
            initial={
                "sheet": run.options.get("sheet", 0),
                "header_rows": ",".join(map(str, found["header_rows"])),
                "body_start": found["body_start"],
                "section_mode": found["section_mode"],
            },
            sheets=report["file"].get("sheets", []),
            found=found,
        )
        context["standard_form"] = forms_given.get("standard_form") or _standard_form(run)
        context["types"] = forms.TYPES
        context["publish_form"] = forms_given.get("publish_form") or forms.PublishForm()
        context["replacement"] = services.replacement(run)
    return context


# Spaces made visible in the space rule's samples: before and after looked the same.
_VISIBLE_SPACES = str.maketrans({" ": "␣", "\u3000": "□", "\t": "⇥", "\xa0": "⍽"})


def _shown_samples(change: dict[str, Any]) -> list[list[str]]:
    samples = [[a, b if b != "" else _("(empty)")] for a, b in change.get("samples", [])]
    if change.get("rule") != "space":
        return samples
    return [[str(text).translate(_VISIBLE_SPACES) for text in pair] for pair in samples]


def _form_error(form: Any, anchor: str, label: str) -> tuple[str, str, str]:
    """(where the summary's link goes, its label, the first error): the field in error
    when one is, so that the link puts the reader on it."""
    name, errors = next(iter(form.errors.items()))
    if name in form.fields:
        anchor = form[name].id_for_label
    return anchor, label, errors[0]


def _standard_form(run: Run, data: Any = None) -> forms.StandardForm:
    report = run.report
    standard = report.get("standard") or {}
    fields = standards.get(standard["slug"]).field_names() if standard.get("slug") else []
    columns = report.get("source_columns") or []
    mapping = standard.get("mapping") or {}
    dropped = set(run.options.get("drop_columns", []))
    chosen = run.options.get("standard")
    initial: dict[str, Any] = {
        "standard": "auto" if chosen is None else (chosen or "none"),
        **{
            f"map_{i}": forms.REMOVE if c in dropped else mapping.get(c, "")
            for i, c in enumerate(columns)
        },
    }
    return forms.StandardForm(data, initial=initial, columns=columns, fields=fields)


@staff_only
@require_safe
def run_progress(request: HttpRequest, uid: str) -> JsonResponse:
    run = _run(request, uid)
    return JsonResponse(
        {
            "status": run.status,
            "status_display": run.get_status_display(),
            "stage": run.stage,
            "progress": run.progress,
            "busy": run.is_busy,
        }
    )


@staff_only
@require_POST
def run_layout(request: HttpRequest, uid: str) -> HttpResponse:
    run = _run(request, uid)
    form = forms.LayoutForm(
        request.POST,
        sheets=run.report.get("file", {}).get("sheets", []),
        found=run.report.get("layout"),
        sheet_now=run.options.get("sheet", 0),
    )
    if not form.is_valid():
        return render(
            request, "publish/run.html", _run_context(request, run, layout_form=form), status=400
        )
    options = form.options()
    found = run.report.get("layout") or {}
    if options.get("sheet", 0) != run.options.get("sheet", 0):
        # Another sheet: its header is found afresh, unless staff gave its header rows
        # with it; what to do with section rows holds.
        if options["header_rows"] == found.get("header_rows"):
            options = {**options, "header_rows": None}
        if options["body_start"] == found.get("body_start"):
            options = {**options, "body_start": None}
    return _reconvert(request, run, options)


@staff_only
@require_POST
def run_standard(request: HttpRequest, uid: str) -> HttpResponse:
    run = _run(request, uid)
    form = _standard_form(run, request.POST)
    if not form.is_valid():
        return render(
            request, "publish/run.html", _run_context(request, run, standard_form=form), status=400
        )
    before = run.options.get("standard")
    before = "auto" if before is None else (before or "none")
    options = form.options(changed_standard=form.cleaned_data["standard"] != before)
    return _reconvert(request, run, options)


@staff_only
@require_POST
def run_columns(request: HttpRequest, uid: str) -> HttpResponse:
    run = _run(request, uid)
    allowed = {t for t, _label in forms.TYPES}
    types = dict(run.options.get("types", {}))
    for i, column in enumerate(run.report.get("columns", [])):
        wanted = request.POST.get(f"type_{i}")
        if wanted in allowed and wanted != column["type"]:
            types[column["name"]] = wanted
    return _reconvert(request, run, {"types": types})


def _sheets(run: Run, report: dict[str, Any]) -> list[dict[str, Any]]:
    """The workbook's sheets by name (or number), marking the one read."""
    chosen = run.options.get("sheet", 0)
    return [
        {"label": sheet["name"] or str(sheet["index"] + 1), "chosen": sheet["index"] == chosen}
        for sheet in report.get("file", {}).get("sheets", [])
    ]


def _privacy_columns(
    run: Run, answers: Any = None, unanswered: Sequence[str] = ()
) -> list[dict[str, Any]]:
    """The report's personal-data findings by column, in order: staff answer once per
    column (public on purpose, or removed), whatever kinds of data were found in it.
    `answers` (a refused form's) keep their choice; `unanswered` columns are marked."""
    columns: dict[str, dict[str, Any]] = {}
    confirmed = run.options.get("privacy_confirmed", [])
    for finding in (run.report or {}).get("privacy", []):
        column = columns.setdefault(
            finding["column"],
            {"column": finding["column"], "messages": [], "kinds": set()},
        )
        column["messages"].append(finding["message"])
        column["kinds"].add(finding["kind"])
    for n, column in enumerate(columns.values()):
        column["anchor"] = f"privacy-{n}"
        given = answers.get(f"privacy_{column['column']}") if answers is not None else None
        column["choice"] = given or ("public" if column["column"] in confirmed else None)
        column["missing"] = column["column"] in unanswered
        column["only_my_numbers"] = column["kinds"] == {"my-number"}
    return list(columns.values())


@staff_only
@require_POST
def run_privacy(request: HttpRequest, uid: str) -> HttpResponse:
    run = _run(request, uid)
    confirmed = set(run.options.get("privacy_confirmed", []))
    dropped = set(run.options.get("drop_columns", []))
    restored = request.POST.get("restore")
    if restored in dropped:  # a removed column taken back: it is converted and asked again
        messages.success(request, _("Column %(column)s is back.") % {"column": restored})
        return _reconvert(request, run, {"drop_columns": sorted(dropped - {restored})})
    unanswered = []
    for column in dict.fromkeys(f["column"] for f in run.report.get("privacy", [])):
        choice = request.POST.get(f"privacy_{column}")
        if choice == "public":
            confirmed.add(column)
        elif choice == "remove":
            dropped.add(_source_of(run, column))
        elif column not in confirmed:
            unanswered.append(column)
    if unanswered:
        # Nothing is saved: the page comes back with the choices made still chosen, the
        # columns without one marked, and a summary at its top that links to them.
        context = _run_context(request, run)
        context["privacy_columns"] = _privacy_columns(run, request.POST, unanswered)
        context["form_errors"] = [
            (
                f"{column['anchor']}-public",
                _("Column %(column)s") % {"column": column["column"]},
                _("Choose whether it is public on purpose or to be removed."),
            )
            for column in context["privacy_columns"]
            if column["missing"]
        ]
        return render(request, "publish/run.html", context, status=400)
    removed = dropped - set(run.options.get("drop_columns", []))
    if removed:
        messages.success(
            request,
            _("Removed %(columns)s; “Removed columns” below can bring it back.")
            % {"columns": _(", ").join(sorted(removed))},
        )
        return _reconvert(
            request, run, {"privacy_confirmed": sorted(confirmed), "drop_columns": sorted(dropped)}
        )
    # Confirming needs no new conversion: the findings stay in the report, marked as seen.
    services.confirm_public(actor=request.user, run=run, columns=sorted(confirmed))
    messages.success(request, _("Saved."))
    return redirect("publish:run", uid=run.uid)


def _source_of(run: Run, column: str) -> str:
    for spec in run.report.get("columns", []):
        if spec["name"] == column:
            return spec.get("source") or column
    return column


def _reconvert(request: HttpRequest, run: Run, options: dict[str, Any]) -> HttpResponse:
    try:
        run = services.set_options(actor=request.user, run=run, options=options)
    except (services.PublishError, ValidationError) as error:
        messages.error(request, _message(error))
        return redirect("publish:run", uid=run.uid)
    tasks.queue_conversion(run)
    return redirect("publish:run", uid=run.uid)


@staff_only
@require_POST
def run_publish(request: HttpRequest, uid: str) -> HttpResponse:
    run = _run(request, uid)
    form = forms.PublishForm(request.POST)
    form.is_valid()
    try:
        run = services.request_publication(
            actor=request.user,
            run=run,
            override_reason=form.cleaned_data.get("override_reason", ""),
        )
    except (services.PublishError, PermissionDenied) as error:
        form.add_error(getattr(error, "field", None), str(error))
        return render(
            request, "publish/run.html", _run_context(request, run, publish_form=form), status=400
        )
    tasks.queue_publication(run)
    return redirect("publish:run", uid=run.uid)


@staff_only
@require_safe
def versions(request: HttpRequest, uid: str) -> HttpResponse:
    resource = _editable_resource(request, uid)
    listed = resource.versions.select_related("created_by", "run").prefetch_related("table")
    return render(request, "publish/versions.html", {"resource": resource, "versions": listed})


@staff_only
@require_http_methods(["GET", "HEAD", "POST"])
def rollback(request: HttpRequest, uid: str, number: int) -> HttpResponse:
    """Ask first, then serve an earlier version again: residents' data and the API change
    at once, so the page says what will be served instead of what."""
    resource = _editable_resource(request, uid)
    version = get_object_or_404(
        ResourceVersion.objects.select_related("run", "created_by").prefetch_related("table"),
        resource=resource,
        number=number,
    )
    if resource.current_id == version.pk:
        return redirect("publish:versions", uid=resource.uid)
    if request.method == "POST":
        services.rollback(actor=request.user, version=version)
        messages.success(
            request, _("Version %(n)d is now the published one.") % {"n": version.number}
        )
        return redirect("publish:versions", uid=resource.uid)
    return render(
        request,
        "publish/rollback.html",
        {"resource": resource, "version": version, "current": resource.current},
    )


def _editable_resource(request: HttpRequest, uid: str) -> Resource:
    resource = get_object_or_404(Resource.objects.select_related("dataset", "current"), uid=uid)
    if not permissions.can_edit_dataset(request.user, resource.dataset):
        raise Http404
    return resource


def _message(error: Exception) -> str:
    if isinstance(error, ValidationError):
        return " ".join(error.messages)
    return str(error)
