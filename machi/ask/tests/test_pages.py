"""The Q&A page without JavaScript, the widget on every page, and the staff pages."""

import re

import pytest
from django.contrib.auth.models import User
from django.test import Client

from machi.ask import services
from machi.ask.models import FaqEntry, Feedback, QuestionLog

pytestmark = pytest.mark.django_db


def test_the_widget_is_a_plain_form_on_public_pages(resident: Client, db: None) -> None:
    html = resident.get("/").content.decode()
    assert 'class="ask-widget"' in html
    form = re.search(r'<form class="ask-form" action="([^"]+)" method="get">', html)
    assert form is not None and form.group(1) == "/ask/"
    assert '<label for="ask-widget-q">' in html
    assert 'src="/static/machi/ask/widget.js"' in html


def test_the_form_without_javascript_answers_on_the_page(resident: Client, faq: int) -> None:
    response = resident.get("/ask/", {"q": "そだいごみ"})
    html = response.content.decode()
    assert response.status_code == 200
    assert "粗大ごみは事前申込制です。" in html
    assert "資源環境部 リサイクル清掃課" in html
    assert 'href="https://www.city.bunkyo.lg.jp/"' in html
    # もしかして: the alternatives ask again through the same page.
    assert "/ask/?q=%E7%B2%97%E5%A4%A7" in html
    assert 'class="ask-widget"' not in html  # the page is the widget here
    log = QuestionLog.objects.get()
    response = resident.post(
        "/ask/feedback", {"id": str(log.uid), "helpful": "no", "next": "/ask/?q=x"}
    )
    assert response.status_code == 302 and response["Location"] == "/ask/?q=x"
    assert Feedback.objects.get().helpful is False


def test_the_page_says_whom_to_ask_when_it_does_not_know(resident: Client, faq: int) -> None:
    html = resident.get("/ask/", {"q": "明日の天気は？", "lang": "en"}).content.decode()
    assert "03-3812-7111" in html


def _unhelpful(question: str) -> QuestionLog:
    result = services.ask(question=question)
    log = QuestionLog.objects.get(uid=result.log_id)
    services.record_feedback(log_id=result.log_id, helpful=False)
    return log


def test_staff_add_a_logged_question_as_a_phrasing_in_one_step(
    client_for, editor: User, faq: int
) -> None:
    question = "ランニングマシンを使いたい"
    log = QuestionLog.objects.get(uid=services.ask(question=question).log_id)
    staff = client_for(editor)
    assert log.abstained
    page = staff.get("/staff/ask/questions/?show=unanswered").content.decode()
    assert question in page and 'value="sports-center"' in page  # the best match, preselected
    response = staff.post(
        f"/staff/ask/questions/{log.uid}/variant", {"entry": "sports-center", "show": "unanswered"}
    )
    assert response.status_code == 302
    assert question in FaqEntry.objects.get(public_id="sports-center").variant_list()
    again = services.ask(question=question, log=False)
    assert again.answer is not None and again.answer.faq_id == "sports-center"
    assert again.confidence > 0.9
    log.refresh_from_db()
    assert log.handled


def test_unanswered_and_unhelpful_lists_and_the_dashboard(
    client_for, editor: User, faq: int
) -> None:
    services.ask(question="明日の天気は？")
    _unhelpful("粗大ごみの料金")
    staff = client_for(editor)
    unanswered = staff.get("/staff/ask/questions/").content.decode()
    assert "<strong>明日の天気は？</strong>" in unanswered
    assert "<strong>粗大ごみの料金</strong>" not in unanswered
    unhelpful = staff.get("/staff/ask/questions/?show=unhelpful").content.decode()
    assert "<strong>粗大ごみの料金</strong>" in unhelpful and "天気" not in unhelpful
    dashboard = staff.get("/staff/ask/").content.decode()
    assert re.search(r"<strong>2</strong>", dashboard)  # questions
    assert "50%" in dashboard  # answer rate
    assert "ごみ・リサイクル" in dashboard  # top topic


def test_residents_cannot_see_staff_pages(resident: Client, db: None) -> None:
    for url in ("/staff/ask/", "/staff/ask/questions/"):
        response = resident.get(url)
        assert response.status_code == 302 and "/admin/login/" in response["Location"]


def test_viewers_see_but_cannot_change_the_faq(client_for, viewer: User, faq: int) -> None:
    log = QuestionLog.objects.get(uid=services.ask(question="明日の天気は？").log_id)
    staff = client_for(viewer)
    assert staff.get("/staff/ask/questions/").status_code == 200
    response = staff.post(f"/staff/ask/questions/{log.uid}/variant", {"entry": "kuhou"})
    assert response.status_code == 403
