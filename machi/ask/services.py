"""Every action of the resident Q&A: answering, keeping the FAQ, learning from the log.

The web page, the widget's API, the LINE webhook and the `machi ask`/`machi faq` commands
all call these functions.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import translation
from django.utils.translation import gettext as _

from machi.accounts.models import Department
from machi.ask import faqcsv, index, permissions, places
from machi.ask.analysis import is_english
from machi.ask.models import Channel, FaqEntry, Feedback, QuestionLog
from machi.ask.privacy import mask
from machi.ask.ranker import TOKENS_VERSION, entry_tokens
from machi.audit import services as audit

User = AbstractBaseUser | AnonymousUser
MAX_QUESTION = 1000
ALTERNATIVES = 3
# Candidates ranked per question: the answer, the alternatives, and one more. The confidence
# depends on it (the lead over the runner-up), so everything that reads a confidence ranks so.
RANKED = 1 + ALTERNATIVES + 1
# A department is suggested on abstention when it holds this share of the candidates' score.
_DEPARTMENT_SHARE = 0.6
_DEPARTMENT_MIN_CONFIDENCE = 0.15
# Below this, the near misses are noise, not "もしかして".
_DID_YOU_MEAN_CONFIDENCE = 0.15


@dataclass
class Answer:
    faq_id: str
    question: str
    answer: str
    url: str
    department: str
    contact: str
    category: str


@dataclass
class AskResult:
    question: str
    lang: str
    abstained: bool
    confidence: float
    answer: Answer | None
    alternatives: list[Answer]
    places: list[dict[str, Any]] = field(default_factory=list)
    place_layer: str = ""
    place_where: str = ""
    needs_location: bool = False
    place_map_url: str = ""  # the map with the layer shown, to find the nearest places there
    place_example: str = ""  # the question again with a station (根津駅の近くのAED設置場所)
    far_away: bool = False  # the location is outside the ward: say so, do not list the places
    contact: dict[str, str] = field(default_factory=dict)  # whom to ask when we do not know
    log_id: str = ""


def clean_question(text: str) -> str:
    """The question with control characters as spaces, invisible ones dropped, spaces collapsed."""
    kept = []
    for ch in text:
        kind = unicodedata.category(ch)
        if kind == "Cc":  # NUL, tabs, line breaks
            kept.append(" ")
        elif kind != "Cf":  # zero-width spaces, BOMs, direction marks
            kept.append(ch)
    return " ".join("".join(kept).split())[:MAX_QUESTION]


def _english_names() -> dict[str, str]:
    """Departments' English names by their Japanese name (as FAQ entries write it)."""
    return dict(Department.objects.exclude(name_en="").values_list("name", "name_en"))


def _in_english(department: str, contact: str, names: dict[str, str]) -> tuple[str, str]:
    """The department and contact for an English answer; Japanese where no English name is kept.

    Contacts start with the department's name or its section (資源環境部 リサイクル清掃課:
    "リサイクル清掃課 03-3812-7111（区役所代表）"); that part becomes the English name.
    """
    english = names.get(department, "")
    if english:
        for prefix in (department, department.split()[-1]):
            if contact.startswith(prefix):
                contact = english + contact[len(prefix) :]
                break
    contact = contact.replace("（区役所代表）", " (City Office main line)")
    return english or department, contact


def _answer(entry: dict[str, Any], names: dict[str, str] | None) -> Answer:
    """An entry as answered: in English (names given) where the entry has an English answer."""
    use_english = names is not None and bool(entry["answer_en"])
    department, contact = str(entry["department"]), str(entry["contact"])
    if names is not None:
        department, contact = _in_english(department, contact, names)
    return Answer(
        faq_id=str(entry["public_id"]),
        question=str(
            entry["question_en"] if use_english and entry["question_en"] else entry["question"]
        ),
        answer=str(entry["answer_en"] if use_english else entry["answer"]),
        url=str(entry["url"]),
        department=department,
        contact=contact,
        category=str(entry["category"]),
    )


def _fallback_contact(
    candidates: list[Any],
    entries: list[dict[str, Any]],
    confidence: float,
    names: dict[str, str] | None,
) -> dict[str, str]:
    """The department the near misses point to, or the ward office's main line."""
    shares: dict[str, float] = {}
    contacts: dict[str, str] = {}
    for candidate in candidates:
        entry = entries[candidate.index]
        department = str(entry["department"])
        shares[department] = shares.get(department, 0.0) + candidate.score
        contacts.setdefault(department, str(entry["contact"]))
    total = sum(shares.values())
    if total and confidence >= _DEPARTMENT_MIN_CONFIDENCE:
        department, share = max(shares.items(), key=lambda item: item[1])
        if share / total >= _DEPARTMENT_SHARE and department:
            contact = contacts[department]
            if names is not None:
                department, contact = _in_english(department, contact, names)
            return {"department": department, "contact": contact}
    return {
        "department": _("Bunkyo City Office (main line)"),
        "contact": settings.ASK_FALLBACK_CONTACT,
    }


def ask(
    *,
    question: str,
    lang: str | None = None,
    lat: float | None = None,
    lon: float | None = None,
    channel: str = Channel.WEB,
    user: User | None = None,
    log: bool = True,
) -> AskResult:
    """Answer a resident's question from the FAQ or the open data, or say whom to ask."""
    question = clean_question(question)
    if not question:
        raise ValidationError({"question": [_("Type a question.")]})
    english = lang == "en" if lang in ("ja", "en") else is_english(question)
    names = _english_names() if english else None
    loaded = index.load()
    ranking = loaded.index.rank(question, limit=RANKED)
    confidence = round(ranking.confidence, 3)
    answers = [_answer(loaded.entries[c.index], names) for c in ranking.candidates]
    confident = bool(answers) and confidence >= settings.ASK_MIN_CONFIDENCE
    result = AskResult(
        question=question,
        lang="en" if english else "ja",
        abstained=not confident,
        confidence=confidence,
        answer=answers[0] if confident else None,
        alternatives=(
            answers[1 : 1 + ALTERNATIVES]
            if confident
            else answers[:ALTERNATIVES]
            if confidence >= _DID_YOU_MEAN_CONFIDENCE
            else []
        ),
    )
    with translation.override(result.lang):  # layer titles and distances, as the answer reads
        data = places.answer(question, lat=lat, lon=lon, user=user, bare=not confident)
    if data is not None:
        result.place_layer, result.place_where = data.layer_title, data.where
        result.places = data.places
        result.needs_location = not data.places and not data.where
        result.place_map_url = data.map_url
        result.place_example = data.example
        result.far_away = data.far_away
        if data.places or result.needs_location:
            # A question about facilities is answered by the data (or by asking where the
            # resident is), not by a near-miss FAQ and "did you mean" about other things.
            result.abstained = False
            if not confident or confidence < settings.ASK_PLACES_FAQ_CONFIDENCE:
                result.answer = None
                result.alternatives = []
    if result.abstained:
        with translation.override(result.lang):
            result.contact = _fallback_contact(
                ranking.candidates, loaded.entries, confidence, names
            )
    if log:
        entry_pk = None
        if result.answer is not None:
            entry_pk = loaded.entries[ranking.candidates[0].index]["pk"]
        record = QuestionLog.objects.create(
            question=mask(question),
            lang=result.lang,
            channel=channel,
            entry_id=entry_pk,
            abstained=result.abstained,
            confidence=confidence,
            places=len(result.places),
        )
        result.log_id = str(record.uid)
    return result


def record_feedback(*, log_id: str, helpful: bool) -> Feedback:
    """A resident's "was this helpful?" (one per answer; a second click replaces the first)."""
    try:
        record = QuestionLog.objects.get(uid=log_id)
    except (QuestionLog.DoesNotExist, ValidationError, ValueError) as error:
        raise ValidationError({"id": [_("No such answer.")]}) from error
    with transaction.atomic():
        record.feedback.all().delete()
        return Feedback.objects.create(log=record, helpful=helpful)


# --- Keeping the FAQ --------------------------------------------------------------------


def _require_editor(actor: User) -> None:
    if not permissions.can_edit_faq(actor):
        raise PermissionDenied(_("Only FAQ editors (editors of a department) can change the FAQ."))


def analyze_entry(entry: FaqEntry) -> None:
    entry.tokens = entry_tokens(
        question=entry.question,
        variants=entry.variant_list(),
        answer=entry.answer,
        category=entry.category,
        department=entry.department,
        question_en=entry.question_en,
        answer_en=entry.answer_en,
    )


def _snapshot(entry: FaqEntry) -> dict[str, Any]:
    data = audit.snapshot(entry)
    data.pop("tokens", None)
    return data


@transaction.atomic
def save_entry(*, actor: User, entry: FaqEntry) -> FaqEntry:
    """Create or change one entry (the back office's form)."""
    _require_editor(actor)
    before = _snapshot(FaqEntry.objects.get(pk=entry.pk)) if entry.pk else {}
    entry.full_clean()
    analyze_entry(entry)
    entry.save()
    audit.record_saved(actor=actor, obj=entry, before=before, after=_snapshot(entry))
    return entry


@transaction.atomic
def delete_entry(*, actor: User, entry: FaqEntry) -> None:
    _require_editor(actor)
    audit.record_deleted(actor=actor, obj=entry, before=_snapshot(entry))
    entry.delete()


@dataclass
class ImportResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    deleted: int = 0


@transaction.atomic
def import_faq(*, actor: User, data: bytes, replace: bool = False) -> ImportResult:
    """Entries from a CSV file, by their public id; `replace` drops entries not in the file.

    Raises faqcsv.FaqFileError listing every bad row; then nothing changes.
    """
    _require_editor(actor)
    rows = faqcsv.read(data)
    result = ImportResult()
    existing = {entry.public_id: entry for entry in FaqEntry.objects.all()}
    problems: list[faqcsv.Problem] = []
    for line, row in enumerate(rows, start=2):
        entry = existing.get(row.public_id) or FaqEntry(public_id=row.public_id)
        before = _snapshot(entry) if entry.pk else {}
        for name, value in row.fields.items():
            setattr(entry, name, value)
        if entry.pk and _snapshot(entry) == before:
            result.unchanged += 1
            if entry.tokens.get("v") != TOKENS_VERSION:
                analyze_entry(entry)  # analyzed by an older machi: no change to audit
                entry.save(update_fields=["tokens"])
            continue
        try:
            entry.full_clean(exclude=["tokens"])
        except ValidationError as error:
            for column, messages in error.message_dict.items():
                problems.extend(faqcsv.Problem(line, column, m) for m in messages)
            continue
        analyze_entry(entry)
        entry.save()
        audit.record_saved(actor=actor, obj=entry, before=before, after=_snapshot(entry))
        if before:
            result.updated += 1
        else:
            result.created += 1
    if problems:
        raise faqcsv.FaqFileError(problems)  # rolls back the rows already saved
    if replace:
        kept = {row.public_id for row in rows}
        for public_id, entry in existing.items():
            if public_id not in kept:
                audit.record_deleted(actor=actor, obj=entry, before=_snapshot(entry))
                entry.delete()
                result.deleted += 1
    return result


def export_faq() -> str:
    entries = list(FaqEntry.objects.order_by("pk").values())
    return faqcsv.write(entries)


# --- Learning from the log --------------------------------------------------------------


@transaction.atomic
def add_variant(*, actor: User, log: QuestionLog, entry: FaqEntry) -> FaqEntry:
    """Make a logged question a phrasing of an entry, in one step."""
    _require_editor(actor)
    phrasing = " ".join(log.question.split())
    if phrasing and phrasing not in entry.variant_list() and phrasing != entry.question:
        entry.variants = "\n".join([*entry.variant_list(), phrasing])
        save_entry(actor=actor, entry=entry)
    log.handled = True
    log.save(update_fields=["handled"])
    return entry


@transaction.atomic
def set_aside(*, actor: User, log: QuestionLog) -> None:
    """Mark a logged question as looked at, with nothing to add."""
    _require_editor(actor)
    log.handled = True
    log.save(update_fields=["handled"])
