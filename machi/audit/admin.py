from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from machi.accounts.models import Role
from machi.accounts.permissions import can_view_audit_log, department_ids, is_site_admin
from machi.audit.models import AuditEvent
from machi.lib.admin import ReadOnlyAdmin


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    """Read-only: staff admins browse and filter; nobody changes or deletes."""

    list_display = ["at", "actor_name", "action", "object_type", "object_repr"]
    list_filter = ["action", "object_type", ("at", admin.DateFieldListFilter)]
    search_fields = ["actor_name", "object_repr", "object_id"]
    date_hierarchy = "at"
    readonly_fields = [f.name for f in AuditEvent._meta.fields]

    def get_queryset(self, request: HttpRequest) -> QuerySet[AuditEvent]:
        queryset = super().get_queryset(request)
        if is_site_admin(request.user):
            return queryset
        return queryset.filter(department_id__in=department_ids(request.user, Role.ADMIN))

    def has_module_permission(self, request: HttpRequest) -> bool:
        return request.user.is_staff and can_view_audit_log(request.user)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self.has_module_permission(request)
