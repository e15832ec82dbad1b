"""POST /api/v1/ask and /api/v1/ask/feedback, and what the log keeps."""

import pytest
from django.test import Client

from machi.ask.models import Channel, Feedback, QuestionLog

pytestmark = pytest.mark.django_db


def _ask(client: Client, **body: object) -> dict:
    response = client.post("/api/v1/ask", body, content_type="application/json")
    assert response.status_code == 200, response.content
    return response.json()


def test_an_answer_has_the_documented_shape(resident: Client, faq: int) -> None:
    data = _ask(resident, question="児童手当の振込日はいつ？")
    assert data["abstained"] is False
    assert data["confidence"] >= 0.5
    assert data["answer"]["faq_id"] == "jidou-teate-pay"
    assert set(data["answer"]) == {"faq_id", "question", "answer", "url", "department", "contact"}
    assert data["answer"]["department"] == "子ども家庭部 子育て支援課"
    assert len(data["alternatives"]) <= 3
    assert data["places"] == []
    assert data["contact"] is None


def test_an_unknown_question_abstains_and_names_whom_to_ask(resident: Client, faq: int) -> None:
    data = _ask(resident, question="宝くじの当選番号", lang="ja")
    assert data["abstained"] is True
    assert data["answer"] is None
    assert data["contact"]["contact"]
    assert QuestionLog.objects.get().abstained is True


def test_english_is_asked_for_or_recognised(resident: Client, faq: int) -> None:
    data = _ask(resident, question="How do I get a library card?")
    assert data["lang"] == "en"
    assert data["answer"]["answer"].startswith("People living, working or studying in Bunkyo")
    data = _ask(resident, question="図書館カードを作りたい", lang="en")
    assert data["answer"]["faq_id"] == "library-card"
    assert data["answer"]["question"] == "How do I get a library card?"


def test_bad_requests_say_which_field(resident: Client, db: None) -> None:
    response = resident.post(
        "/api/v1/ask", {"question": "", "lat": 200}, content_type="application/json"
    )
    assert response.status_code == 422
    fields = {item["field"].split(".")[-1] for item in response.json()["detail"]}
    assert fields == {"question", "lat"}


def test_questions_are_logged_without_personal_data(resident: Client, faq: int) -> None:
    _ask(resident, question="山田太郎です。090-1234-5678 taro@example.com 粗大ごみの出し方は？")
    log = QuestionLog.objects.get()
    assert log.question == "［氏名］です。［電話番号］ ［メール］ 粗大ごみの出し方は？"
    assert log.channel == Channel.API
    assert log.entry.public_id == "sodai-apply"


def test_feedback_is_recorded_once_per_answer(resident: Client, faq: int) -> None:
    data = _ask(resident, question="粗大ごみの料金", lang="ja")
    for helpful in (True, False):
        response = resident.post(
            "/api/v1/ask/feedback",
            {"id": data["id"], "helpful": helpful},
            content_type="application/json",
        )
        assert response.json() == {"ok": True}
    assert list(Feedback.objects.values_list("helpful", flat=True)) == [False]
    response = resident.post(
        "/api/v1/ask/feedback",
        {"id": "00000000-0000-0000-0000-000000000000", "helpful": True},
        content_type="application/json",
    )
    assert response.status_code == 400


def test_with_no_faq_yet_every_question_gets_the_main_line(resident: Client, db: None) -> None:
    data = _ask(resident, question="住民票がほしい")
    assert data["abstained"] is True and data["answer"] is None and data["alternatives"] == []
    assert data["contact"]["contact"] == "03-3812-7111"
