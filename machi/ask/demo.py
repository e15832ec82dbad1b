"""The demo FAQ: 95 entries written by the team from Bunkyo's real procedures.

Loaded by `machi demo` as the site administrator: the entries (data/faq.csv) and the
synonym sets the chatbot relies on (data/synonyms.txt), added to the shared synonym
dictionary (catalog SynonymSet) unless an equal set is there.
"""

from pathlib import Path

from django.contrib.auth import get_user_model
from django.db import transaction

from machi.ask import services
from machi.catalog import services as catalog_services
from machi.catalog.demo import ADMIN_USERNAME
from machi.catalog.models import SynonymSet

DATA = Path(__file__).resolve().parent / "data"
FAQ_FILE = DATA / "faq.csv"
SYNONYMS_FILE = DATA / "synonyms.txt"


def synonym_lines() -> list[str]:
    lines = SYNONYMS_FILE.read_text(encoding="utf-8").splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


@transaction.atomic
def load_demo() -> dict[str, int]:
    admin = get_user_model().objects.get(username=ADMIN_USERNAME)
    known = {frozenset(s.term_list()) for s in SynonymSet.objects.all()}
    added = 0
    for line in synonym_lines():
        synonym_set = SynonymSet(terms=line)
        if frozenset(synonym_set.term_list()) in known:
            continue
        catalog_services.save_vocabulary(actor=admin, obj=synonym_set)
        added += 1
    result = services.import_faq(actor=admin, data=FAQ_FILE.read_bytes())
    return {"faq": result.created + result.updated + result.unchanged, "synonyms": added}
