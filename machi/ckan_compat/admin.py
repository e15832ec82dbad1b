"""Staff create and revoke their CKAN API tokens in the back office (/admin/)."""

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from machi.accounts.permissions import is_site_admin
from machi.ckan_compat import tokens
from machi.ckan_compat.models import ApiToken


class TokenForm(forms.ModelForm):
    class Meta:
        model = ApiToken
        fields = ["name"]
        help_texts = {"name": _("What the token is for, such as the script that uses it.")}


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    """Staff see their own tokens (the site administrator sees all); a new one is shown once."""

    list_display = ["prefix", "name", "owner", "created", "last_used", "revoked"]
    list_filter = [("revoked", admin.EmptyFieldListFilter)]
    search_fields = ["prefix", "name", "owner__username"]
    list_select_related = ["owner"]
    actions = ["revoke"]
    form = TokenForm

    def _staff(self, request: HttpRequest) -> bool:
        return tokens.can_hold_token(request.user)

    def has_module_permission(self, request: HttpRequest) -> bool:
        return self._staff(request)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._staff(request) and (obj is None or tokens.can_manage_token(request.user, obj))

    def has_add_permission(self, request: HttpRequest) -> bool:
        return self._staff(request)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # a token is created and revoked, never edited

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # revoked tokens stay listed, for the record

    def get_queryset(self, request: HttpRequest) -> QuerySet[ApiToken]:
        queryset = super().get_queryset(request)
        if is_site_admin(request.user):
            return queryset
        return queryset.filter(owner=request.user)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        if obj is None:
            return []
        return ["prefix", "name", "owner", "created", "last_used", "revoked"]

    def get_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return ["name"] if obj is None else self.get_readonly_fields(request, obj)

    def save_model(self, request: HttpRequest, obj: ApiToken, form: Any, change: bool) -> None:
        token, plaintext = tokens.create_token(
            actor=request.user, owner=request.user, name=obj.name
        )
        obj.pk = token.pk  # the admin redirects to the saved object
        self.message_user(
            request,
            _(
                "Your new token (copy it now; it is not shown again): %(token)s. "
                "Send it in the Authorization header."
            )
            % {"token": plaintext},
            messages.SUCCESS,
        )

    def log_addition(self, request: HttpRequest, obj: Any, message: Any) -> Any:
        return None  # the audit log has the creation (tokens.create_token)

    @admin.action(description=_("Revoke the selected tokens"))
    def revoke(self, request: HttpRequest, queryset: QuerySet[ApiToken]) -> None:
        revoked = [
            tokens.revoke_token(actor=request.user, token=token)
            for token in queryset.filter(revoked__isnull=True)
        ]
        self.message_user(
            request,
            ngettext("%(count)d token revoked.", "%(count)d tokens revoked.", len(revoked))
            % {"count": len(revoked)},
            messages.SUCCESS,
        )
