from django import forms
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from machi.accounts import services


class TokenForm(forms.Form):
    token = forms.CharField(
        label=_("6-digit code from your authenticator app"),
        max_length=8,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
    )


@login_required(login_url="admin:login")
def second_factor(request: HttpRequest) -> HttpResponse:
    """Ask for the TOTP code; staff without a device enrol one here first."""
    next_url = request.GET.get("next") or request.POST.get("next") or "/admin/"
    if not url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()}):
        next_url = "/admin/"
    device = services.confirmed_device(request.user)
    enrolling = device is None
    if enrolling:
        device = services.pending_device(request.user)
    form = TokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        # After wrong codes every code is refused for a while: say so, rather than send
        # staff to their phone's clock with the right code in hand.
        if wait := services.seconds_locked(device):
            form.add_error(
                "token",
                ngettext(
                    "Several codes were wrong: wait %(seconds)d second, then enter the code "
                    "your phone shows then.",
                    "Several codes were wrong: wait %(seconds)d seconds, then enter the code "
                    "your phone shows then.",
                    wait,
                )
                % {"seconds": wait},
            )
        elif services.verify_second_factor(
            request=request, device=device, token=form.cleaned_data["token"]
        ):
            return redirect(next_url)
        else:
            form.add_error(
                "token", _("That code is not right. Check the time on your phone and try again.")
            )
    return render(
        request,
        "accounts/second_factor.html",
        {
            "form": form,
            "next": next_url,
            "enrolling": enrolling,
            "qr_svg": services.qr_svg(device) if enrolling else "",
            "secret": device.config_url.split("secret=")[1].split("&")[0] if enrolling else "",
        },
    )
