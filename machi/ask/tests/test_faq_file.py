"""Importing and exporting the FAQ as CSV, from the services and from `machi faq`."""

import csv
import io
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.core.management import CommandError, call_command
from django.utils import translation

from machi.ask import services
from machi.ask.faqcsv import FaqFileError
from machi.ask.models import FaqEntry
from machi.audit.models import AuditEvent

pytestmark = pytest.mark.django_db

HEADER = "id,question,answer,category,department,url,question_en,answer_en,variants\n"
GOOD = HEADER + (
    "gomi-1,粗大ごみの出し方は？,受付センターに申し込んでください。,ごみ,リサイクル清掃課,"
    "https://www.city.bunkyo.lg.jp/,How do I throw away large items?,Book a collection.,"
    "大きなごみ|家具を捨てたい\n"
    "juumin-1,住民票はどこで取れますか？,戸籍住民課で取れます。,戸籍,戸籍住民課,,,,\n"
)


def test_import_keeps_the_csv_id_and_splits_phrasings(site_admin: User) -> None:
    result = services.import_faq(actor=site_admin, data=GOOD.encode())
    assert (result.created, result.updated) == (2, 0)
    entry = FaqEntry.objects.get(public_id="gomi-1")
    assert entry.variant_list() == ["大きなごみ", "家具を捨てたい"]
    assert entry.question_en == "How do I throw away large items?"
    assert services.ask(question="家具を捨てたい", log=False).answer.faq_id == "gomi-1"
    assert AuditEvent.objects.filter(object_type="ask.faqentry", action="create").count() == 2


def test_import_again_updates_by_id_and_replace_drops_the_rest(site_admin: User) -> None:
    services.import_faq(actor=site_admin, data=GOOD.encode())
    changed = GOOD.replace("戸籍住民課で取れます。", "戸籍住民課とコンビニで取れます。")
    result = services.import_faq(actor=site_admin, data=changed.encode())
    assert (result.created, result.updated, result.unchanged) == (0, 1, 1)
    only_one = HEADER + GOOD.splitlines()[1] + "\n"
    result = services.import_faq(actor=site_admin, data=only_one.encode(), replace=True)
    assert result.deleted == 1
    assert list(FaqEntry.objects.values_list("public_id", flat=True)) == ["gomi-1"]


def test_bad_rows_are_all_reported_and_nothing_changes(site_admin: User) -> None:
    services.import_faq(actor=site_admin, data=GOOD.encode())
    bad = HEADER + (
        "gomi-1,新しい質問,新しい答え,ごみ,課,,,,\n"  # fine on its own
        ",質問,答え,ごみ,課,,,,\n"  # no id
        "x-2,,答え,ごみ,課,,,,\n"  # no question
        "gomi-1,質問,答え,ごみ,課,,,,\n"  # the id again
        "x-3,質問,答え,ごみ,課,ftp://example.com/,,,\n"  # not http(s)
        "x y,質問,答え,ごみ,課,,,,\n"  # a space in the id
    )
    with translation.override("en"), pytest.raises(FaqFileError) as raised:
        services.import_faq(actor=site_admin, data=bad.encode())
    with translation.override("en"):
        messages = [str(problem) for problem in raised.value.problems]
    assert messages == [
        "Line 3, column id: The id is empty.",
        "Line 4, column question: This cell is empty.",
        "Line 5, column id: The id gomi-1 is already used on line 2.",
        "Line 6, column url: This is not an http(s) address.",
        "Line 7, column id: The id may use only letters, digits, '-', '_' and '.' (64 at most).",
    ]
    assert FaqEntry.objects.get(public_id="gomi-1").question == "粗大ごみの出し方は？"
    assert FaqEntry.objects.count() == 2


def test_a_file_without_the_header_is_refused_in_japanese(site_admin: User) -> None:
    with translation.override("ja"), pytest.raises(FaqFileError) as raised:
        services.import_faq(actor=site_admin, data="質問,答え\na,b\n".encode())
    assert "id, question, answer, category, department, url" in str(raised.value)


def test_shift_jis_files_from_excel_are_read(site_admin: User) -> None:
    result = services.import_faq(actor=site_admin, data=GOOD.encode("cp932"))
    assert result.created == 2


def test_only_faq_editors_can_import(outsider: User, db: None) -> None:
    nobody = User.objects.create_user("nobody", password="correct horse battery", is_staff=True)
    with pytest.raises(PermissionDenied):
        services.import_faq(actor=nobody, data=GOOD.encode())
    # Editors of any department keep the ward's FAQ.
    assert services.import_faq(actor=outsider, data=GOOD.encode()).created == 2


def test_the_command_imports_exports_and_reports_bad_rows(
    site_admin: User, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = tmp_path / "faq.csv"
    good.write_text(GOOD, encoding="utf-8")
    call_command("faq", "import", str(good))
    assert "created 2" in capsys.readouterr().out
    out = io.StringIO()
    exported = tmp_path / "out.csv"
    call_command("faq", "export", "--output", str(exported), stdout=out)
    rows = list(csv.DictReader(exported.open(encoding="utf-8")))
    assert [row["id"] for row in rows] == ["gomi-1", "juumin-1"]
    assert rows[0]["variants"] == "大きなごみ|家具を捨てたい"
    bad = tmp_path / "bad.csv"
    bad.write_text(HEADER + "a,,b,c,d,,,,\n", encoding="utf-8")
    with pytest.raises(CommandError, match="nothing was changed"):
        call_command("faq", "import", str(bad), "--replace")
    assert "bad.csv: " in capsys.readouterr().err
    assert FaqEntry.objects.count() == 2
