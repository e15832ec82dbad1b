"""Developer pages: the API guide, sign-up and sign-in, and managing API keys."""

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import LoginView, LogoutView
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse_lazy
from django.utils.cache import add_never_cache_headers
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from machi.developers import queries, services
from machi.developers.forms import KeyForm, SignInForm, SignUpForm
from machi.developers.middleware import KEY_HEADER, KEY_PARAMETER
from machi.developers.models import ApiKey

LOGIN_URL = "developers:login"


@require_safe
def guide(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "developers/guide.html",
        {
            "api_root": request.build_absolute_uri("/api/v1/"),
            "anon_limit": settings.MACHI_RATE_LIMIT_ANON,
            "key_limit": settings.MACHI_RATE_LIMIT_KEY,
            "key_header": KEY_HEADER,
            "key_parameter": KEY_PARAMETER,
        },
    )


@login_required(login_url=LOGIN_URL)
@require_http_methods(["GET", "POST"])
def keys(request: HttpRequest) -> HttpResponse:
    """The user's keys with their use; POST creates one and shows it this once."""
    form = KeyForm(request.POST or None)
    new_key, plaintext = None, ""
    if request.method == "POST" and form.is_valid():
        try:
            new_key, plaintext = services.issue_key(
                user=request.user, name=form.cleaned_data["name"]
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            form = KeyForm()
    response = render(
        request,
        "developers/keys.html",
        {
            "form": form,
            "new_key": new_key,
            "plaintext": plaintext,
            "keys": queries.keys_with_usage(request.user),
            "key_header": KEY_HEADER,
            "api_root": request.build_absolute_uri("/api/v1/"),
        },
    )
    # Keep the page that shows a key out of every cache, the browser's included.
    add_never_cache_headers(response)
    return response


@login_required(login_url=LOGIN_URL)
@require_POST
def revoke(request: HttpRequest, pk: int) -> HttpResponse:
    key = get_object_or_404(ApiKey, pk=pk, owner_id=request.user.pk)
    services.revoke_key(user=request.user, key=key)
    messages.success(request, _("The key “%(name)s” was revoked.") % {"name": key.name})
    return redirect("developers:keys")


@require_http_methods(["GET", "POST"])
def sign_up(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect("developers:keys")
    form = SignUpForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = services.sign_up(
            email=form.cleaned_data["email"], password=form.cleaned_data["password1"]
        )
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        return redirect("developers:keys")
    return render(request, "developers/signup.html", {"form": form})


class SignInView(LoginView):
    template_name = "developers/login.html"
    authentication_form = SignInForm
    redirect_authenticated_user = True
    next_page = reverse_lazy("developers:keys")

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        # LoginView adds the current Site's name (the request's host without the sites
        # framework); dropping it lets the project's context processor supply site_name.
        context.pop("site_name", None)
        return context


class SignOutView(LogoutView):
    next_page = reverse_lazy("developers:guide")
