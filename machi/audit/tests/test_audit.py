"""Every write lands in an append-only audit log that staff admins can read."""

from collections.abc import Callable

import pytest
from django.contrib.auth.models import User
from django.db import DatabaseError, connection, transaction
from django.test import Client

from machi.accounts.models import Department
from machi.audit.models import AppendOnlyError, AuditEvent
from machi.catalog import services
from machi.catalog.models import Dataset

pytestmark = pytest.mark.django_db


@pytest.fixture
def dataset(kikaku: Department, editor: User) -> Dataset:
    return services.create_dataset(
        actor=editor, department=kikaku, name="aed", title="AED設置場所", tags=["防災"]
    )


def test_create_and_update_record_who_what_and_before_after(editor: User, dataset: Dataset) -> None:
    services.update_dataset(
        actor=editor, dataset=dataset, title="AED設置場所一覧", tags=["防災", "救命"]
    )
    created, updated = AuditEvent.objects.filter(object_type="catalog.dataset").order_by("at")
    assert created.action == "create" and created.actor == editor
    assert created.changes["title"] == [None, "AED設置場所"]
    assert updated.actor_name == "editor"
    assert updated.object_id == str(dataset.pk)
    assert updated.changes == {
        "title": ["AED設置場所", "AED設置場所一覧"],
        "tags": [["防災"], ["救命", "防災"]],
    }


def test_deletes_are_recorded_with_what_was_lost(department_admin: User, dataset: Dataset) -> None:
    services.delete_dataset(actor=department_admin, dataset=dataset)
    event = AuditEvent.objects.get(action="delete")
    assert event.changes["title"] == ["AED設置場所", None]


def test_a_failed_save_records_nothing(editor: User, dataset: Dataset) -> None:
    from django.core.exceptions import ValidationError

    count = AuditEvent.objects.count()
    with pytest.raises(ValidationError):
        services.update_dataset(actor=editor, dataset=dataset, name="NOT A SLUG")
    assert AuditEvent.objects.count() == count
    dataset.refresh_from_db()
    assert dataset.name == "aed"


def test_the_app_cannot_change_or_delete_events(dataset: Dataset) -> None:
    event = AuditEvent.objects.first()
    event.object_repr = "forged"
    with pytest.raises(AppendOnlyError):
        event.save()
    with pytest.raises(AppendOnlyError):
        event.delete()


def test_the_database_refuses_updates_too(dataset: Dataset) -> None:
    with pytest.raises(DatabaseError), transaction.atomic():
        AuditEvent.objects.update(object_repr="forged")
    assert not AuditEvent.objects.filter(object_repr="forged").exists()


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="SQLite allows DELETE for test flushes"
)
def test_postgresql_refuses_deletes(dataset: Dataset) -> None:
    with pytest.raises(DatabaseError), transaction.atomic():
        AuditEvent.objects.all().delete()


def test_staff_admins_browse_and_filter_but_cannot_edit(
    client_for: Callable[[User], Client],
    department_admin: User,
    editor: User,
    dataset: Dataset,
    outsider: User,
) -> None:
    admin = client_for(department_admin)
    listing = admin.get("/admin/audit/auditevent/", {"action__exact": "create"})
    assert listing.status_code == 200
    assert "AED設置場所" in listing.content.decode()
    event = AuditEvent.objects.get(object_type="catalog.dataset")
    assert (
        admin.post(f"/admin/audit/auditevent/{event.pk}/delete/", {"post": "yes"}).status_code
        == 403
    )
    assert AuditEvent.objects.filter(pk=event.pk).exists()
    assert admin.get("/admin/audit/auditevent/add/").status_code == 403
    # Plain editors, and admins of other departments, do not read the log.
    assert client_for(editor).get("/admin/audit/auditevent/").status_code == 403


def test_outsider_admin_sees_only_their_department_events(
    client_for: Callable[[User], Client],
    bousai: Department,
    dataset: Dataset,
) -> None:
    from machi.accounts.models import Membership, Role

    other_admin = User.objects.create_user("bousai-admin", password="x" * 12, is_staff=True)
    Membership.objects.create(user=other_admin, department=bousai, role=Role.ADMIN)
    listing = client_for(other_admin).get("/admin/audit/auditevent/").content.decode()
    assert "AED設置場所" not in listing


def test_publications_are_named_and_filtered_in_the_log(
    client_for: Callable[[User], Client], department_admin: User, dataset: Dataset
) -> None:
    """A publication's action showed as 「-」 and could not be filtered; kinds showed as
    publish.run."""
    from machi.audit import services as audit

    audit.record(
        actor=department_admin,
        action="publish",
        obj=dataset,
        department_id=dataset.department_id,
    )
    listing = client_for(department_admin).get("/admin/audit/auditevent/")
    page = listing.content.decode()
    assert "action__exact=publish" in page  # offered as a filter
    assert '<td class="field-action">公開</td>' in page
    rows = page.split("<tbody>")[1].split("</tbody>")[0]
    assert "データセット" in rows and "catalog.dataset" not in rows
    filtered = client_for(department_admin).get(
        "/admin/audit/auditevent/", {"action__exact": "publish"}
    )
    body = filtered.content.decode().split("<tbody>")[1].split("</tbody>")[0]
    assert body.count("<tr") == 1  # the publication alone
