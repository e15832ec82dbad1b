"""Staff API tokens: the `machi token` command, the back office, and storage."""

import re
from collections.abc import Callable
from io import StringIO
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command
from django.test import Client

from machi.ckan_compat.models import ApiToken
from machi.lib.credentials import digest

pytestmark = pytest.mark.django_db


def _create(username: str) -> str:
    out = StringIO()
    call_command("token", "create", username, "--name", "nightly upload", stdout=out)
    return out.getvalue().strip()


def test_command_prints_a_working_token_and_keeps_only_its_hash(
    editor: User, call: Callable[..., Any]
) -> None:
    plaintext = _create("editor")
    token = ApiToken.objects.get(owner=editor)
    assert token.hashed == digest(plaintext) and plaintext not in token.hashed
    assert token.prefix == plaintext[:8] and token.name == "nightly upload"
    status, body = call("package_create", token=plaintext, name="cmd", title="コマンド",
                        owner_org="kikaku")  # fmt: skip
    assert status == 200, body
    assert ApiToken.objects.get(pk=token.pk).last_used is not None


def test_command_refuses_accounts_that_are_not_staff(db: None) -> None:
    User.objects.create_user("resident", password="x")
    with pytest.raises(CommandError, match="職員"):  # commands speak Japanese
        _create("resident")
    with pytest.raises(CommandError, match="アカウント「nobody」"):
        _create("nobody")


def test_command_lists_and_revokes(editor: User, call: Callable[..., Any]) -> None:
    plaintext = _create("editor")
    out = StringIO()
    call_command("token", "list", "editor", stdout=out)
    assert plaintext[:8] in out.getvalue() and "有効" in out.getvalue()
    call_command("token", "revoke", plaintext[:8], stdout=StringIO())
    status, body = call("package_create", token=plaintext, name="x1", title="x",
                        owner_org="kikaku")  # fmt: skip
    assert status == 403


def test_every_token_can_be_revoked_by_its_prefix(
    editor: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    # secrets.token_urlsafe starts one secret in 64 with "-", which the command line
    # would take for an option: such a draw is not used.
    import secrets

    draws = iter(["-" + "A" * 42, "B" * 43])
    monkeypatch.setattr(secrets, "token_urlsafe", lambda n: next(draws))
    plaintext = _create("editor")
    assert plaintext == "B" * 43
    call_command("token", "revoke", plaintext[:8], stdout=StringIO())
    assert ApiToken.objects.get(owner=editor).revoked is not None


def test_staff_create_a_token_in_the_back_office_and_see_it_once(
    editor: User, client_for: Callable[[User], Client], call: Callable[..., Any]
) -> None:
    client = client_for(editor)
    response = client.post(
        "/admin/ckan_compat/apitoken/add/", {"name": "区のスクリプト"}, follow=True
    )
    assert response.status_code == 200
    text = response.content.decode()
    stored = ApiToken.objects.get(owner=editor, name="区のスクリプト")
    shown = re.findall(r"(?<![\w-])[\w-]{43}(?![\w-])", text, flags=re.ASCII)
    plaintext = next(word for word in shown if digest(word) == stored.hashed)
    assert call("package_list", token=plaintext)[0] == 200
    listing = client.get("/admin/ckan_compat/apitoken/").content.decode()
    assert plaintext[:8] in listing and plaintext not in listing


def test_staff_revoke_their_token_and_cannot_see_others(
    editor: User, outsider: User, client_for: Callable[[User], Client]
) -> None:
    mine, theirs = _create("editor"), _create("outsider")
    client = client_for(editor)
    listing = client.get("/admin/ckan_compat/apitoken/").content.decode()
    assert mine[:8] in listing and theirs[:8] not in listing
    token = ApiToken.objects.get(owner=editor)
    response = client.post(
        "/admin/ckan_compat/apitoken/",
        {"action": "revoke", "_selected_action": [token.pk]},
        follow=True,
    )
    assert response.status_code == 200
    assert ApiToken.objects.get(pk=token.pk).revoked is not None
    other = ApiToken.objects.get(owner=outsider)
    client.post(
        "/admin/ckan_compat/apitoken/", {"action": "revoke", "_selected_action": [other.pk]}
    )
    assert ApiToken.objects.get(pk=other.pk).revoked is None
