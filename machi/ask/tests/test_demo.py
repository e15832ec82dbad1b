import pytest
from django.contrib.auth.models import User

from machi.ask import demo, services
from machi.ask.models import FaqEntry
from machi.catalog.models import SynonymSet

pytestmark = pytest.mark.django_db


def test_the_demo_loads_the_faq_and_the_chatbots_synonyms_once(site_admin: User) -> None:
    before = SynonymSet.objects.count()
    first = demo.load_demo()
    # One of the chatbot's sets (子育て, 育児) is already among the catalog's defaults.
    assert first == {"faq": 95, "synonyms": len(demo.synonym_lines()) - 1}
    assert SynonymSet.objects.count() == before + first["synonyms"]
    assert demo.load_demo() == {"faq": 95, "synonyms": 0}
    assert FaqEntry.objects.count() == 95
    assert FaqEntry.objects.exclude(question_en="").count() == 95
    assert SynonymSet.objects.filter(terms__contains="マイナカード").count() == 1
    result = services.ask(question="マイナカードを落とした", log=False)
    assert result.answer is not None and result.answer.faq_id == "mynumber-lost"
