"""The LINE webhook: signatures checked, replies sent to a real local reply endpoint."""

import base64
import hashlib
import hmac
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import pytest
from django.test import Client

from machi.ask.models import Channel, QuestionLog

pytestmark = pytest.mark.django_db

SECRET = "line-channel-secret-for-tests"
TOKEN = "line-access-token-for-tests"
USER_ID = "U4af4980629bbbbbbbbbbbbbbbbbbbbbb"


class ReplyRecorder(BaseHTTPRequestHandler):
    received: list[dict[str, Any]] = []

    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.received.append(
            {"path": self.path, "headers": dict(self.headers), "body": json.loads(body)}
        )
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def reply_server(settings: Any) -> Iterator[list[dict[str, Any]]]:
    ReplyRecorder.received = []
    server = HTTPServer(("127.0.0.1", 0), ReplyRecorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    settings.LINE_CHANNEL_SECRET = SECRET
    settings.LINE_CHANNEL_ACCESS_TOKEN = TOKEN
    settings.LINE_REPLY_URL = f"http://127.0.0.1:{server.server_port}/v2/bot/message/reply"
    yield ReplyRecorder.received
    server.shutdown()
    server.server_close()


def _body(text: str) -> bytes:
    event = {
        "type": "message",
        "mode": "active",
        "timestamp": 1700000000000,
        "source": {"type": "user", "userId": USER_ID},
        "webhookEventId": "01HXXXXXXXXXXXXXXXXXXXXXXX",
        "replyToken": "nHuyWiB7yP5Zw52FIkcQobQuGDXCTA",
        "message": {"id": "444573844083572737", "type": "text", "text": text},
    }
    return json.dumps({"destination": "Uxxxxxxxx", "events": [event]}, ensure_ascii=False).encode()


def _signature(body: bytes, secret: str = SECRET) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def _post(client: Client, body: bytes, signature: str) -> Any:
    return client.post(
        "/ask/line/webhook",
        body,
        content_type="application/json",
        headers={"X-Line-Signature": signature},
    )


def test_a_signed_question_is_answered_through_the_reply_api(
    resident: Client, faq: int, reply_server: list[dict[str, Any]]
) -> None:
    body = _body("粗大ごみってどうやって出すの？")
    response = _post(resident, body, _signature(body))
    assert response.status_code == 200
    [request] = reply_server
    assert request["path"] == "/v2/bot/message/reply"
    assert request["headers"]["Authorization"] == f"Bearer {TOKEN}"
    assert request["body"]["replyToken"] == "nHuyWiB7yP5Zw52FIkcQobQuGDXCTA"
    [message] = request["body"]["messages"]
    assert message["type"] == "text"
    assert message["text"].startswith("粗大ごみは事前申込制です。")
    log = QuestionLog.objects.get()
    assert log.channel == Channel.LINE and log.entry.public_id == "sodai-apply"
    # Nothing about the LINE user is kept.
    assert USER_ID not in json.dumps(list(QuestionLog.objects.values()), default=str)


def test_a_wrong_or_missing_signature_is_refused(
    resident: Client, faq: int, reply_server: list[dict[str, Any]]
) -> None:
    body = _body("住民票")
    assert _post(resident, body, _signature(body, "another-secret")).status_code == 403
    assert _post(resident, body, "").status_code == 403
    tampered = _body("住民票がほしい")
    assert _post(resident, tampered, _signature(body)).status_code == 403
    assert reply_server == []
    assert not QuestionLog.objects.exists()


def test_without_a_channel_secret_there_is_no_webhook(resident: Client, settings: Any) -> None:
    settings.LINE_CHANNEL_SECRET = ""
    body = _body("住民票")
    assert _post(resident, body, _signature(body)).status_code == 404
