"""Residents' Japanese as they write it, answered from the demo FAQ with real Sudachi."""

import pytest
from django.contrib.auth.models import User

from machi.ask import services
from machi.ask.analysis import analyze
from machi.ask.tests.conftest import answer_id
from machi.catalog import services as catalog_services
from machi.catalog.models import SynonymSet

pytestmark = pytest.mark.django_db


def test_normalized_forms_meet_申込_and_子供(faq: int) -> None:
    # The entry writes 申し込み and 子ども; residents write 申込 and 子供.
    assert set(analyze("申込").word) == set(analyze("申し込み").word)
    assert set(analyze("子供").word) == set(analyze("子ども").word)
    assert answer_id("子供の医療費の助成を受けたい") == "maru-ko"
    assert answer_id("育成室の申込") == "ikuseishitsu"


def test_kana_only_questions_find_kanji_entries(faq: int) -> None:
    assert answer_id("そだいごみ") == "sodai-apply"
    assert answer_id("いんかんとうろく") == "inkan-register"
    assert answer_id("ひなんじょはどこ") == "hinanjo"


def test_conversion_mistakes_and_typos_are_forgiven(faq: int) -> None:
    assert answer_id("住民表がほしい") == "juminhyo-copy"  # 票 typed as 表: same reading
    assert answer_id("非難所はどこですか") == "hinanjo"  # 避難 converted as 非難
    assert answer_id("保育円の申し込み") == "hoikuen-apply"
    assert answer_id("マイナンバカードをなくした") == "mynumber-lost"  # a long vowel dropped


def test_colloquial_endings_are_stripped(faq: int) -> None:
    # Nothing of って, どう, すれば, いい, の is left to match on.
    assert analyze("粗大ごみってどうすればいいの？").word == analyze("粗大ごみ").word
    assert answer_id("粗大ごみってどうすればいい？") == "sodai-apply"
    assert answer_id("犬飼い始めたんだけど何か手続きいるの？") == "dog-register"


def test_synonyms_come_from_the_editable_dictionary(faq: int, site_admin: User) -> None:
    # 区民館 is 区民センター in the shared synonym sets the catalog ships.
    assert answer_id("区民館の部屋を借りたい") == "shisetsu-yoyaku"
    before = services.ask(question="チャリが撤去された", log=False)
    catalog_services.save_vocabulary(actor=site_admin, obj=SynonymSet(terms="自転車, チャリ"))
    after = services.ask(question="チャリが撤去された", log=False)
    assert after.answer is not None and after.answer.faq_id == "bicycle-removed"
    assert after.confidence > before.confidence


def test_english_questions_are_answered_from_the_english_fields(faq: int) -> None:
    result = services.ask(question="Do I need to register my dog?", log=False)
    assert result.lang == "en"
    assert result.answer is not None and result.answer.faq_id == "dog-register"
    assert result.answer.answer.startswith("Dogs 91 days or older must be registered")
    assert result.answer.question == "What do I need to do when I get a dog?"


def test_unanswerable_questions_abstain_with_a_contact(faq: int) -> None:
    for question in ("明日の天気は？", "おすすめのラーメン屋さんはどこ？", "区長の名前は何ですか"):
        result = services.ask(question=question, log=False)
        assert result.abstained, question
        assert result.answer is None
        assert "03-3812-7111" in result.contact["contact"]


def test_an_answer_comes_with_its_source_and_alternatives(faq: int) -> None:
    result = services.ask(question="粗大ごみの出し方を教えてください", log=False)
    assert not result.abstained and result.confidence >= 0.5
    assert result.answer is not None
    assert result.answer.faq_id == "sodai-apply"
    assert result.answer.url.startswith("https://www.city.bunkyo.lg.jp/")
    assert result.answer.department == "資源環境部 リサイクル清掃課"
    assert 1 <= len(result.alternatives) <= 3
    assert "sodai-fee" in {alternative.faq_id for alternative in result.alternatives}
