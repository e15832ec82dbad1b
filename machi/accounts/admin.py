from typing import Any

from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.db.models import QuerySet
from django.forms import BaseInlineFormSet, ModelForm
from django.http import HttpRequest
from django_otp.plugins.otp_totp.admin import TOTPDeviceAdmin
from django_otp.plugins.otp_totp.models import TOTPDevice

from machi.accounts import services
from machi.accounts.models import Department, Membership, Role
from machi.accounts.permissions import (
    can_create_department,
    can_manage_department,
    department_ids,
    is_site_admin,
)

User = get_user_model()


class MembershipInline(admin.TabularInline):
    """Department admins give staff their roles in the department."""

    model = Membership
    extra = 1

    def formfield_for_foreignkey(self, db_field, request, **kwargs):  # type: ignore[no-untyped-def]
        if db_field.name == "user":
            kwargs["queryset"] = User.objects.filter(is_staff=True, is_active=True)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return bool(request.user.is_staff)

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return obj is not None and can_manage_department(request.user, obj)

    has_change_permission = has_add_permission
    has_delete_permission = has_add_permission


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

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self.has_module_permission(request)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return can_create_department(request.user)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if obj is None:
            return is_site_admin(request.user) or bool(department_ids(request.user, Role.ADMIN))
        return can_manage_department(request.user, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return is_site_admin(request.user)

    def save_model(
        self, request: HttpRequest, obj: Department, form: ModelForm, change: bool
    ) -> None:
        services.save_department(actor=request.user, department=obj)

    def save_formset(
        self, request: HttpRequest, form: ModelForm, formset: BaseInlineFormSet, change: bool
    ) -> None:
        department = form.instance
        # The admin's change message reads these; the services did the saving.
        formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []
        for inline_form in formset.forms:
            if not inline_form.has_changed() and not formset._should_delete_form(inline_form):
                continue
            membership = inline_form.instance
            if formset._should_delete_form(inline_form):
                if membership.pk:
                    services.remove_role(actor=request.user, membership=membership)
                continue
            data = inline_form.cleaned_data
            if membership.pk:
                original = Membership.objects.get(pk=membership.pk)
                if original.user_id != data["user"].pk:
                    # The row now names another person: it replaces the first person's
                    # membership, who would otherwise keep their access unseen.
                    services.remove_role(actor=request.user, membership=original)
            services.set_role(
                actor=request.user, department=department, user=data["user"], role=data["role"]
            )


class AuditedUserAdmin(UserAdmin):
    """Django's staff account admin (site administrators), with every change audited."""

    def save_model(self, request: HttpRequest, obj: Any, form: ModelForm, change: bool) -> None:
        before = services.account_snapshot(User.objects.filter(pk=obj.pk).first())
        super().save_model(request, obj, form, change)
        services.record_staff_change(actor=request.user, account=obj, before=before)

    def save_related(
        self, request: HttpRequest, form: ModelForm, formsets: Any, change: bool
    ) -> None:
        before = services.account_snapshot(form.instance)
        super().save_related(request, form, formsets, change)
        after = services.account_snapshot(form.instance)
        if before != after:
            services.record_staff_change(actor=request.user, account=form.instance, before=before)

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        before = services.account_snapshot(obj)
        services.record_staff_change(actor=request.user, account=obj, before=before, deleted=True)
        super().delete_model(request, obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        for account in queryset:
            self.delete_model(request, account)


class AuditedTOTPDeviceAdmin(TOTPDeviceAdmin):
    """Site administrators reset lost authenticators here; changes are audited, keys never."""

    def save_model(self, request: HttpRequest, obj: Any, form: ModelForm, change: bool) -> None:
        before = services.device_snapshot(TOTPDevice.objects.filter(pk=obj.pk).first())
        super().save_model(request, obj, form, change)
        services.record_device_change(actor=request.user, device=obj, before=before)

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        services.record_device_change(
            actor=request.user, device=obj, before=services.device_snapshot(obj), deleted=True
        )
        super().delete_model(request, obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[TOTPDevice]) -> None:
        for device in queryset:
            self.delete_model(request, device)


admin.site.unregister(User)
admin.site.register(User, AuditedUserAdmin)
admin.site.unregister(TOTPDevice)
admin.site.register(TOTPDevice, AuditedTOTPDeviceAdmin)
