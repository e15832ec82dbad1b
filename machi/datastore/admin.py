"""Back office: the tables in the datastore, per department."""

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from machi.catalog import permissions
from machi.catalog.admin import DepartmentScopedAdmin
from machi.datastore import services, sources
from machi.datastore.errors import DatastoreError
from machi.datastore.models import Table


@admin.register(Table)
class TableAdmin(DepartmentScopedAdmin):
    department_path = "resource__dataset__department"
    list_display = ["resource", "version_number", "row_count", "loaded"]
    search_fields = ["resource__name", "resource__dataset__title"]
    readonly_fields = ["resource", "version", "name", "row_count", "loaded", "columns", "geo"]
    exclude = ["schema"]
    actions = ["reload"]

    @admin.display(description=_("version"), ordering="version__number")
    def version_number(self, table: Table) -> int:
        return table.version.number

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # tables come from resource files (Resources → "Load into the datastore")

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if obj is None:
            return super().has_add_permission(request)
        return permissions.can_edit_dataset(request.user, obj.resource.dataset)

    def delete_model(self, request: HttpRequest, obj: Table) -> None:
        services.drop_table(actor=request.user, table=obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Table]) -> None:
        for table in queryset:
            services.drop_table(actor=request.user, table=table)

    @admin.action(description=_("Reload from the version's file"))
    def reload(self, request: HttpRequest, queryset: QuerySet[Table]) -> None:
        load_versions(self, request, [table.version for table in queryset])


def load_versions(model_admin: admin.ModelAdmin, request: HttpRequest, versions: list) -> None:
    """Load each version's CSV and tell staff what happened to each, in plain words."""
    for version in versions:
        label = f"{version.resource} (v{version.number})"
        if not sources.is_tabular(version):
            model_admin.message_user(
                request,
                _("%(resource)s: only CSV and TSV files can be loaded.") % {"resource": label},
                messages.WARNING,
            )
            continue
        try:
            table = services.load_version_file(actor=request.user, version=version)
        except DatastoreError as error:
            model_admin.message_user(request, f"{label}: {error}", messages.ERROR)
            continue
        model_admin.message_user(
            request,
            _("%(resource)s: %(rows)d rows loaded.") % {"resource": label, "rows": table.row_count},
            messages.SUCCESS,
        )
