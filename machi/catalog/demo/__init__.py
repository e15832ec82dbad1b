"""The demo catalog: a realistic Bunkyo catalog written by the team.

catalog.json holds the metadata, files/ the small CSV resources. Everything
is written through the catalog services, as a site administrator would.
"""

import datetime
import json
import os
from collections.abc import Callable
from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction

from machi.accounts.models import Department, Membership, Role
from machi.catalog import services
from machi.catalog.models import Category, Dataset, License, News, Resource, Showcase

DEMO_DIR = Path(__file__).resolve().parent
ADMIN_USERNAME = "admin"
# The demo runs on a laptop; production never loads it. Override with
# MACHI_DEMO_PASSWORD (docs/configuration.md).
DEFAULT_PASSWORD = "machi-demo-2026"


def _when(value: str | None) -> datetime.datetime | None:
    return datetime.datetime.fromisoformat(value) if value else None


def _date(value: str | None) -> datetime.date | None:
    return datetime.date.fromisoformat(value) if value else None


def _date_publication(dataset: Dataset, when: datetime.datetime | None) -> None:
    """A publication of the demo's happened when the dataset was last updated, not now:
    one "updated" news entry then, none today."""
    if when is None:
        return
    Dataset.objects.filter(pk=dataset.pk).update(modified=when)
    News.objects.filter(dataset=dataset, kind=News.Kind.UPDATE).delete()
    dataset.refresh_from_db()
    services.note_update(dataset, when=when)


def is_loaded() -> bool:
    return Dataset.objects.exists()


# Publishes a standard dataset's file through the publish pipeline (machi.publish.demo),
# which builds on the catalog; without it the file is added as it is.
PublishChecked = Callable[..., Resource]


@transaction.atomic
def load_demo(publish_checked: PublishChecked | None = None) -> dict[str, int]:
    """Load the demo catalog into an empty database; returns what was created."""
    data = json.loads((DEMO_DIR / "catalog.json").read_text(encoding="utf-8"))
    password = os.environ.get("MACHI_DEMO_PASSWORD", DEFAULT_PASSWORD)
    User = get_user_model()
    admin, created = User.objects.get_or_create(
        username=ADMIN_USERNAME,
        defaults={"is_staff": True, "is_superuser": True, "email": "admin@example.jp"},
    )
    if created:
        admin.set_password(password)
        admin.save()

    for position, item in enumerate(data.get("licenses", [])):
        License.objects.get_or_create(slug=item["slug"], defaults={**item, "position": position})
    for position, item in enumerate(data.get("categories", [])):
        Category.objects.get_or_create(slug=item["slug"], defaults={**item, "position": position})

    departments = {}
    for item in data["departments"]:
        departments[item["slug"]], _ = Department.objects.get_or_create(
            slug=item["slug"], defaults=item
        )
    # One editor per department, so staff can try the back office as non-admins.
    for slug, department in departments.items():
        editor, made = User.objects.get_or_create(
            username=f"{slug}-editor", defaults={"is_staff": True}
        )
        if made:
            editor.set_password(password)
            editor.save()
        Membership.objects.get_or_create(
            user=editor, department=department, defaults={"role": Role.EDITOR}
        )

    categories = {c.slug: c for c in Category.objects.all()}
    licenses = {lic.slug: lic for lic in License.objects.all()}
    for item in data["datasets"]:
        modified = _when(item.get("modified"))
        dataset = services.create_dataset(
            actor=admin,
            department=departments[item["department"]],
            name=item["name"],
            title=item["title"],
            title_en=item.get("title_en", ""),
            description=item.get("description", ""),
            description_en=item.get("description_en", ""),
            license=licenses[item.get("license", services.DEFAULT_LICENSE)],
            tags=item.get("tags", []),
            categories=[categories[slug] for slug in item.get("categories", [])],
            update_frequency=item.get("update_frequency", "IRREG"),
            temporal_start=_date(item.get("temporal_start")),
            temporal_end=_date(item.get("temporal_end")),
            spatial=item.get("spatial", "文京区"),
            contact_name=item.get("contact_name", ""),
            contact_email=item.get("contact_email", ""),
            contact_phone=item.get("contact_phone", ""),
            standard=item.get("standard", ""),
            modified=modified,
        )
        if modified is not None:
            # The demo's datasets were published when last updated, not when it was loaded.
            Dataset.objects.filter(pk=dataset.pk).update(created=modified)
        checked = False
        for resource in item.get("resources", []):
            upload = None
            if resource.get("file"):
                content = (DEMO_DIR / "files" / resource["file"]).read_bytes()
                upload = SimpleUploadedFile(resource["file"], content, content_type="text/csv")
            if upload is not None and dataset.standard and publish_checked is not None:
                published = publish_checked(
                    actor=admin, dataset=dataset, name=resource["name"], upload=upload
                )
                services.update_resource(
                    actor=admin,
                    resource=published,
                    name_en=resource.get("name_en", ""),
                    description=resource.get("description", ""),
                )
                checked = True
                continue
            services.add_resource(
                actor=admin,
                dataset=dataset,
                name=resource["name"],
                name_en=resource.get("name_en", ""),
                description=resource.get("description", ""),
                upload=upload,
                url=resource.get("url", ""),
                format=resource.get("format", ""),
                when=modified,
            )
        if checked:
            _date_publication(dataset, modified)

    for item in data.get("news", []):
        services.save_news(
            actor=admin,
            news=News(
                title=item["title"],
                title_en=item.get("title_en", ""),
                body=item.get("body", ""),
                body_en=item.get("body_en", ""),
                published_at=_when(item["published_at"]),
                department=departments.get(item.get("department", "")),
            ),
        )
    for item in data.get("showcases", []):
        services.save_showcase(
            actor=admin,
            showcase=Showcase(
                name=item["name"],
                title=item["title"],
                title_en=item.get("title_en", ""),
                description=item.get("description", ""),
                description_en=item.get("description_en", ""),
                url=item.get("url", ""),
                author=item.get("author", ""),
                event=item.get("event", ""),
            ),
            datasets=Dataset.objects.filter(name__in=item.get("datasets", [])),
        )
    return {
        "datasets": len(data["datasets"]),
        "departments": len(departments),
        "news": len(data.get("news", [])),
        "showcases": len(data.get("showcases", [])),
    }
