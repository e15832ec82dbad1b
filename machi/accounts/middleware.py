"""Staff must pass a TOTP second factor before the back office, when required."""

from collections.abc import Callable

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import urlencode

_OPEN_PATHS = ("/staff/2fa/", "/admin/logout/", "/admin/login/", "/static/", "/i18n/")


class RequireSecondFactorMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = request.user
        # The second factor guards staff powers; developers and residents with
        # accounts have none, so a password is enough for them.
        if (
            settings.MACHI_REQUIRE_2FA
            and user.is_authenticated
            and (user.is_staff or user.is_superuser)
            and not user.is_verified()  # type: ignore[union-attr]
            and not request.path.startswith(_OPEN_PATHS)
        ):
            if request.path.startswith(("/admin/", "/staff/")):
                url = reverse("accounts:second_factor")
                return redirect(f"{url}?{urlencode({'next': request.get_full_path()})}")
            # Elsewhere a half-signed-in session sees what the public sees.
            request.user = AnonymousUser()
        return self.get_response(request)
