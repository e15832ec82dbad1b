"""A resident asks three questions in the chat widget in Debian's Chromium, and once more
with JavaScript off (the widget is then a plain form)."""

import pytest

from machi.conftest import RESULTS

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(
        databases=["default", "datastore"], transaction=True, serialized_rollback=True
    ),
]


def test_three_questions_in_the_widget(
    live_server,  # type: ignore[no-untyped-def]
    faq: int,  # before the browser: Playwright's loop forbids database calls after it
    browser_page,  # type: ignore[no-untyped-def]
) -> None:
    page = browser_page
    page.set_default_timeout(20000)
    page.goto(live_server.url + "/")
    page.locator(".ask-toggle").click()
    box = page.locator("#ask-widget-q")
    assert box.is_visible()

    answers = page.locator(".ask-msg.bot")
    box.fill("粗大ごみってどうやって出すの？")
    box.press("Enter")
    page.wait_for_function("document.querySelectorAll('.ask-msg.bot').length === 1")
    answers.nth(0).get_by_text("粗大ごみは事前申込制です", exact=False).wait_for()

    # On a Japanese page the answer is Japanese, whatever the question's letters.
    box.fill("How do I register my dog?")
    page.locator(".ask-form button[type=submit]").click()
    answers.nth(1).get_by_text("生後91日以上の犬は", exact=False).wait_for()

    box.fill("明日の天気は？")
    box.press("Enter")
    answers.nth(2).get_by_text("03-3812-7111", exact=False).wait_for()
    assert answers.count() == 3
    # The focus stays in the box for the next question.
    assert page.evaluate("document.activeElement.id") == "ask-widget-q"
    page.screenshot(path=str(RESULTS / "ask-widget.png"))

    # Feedback on the first answer.
    answers.nth(0).locator(".ask-fb button").first.click()
    answers.nth(0).locator(".ask-fb").get_by_text("Thank you", exact=False).or_(
        answers.nth(0).locator(".ask-fb").get_by_text("ありがとう", exact=False)
    ).wait_for()
    # The thanks has the focus: it fell to the top of the page, out of the chat.
    assert page.evaluate("document.activeElement.classList.contains('ask-fb')")

    # Escape closes the panel (on a phone it covers the bottom of the screen) and gives
    # the focus to its toggle.
    box.focus()
    page.keyboard.press("Escape")
    assert not page.locator("#ask-widget").evaluate("node => node.open")
    assert page.evaluate("document.activeElement.classList.contains('ask-toggle')")


def test_the_widget_works_without_javascript(
    live_server,  # type: ignore[no-untyped-def]
    faq: int,
    browser_page,  # type: ignore[no-untyped-def]
) -> None:
    context = browser_page.context.browser.new_context(
        java_script_enabled=False, viewport={"width": 390, "height": 844}, locale="ja-JP"
    )
    page = context.new_page()
    page.set_default_timeout(20000)
    page.goto(live_server.url + "/")
    page.locator(".ask-toggle").click()  # <details> opens without JavaScript
    page.locator("#ask-widget-q").fill("そだいごみ")
    page.locator("#ask-widget-q").press("Enter")
    page.wait_for_url("**/ask/?q=*")
    page.get_by_text("粗大ごみは事前申込制です", exact=False).wait_for()
    page.screenshot(path=str(RESULTS / "ask-page-no-js.png"), full_page=True)
    context.close()
