"""Back office: publish runs (worked on at /staff/publish/), the data register, refreshes."""

from typing import Any

from django import forms
from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from machi.accounts.models import Role
from machi.accounts.permissions import has_role
from machi.catalog import permissions
from machi.catalog.admin import DepartmentScopedAdmin
from machi.catalog.models import Dataset, Resource
from machi.publish import forms as publish_forms
from machi.publish import refresh, register
from machi.publish.models import Holding, Refresh, Run, RunStatus
from machi.publish.standards import standard_title


@admin.register(Run)
class RunAdmin(DepartmentScopedAdmin):
    department_path = "dataset__department"
    list_display = ["filename", "dataset", "status", "row_count", "error_count", "created", "page"]
    list_filter = ["status"]
    search_fields = ["filename", "dataset__title"]
    fields = ["page", "dataset", "resource", "filename", "status", "row_count", "error_count"]
    readonly_fields = fields

    @admin.display(description=_("report"))
    def page(self, run: Run) -> str:
        return format_html(
            '<a href="{}">{}</a>', reverse("publish:run", args=[run.uid]), _("Open the report")
        )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # uploads start at /staff/publish/

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Holding)
class HoldingAdmin(DepartmentScopedAdmin):
    list_display = ["title", "department", "status", "standard_name", "dataset", "modified"]
    list_filter = ["status", "department"]
    search_fields = ["title", "system", "notes"]

    @admin.display(description=_("standard dataset"), ordering="standard")
    def standard_name(self, holding: Holding) -> str:
        return standard_title(holding.standard) or "-"

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if obj is None:
            return self.has_add_permission(request)
        return has_role(request.user, obj.department, Role.EDITOR)

    has_delete_permission = has_change_permission

    def formfield_for_dbfield(self, db_field, request, **kwargs):  # type: ignore[no-untyped-def]
        if db_field.name == "standard":  # chosen from machi's standards, by their names
            choices = [("", "---------"), *publish_forms.standard_options()]
            return forms.ChoiceField(label=db_field.verbose_name, choices=choices, required=False)
        return super().formfield_for_dbfield(db_field, request, **kwargs)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):  # type: ignore[no-untyped-def]
        if db_field.name == "dataset":  # the datasets of the departments the user edits
            kwargs["queryset"] = Dataset.objects.filter(
                department__in=self.editable_departments(request)
            ).order_by("title")
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def save_model(self, request: HttpRequest, obj: Holding, form: Any, change: bool) -> None:
        register.save_holding(actor=request.user, holding=obj)

    def delete_model(self, request: HttpRequest, obj: Holding) -> None:
        register.delete_holding(actor=request.user, holding=obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Holding]) -> None:
        for holding in queryset:
            register.delete_holding(actor=request.user, holding=holding)


@admin.register(Refresh)
class RefreshAdmin(DepartmentScopedAdmin):
    department_path = "resource__dataset__department"
    list_display = [
        "resource",
        "url",
        "folder",
        "every_hours",
        "enabled",
        "last_checked",
        "last_result",
        "last_report",
    ]
    readonly_fields = ["last_checked", "last_sha256", "last_result", "last_report"]
    actions = ["check_now"]

    @admin.action(
        description=_("Check now (publish the new file if it changed)"), permissions=["change"]
    )
    def check_now(self, request: HttpRequest, queryset: QuerySet[Refresh]) -> None:
        for item in queryset.select_related("resource__dataset"):
            refresh.request_check(actor=request.user, refresh=item)
        self.message_user(
            request,
            ngettext(
                "%(n)d source will be checked in a moment; see its last result here.",
                "%(n)d sources will be checked in a moment; see their last results here.",
                len(queryset),
            )
            % {"n": len(queryset)},
        )

    @admin.display(description=_("report of the last new file"))
    def last_report(self, refresh: Refresh) -> str:
        if refresh.last_run_id is None:
            return "-"
        url = reverse("publish:run", args=[refresh.last_run.uid])
        return format_html('<a href="{}">{}</a>', url, refresh.last_run.filename)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):  # type: ignore[no-untyped-def]
        # Lists to choose from, by name, of what the user may edit (not ID boxes).
        departments = self.editable_departments(request)
        if db_field.name == "resource":
            kwargs["queryset"] = (
                Resource.objects.filter(dataset__department__in=departments)
                .select_related("dataset")
                .order_by("dataset__title", "name")
            )
        elif db_field.name == "template":
            kwargs["queryset"] = (
                Run.objects.filter(dataset__department__in=departments, status=RunStatus.PUBLISHED)
                .select_related("dataset")
                .order_by("-created")
            )
        field = super().formfield_for_foreignkey(db_field, request, **kwargs)
        if db_field.name == "resource":
            field.label_from_instance = lambda r: f"{r.dataset.title} / {r.name}"
        elif db_field.name == "template":
            field.label_from_instance = lambda run: (
                f"{run.dataset.title} / {run.filename} ({timezone.localtime(run.created):%Y-%m-%d})"
            )
        return field

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if obj is None:
            return self.has_add_permission(request)
        return permissions.can_edit_dataset(request.user, obj.resource.dataset)

    has_delete_permission = has_change_permission

    def save_model(self, request: HttpRequest, obj: Refresh, form: Any, change: bool) -> None:
        if not change:
            obj.actor = request.user
        refresh.save_refresh(actor=request.user, refresh=obj)

    def get_exclude(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return ["actor", "last_run"]  # last_run: shown read-only as its report's link
