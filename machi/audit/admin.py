from typing import Any

from django.apps import apps
from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from machi.accounts.models import Role
from machi.accounts.permissions import can_view_audit_log, department_ids, is_site_admin
from machi.audit.models import AuditEvent
from machi.lib.admin import ReadOnlyAdmin


def object_kind(object_type: str) -> str:
    """publish.run as staff know it (公開作業): the model's name in their language."""
    try:
        model = apps.get_model(object_type)
    except (LookupError, ValueError):
        return object_type
    return str(model._meta.verbose_name)


class ObjectKindFilter(admin.SimpleListFilter):
    title = _("object type")
    parameter_name = "object_type"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        types = model_admin.get_queryset(request).values_list("object_type", flat=True)
        return sorted(((t, object_kind(t)) for t in set(types)), key=lambda item: item[1])

    def queryset(self, request: HttpRequest, queryset: QuerySet[AuditEvent]) -> Any:
        return queryset.filter(object_type=self.value()) if self.value() else queryset


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    """Read-only: staff admins browse and filter; nobody changes or deletes."""

    list_display = ["at", "actor_name", "action", "object_kind", "object_repr"]
    list_filter = ["action", ObjectKindFilter, ("at", admin.DateFieldListFilter)]
    search_fields = ["actor_name", "object_repr", "object_id"]
    date_hierarchy = "at"
    readonly_fields = [f.name for f in AuditEvent._meta.fields]

    @admin.display(description=_("object type"), ordering="object_type")
    def object_kind(self, event: AuditEvent) -> str:
        return object_kind(event.object_type)

    def get_queryset(self, request: HttpRequest) -> QuerySet[AuditEvent]:
        queryset = super().get_queryset(request)
        if is_site_admin(request.user):
            return queryset
        return queryset.filter(department_id__in=department_ids(request.user, Role.ADMIN))

    def has_module_permission(self, request: HttpRequest) -> bool:
        return request.user.is_staff and can_view_audit_log(request.user)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self.has_module_permission(request)
