"""Licenses, categories, synonyms and the English glossary that ship with machi.

Staff edit them afterwards in the back office; this only fills an empty database.
"""

import json
from pathlib import Path

from django.db import migrations

DEFAULTS = Path(__file__).resolve().parent.parent / "data" / "defaults.json"


def load(apps, schema_editor):  # type: ignore[no-untyped-def]
    data = json.loads(DEFAULTS.read_text(encoding="utf-8"))
    License = apps.get_model("catalog", "License")
    Category = apps.get_model("catalog", "Category")
    SynonymSet = apps.get_model("catalog", "SynonymSet")
    GlossaryEntry = apps.get_model("catalog", "GlossaryEntry")
    for position, item in enumerate(data["licenses"]):
        License.objects.get_or_create(slug=item["slug"], defaults={**item, "position": position})
    for position, item in enumerate(data["categories"]):
        Category.objects.get_or_create(slug=item["slug"], defaults={**item, "position": position})
    if not SynonymSet.objects.exists():
        SynonymSet.objects.bulk_create(SynonymSet(terms=terms) for terms in data["synonyms"])
    for english, japanese in data["glossary"]:
        GlossaryEntry.objects.get_or_create(english=english, defaults={"japanese": japanese})


class Migration(migrations.Migration):
    dependencies = [("catalog", "0002_search_index")]

    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
