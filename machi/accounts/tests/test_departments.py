"""Department admins manage their own staff; nobody else's."""

from collections.abc import Callable

import pytest
from django.contrib.auth.models import User
from django.test import Client

from machi.accounts.models import Department, Membership, Role
from machi.audit.models import AuditEvent

pytestmark = pytest.mark.django_db


def membership_form(department: Department, user: User, role: str) -> dict[str, object]:
    return {
        "slug": department.slug,
        "name": department.name,
        "name_en": department.name_en,
        "memberships-TOTAL_FORMS": "1",
        "memberships-INITIAL_FORMS": "0",
        "memberships-MIN_NUM_FORMS": "0",
        "memberships-MAX_NUM_FORMS": "1000",
        "memberships-0-user": user.pk,
        "memberships-0-role": role,
    }


def test_department_admin_gives_a_role(
    client_for: Callable[[User], Client], department_admin: User, kikaku: Department
) -> None:
    newcomer = User.objects.create_user("newcomer", password="x" * 12, is_staff=True)
    response = client_for(department_admin).post(
        f"/admin/accounts/department/{kikaku.pk}/change/",
        membership_form(kikaku, newcomer, Role.EDITOR),
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    assert Membership.objects.get(user=newcomer).role == Role.EDITOR
    assert AuditEvent.objects.filter(object_type="accounts.membership").exists()


def test_editor_and_outsider_cannot_change_departments(
    client_for: Callable[[User], Client], editor: User, outsider: User, kikaku: Department
) -> None:
    newcomer = User.objects.create_user("newcomer", password="x" * 12, is_staff=True)
    for user in (editor, outsider):
        response = client_for(user).post(
            f"/admin/accounts/department/{kikaku.pk}/change/",
            membership_form(kikaku, newcomer, Role.ADMIN),
        )
        assert response.status_code in {302, 403}
    assert not Membership.objects.filter(user=newcomer).exists()


def test_site_admin_changes_to_staff_accounts_are_audited_without_the_password(
    client_for: Callable[[User], Client], site_admin: User, editor: User
) -> None:
    response = client_for(site_admin).post(
        f"/admin/auth/user/{editor.pk}/change/",
        {
            "username": "editor",
            "is_active": "on",
            "is_staff": "on",
            "email": "e@example.jp",
            "date_joined_0": "2026-01-01",
            "date_joined_1": "09:00:00",
            "initial-date_joined_0": "2026-01-01",
            "initial-date_joined_1": "09:00:00",
        },
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    event = AuditEvent.objects.get(object_type="auth.user", object_id=str(editor.pk))
    assert event.changes["email"] == ["", "e@example.jp"]
    assert editor.password not in str(event.changes)


def test_resetting_an_authenticator_is_audited_without_its_secret(
    client_for: Callable[[User], Client], site_admin: User, editor: User
) -> None:
    from django_otp.plugins.otp_totp.models import TOTPDevice

    device = TOTPDevice.objects.create(user=editor, name="phone", confirmed=True)
    response = client_for(site_admin).post(
        f"/admin/otp_totp/totpdevice/{device.pk}/delete/", {"post": "yes"}
    )
    assert response.status_code == 302
    assert not TOTPDevice.objects.filter(pk=device.pk).exists()
    event = AuditEvent.objects.get(object_type="otp_totp.totpdevice", action="delete")
    assert device.key not in str(event.changes)


def test_giving_a_row_to_another_person_takes_the_first_person_s_role_away(
    client_for: Callable[[User], Client], department_admin: User, editor: User, kikaku: Department
) -> None:
    """The row was saved for the new person and the old one kept the role, unaudited."""
    newcomer = User.objects.create_user("newcomer", password="x" * 12, is_staff=True)
    rows = list(Membership.objects.filter(department=kikaku))
    form: dict[str, object] = {
        "slug": kikaku.slug,
        "name": kikaku.name,
        "name_en": kikaku.name_en,
        "memberships-TOTAL_FORMS": str(len(rows)),
        "memberships-INITIAL_FORMS": str(len(rows)),
        "memberships-MIN_NUM_FORMS": "0",
        "memberships-MAX_NUM_FORMS": "1000",
    }
    for n, row in enumerate(rows):
        form[f"memberships-{n}-id"] = row.pk
        form[f"memberships-{n}-department"] = kikaku.pk
        form[f"memberships-{n}-user"] = newcomer.pk if row.user == editor else row.user.pk
        form[f"memberships-{n}-role"] = row.role
    response = client_for(department_admin).post(
        f"/admin/accounts/department/{kikaku.pk}/change/", form
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    assert not Membership.objects.filter(department=kikaku, user=editor).exists()
    assert Membership.objects.get(department=kikaku, user=newcomer).role == Role.EDITOR
    assert Membership.objects.filter(department=kikaku, user=department_admin).exists()
    removed = AuditEvent.objects.filter(object_type="accounts.membership", action="delete")
    assert removed.count() == 1
