from pathlib import Path

import pytest
from django.contrib.auth.models import User

from machi.ask import services
from machi.ask.demo import FAQ_FILE

ASK_TESTS = Path(__file__).resolve().parent


@pytest.fixture
def faq(site_admin: User) -> int:
    """The demo FAQ (95 entries from Bunkyo's procedures), imported as staff would."""
    result = services.import_faq(actor=site_admin, data=FAQ_FILE.read_bytes())
    return result.created


def answer_id(question: str, **options: object) -> str | None:
    result = services.ask(question=question, **options)  # type: ignore[arg-type]
    return result.answer.faq_id if result.answer else None
