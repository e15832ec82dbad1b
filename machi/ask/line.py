"""The chatbot on LINE: the Messaging API webhook.

LINE signs each webhook request: X-Line-Signature is the base64 HMAC-SHA256 of the body
with the channel secret. A request without a valid signature is refused. Each text message
is answered through the reply API with the event's reply token. Nothing about the LINE user
(user id, profile) is stored; the question is logged like any other, personal data masked.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import urllib.request
from typing import Any

from django.conf import settings
from django.utils.translation import gettext as _

from machi.ask import services
from machi.ask.models import Channel
from machi.ask.text import plain_text

logger = logging.getLogger(__name__)
MAX_TEXT = 5000  # LINE's limit for one text message
TIMEOUT = 10


def valid_signature(body: bytes, signature: str, secret: str) -> bool:
    digest = hmac.new(secret.encode(), body, hashlib.sha256).digest()
    return hmac.compare_digest(base64.b64encode(digest).decode(), signature.strip())


def reply(reply_token: str, text: str) -> None:
    """Send one text message through the reply API; failures are logged, not raised."""
    body = json.dumps(
        {"replyToken": reply_token, "messages": [{"type": "text", "text": text[:MAX_TEXT]}]},
        ensure_ascii=False,
    ).encode()
    request = urllib.request.Request(
        settings.LINE_REPLY_URL,
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json; charset=utf-8",
            "Authorization": f"Bearer {settings.LINE_CHANNEL_ACCESS_TOKEN}",
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT) as response:  # noqa: S310 - our setting
            response.read()
    except OSError as error:  # URLError and HTTPError are OSErrors
        logger.warning("LINE reply failed: %s", error)


def handle(events: list[dict[str, Any]]) -> int:
    """Answer every text message among the webhook's events; returns how many."""
    answered = 0
    for event in events:
        token = event.get("replyToken")
        message = event.get("message") or {}
        if event.get("type") != "message" or not token:
            continue
        if message.get("type") != "text" or not str(message.get("text", "")).strip():
            reply(token, _("Please send your question as text."))
            continue
        result = services.ask(question=str(message["text"]), channel=Channel.LINE)
        reply(token, plain_text(result, settings.SITE_URL))
        answered += 1
    return answered
