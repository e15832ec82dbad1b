from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from machi.accounts.models import Department, Membership, Role
from machi.accounts.permissions import (
    can_create_department,
    can_manage_department,
    department_ids,
    is_site_admin,
)


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 1
    autocomplete_fields = ["user"]


@admin.register(Department)
class DepartmentAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "email", "phone"]
    search_fields = ["name", "name_en", "slug"]
    inlines = [MembershipInline]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Department]:
        queryset = super().get_queryset(request)
        if is_site_admin(request.user):
            return queryset
        return queryset.filter(id__in=department_ids(request.user))

    def has_module_permission(self, request: HttpRequest) -> bool:
        return request.user.is_active and request.user.is_staff

    has_view_permission = lambda self, request, obj=None: self.has_module_permission(request)  # noqa: E731

    def has_add_permission(self, request: HttpRequest) -> bool:
        return can_create_department(request.user)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if obj is None:
            return is_site_admin(request.user) or bool(department_ids(request.user, Role.ADMIN))
        return can_manage_department(request.user, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return is_site_admin(request.user)
