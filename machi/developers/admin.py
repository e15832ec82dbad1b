from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from machi.accounts.permissions import is_site_admin
from machi.developers import services
from machi.developers.models import ApiKey
from machi.lib.admin import ReadOnlyAdmin


@admin.register(ApiKey)
class ApiKeyAdmin(ReadOnlyAdmin):
    """Read-only list for the site administrator, who may revoke keys."""

    list_display = ["prefix", "name", "owner", "created", "last_used", "revoked"]
    list_filter = [("revoked", admin.EmptyFieldListFilter)]
    search_fields = ["prefix", "name", "owner__username", "owner__email"]
    list_select_related = ["owner"]
    fields = ["prefix", "name", "owner", "created", "last_used", "revoked"]
    readonly_fields = fields
    actions = ["revoke"]

    def has_module_permission(self, request: HttpRequest) -> bool:
        return is_site_admin(request.user)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return is_site_admin(request.user)

    @admin.action(description=_("Revoke the selected keys"))
    def revoke(self, request: HttpRequest, queryset: QuerySet[ApiKey]) -> None:
        keys = list(queryset.filter(revoked__isnull=True))
        for key in keys:
            services.revoke_key(user=request.user, key=key)
        self.message_user(
            request,
            ngettext("%(count)d key revoked.", "%(count)d keys revoked.", len(keys))
            % {"count": len(keys)},
            messages.SUCCESS,
        )
