"""The Q&A page (works without JavaScript), feedback, the LINE webhook, and staff pages."""

from __future__ import annotations

import json
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST, require_safe

from machi.ask import dashboard, line, permissions, services
from machi.ask.models import FaqEntry, QuestionLog
from machi.lib.i18n import english_requested

staff_only = login_required(login_url="admin:login")


def _coordinate(value: str | None, limit: float) -> float | None:
    try:
        number = float(value) if value not in (None, "") else None
    except ValueError:
        return None
    return number if number is not None and -limit <= number <= limit else None


@require_safe
def page(request: HttpRequest) -> HttpResponse:
    """Ask and read the answer on a page of its own: the widget's form without JavaScript."""
    q = services.clean_question(request.GET.get("q", ""))
    # Like the widget: the answer is in the page's language unless ?lang says otherwise,
    # so "AED" asked on a Japanese page is not answered in English.
    lang = request.GET.get("lang") or ("en" if english_requested() else "ja")
    result = None
    if q:
        result = services.ask(
            question=q,
            lang=lang,
            lat=_coordinate(request.GET.get("lat"), 90),
            lon=_coordinate(request.GET.get("lon"), 180),
            user=request.user,
        )
    return render(request, "ask/page.html", {"q": q, "result": result})


@require_POST
def feedback(request: HttpRequest) -> HttpResponse:
    helpful = request.POST.get("helpful")
    if helpful not in ("yes", "no"):
        return HttpResponseBadRequest(_("Say whether the answer helped (yes or no)."))
    try:
        services.record_feedback(log_id=request.POST.get("id", ""), helpful=helpful == "yes")
    except ValidationError:
        raise Http404 from None
    messages.success(request, _("Thank you. Your feedback helps us improve the answers."))
    target = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(target, {request.get_host()}):
        target = reverse("ask:page")
    return redirect(target)


@csrf_exempt  # LINE signs its requests; there is no session to protect
@require_POST
def line_webhook(request: HttpRequest) -> HttpResponse:
    secret = settings.LINE_CHANNEL_SECRET
    if not secret:
        raise Http404
    if not line.valid_signature(request.body, request.headers.get("X-Line-Signature", ""), secret):
        return HttpResponse(_("The signature does not match."), status=403)
    try:
        events = json.loads(request.body)["events"]
    except (ValueError, KeyError, TypeError):
        return HttpResponseBadRequest(_("The body is not a LINE webhook event list."))
    line.handle(events if isinstance(events, list) else [])
    return HttpResponse("OK")


# --- Staff --------------------------------------------------------------------------------


def _require_viewer(request: HttpRequest) -> None:
    if not permissions.can_view_questions(request.user):
        raise PermissionDenied


@staff_only
@require_safe
def staff_dashboard(request: HttpRequest) -> HttpResponse:
    _require_viewer(request)
    return render(request, "ask/staff_dashboard.html", dashboard.summary(days=30))


@staff_only
@require_safe
def staff_questions(request: HttpRequest) -> HttpResponse:
    _require_viewer(request)
    show = request.GET.get("show", "unanswered")
    if show not in dashboard.LISTS:
        show = "unanswered"
    context: dict[str, Any] = {
        "show": show,
        "rows": dashboard.review_list(show),
        "entries": FaqEntry.objects.order_by("public_id").only("public_id", "question"),
        "can_edit": permissions.can_edit_faq(request.user),
    }
    return render(request, "ask/staff_questions.html", context)


@staff_only
@require_POST
def staff_add_variant(request: HttpRequest, uid: str) -> HttpResponse:
    _require_viewer(request)
    log = get_object_or_404(QuestionLog, uid=uid)
    entry = FaqEntry.objects.filter(public_id=request.POST.get("entry", "")).first()
    if entry is None:
        messages.error(request, _("Choose the FAQ entry this question belongs to."))
    else:
        services.add_variant(actor=request.user, log=log, entry=entry)
        messages.success(
            request,
            _("Added “%(question)s” as a phrasing of %(entry)s.")
            % {"question": log.question, "entry": entry.public_id},
        )
    return redirect(f"{reverse('ask:staff_questions')}?show={request.POST.get('show', '')}")


@staff_only
@require_POST
def staff_set_aside(request: HttpRequest, uid: str) -> HttpResponse:
    _require_viewer(request)
    log = get_object_or_404(QuestionLog, uid=uid)
    services.set_aside(actor=request.user, log=log)
    messages.success(request, _("Set aside."))
    return redirect(f"{reverse('ask:staff_questions')}?show={request.POST.get('show', '')}")
