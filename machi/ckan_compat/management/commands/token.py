"""`machi token create USERNAME [--name NAME]`: print a new CKAN API token for a staff account.

`machi token list USERNAME` shows the account's tokens; `machi token revoke PREFIX` stops one.
"""

from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from machi.ckan_compat import tokens
from machi.ckan_compat.models import ApiToken


class Command(BaseCommand):
    help = "Create, list or revoke API tokens of staff accounts (for the CKAN API)."

    def add_arguments(self, parser: CommandParser) -> None:
        commands = parser.add_subparsers(dest="command", required=True)
        create = commands.add_parser("create", help="Print a new token for USERNAME.")
        create.add_argument("username")
        create.add_argument("--name", default="command line", help="What the token is for.")
        listing = commands.add_parser("list", help="List the tokens of USERNAME.")
        listing.add_argument("username")
        revoke = commands.add_parser("revoke", help="Revoke the token starting with PREFIX.")
        revoke.add_argument("prefix")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["command"] == "create":
            owner = self._account(options["username"])
            try:
                # The command runs as the account itself: whoever can run it owns the server.
                _token, plaintext = tokens.create_token(
                    actor=owner, owner=owner, name=options["name"]
                )
            except ValidationError as error:
                raise CommandError(" ".join(error.messages)) from None
            self.stdout.write(plaintext)
        elif options["command"] == "list":
            owner = self._account(options["username"])
            for token in ApiToken.objects.filter(owner=owner):
                state = _("revoked") if token.revoked else _("active")
                self.stdout.write(
                    f"{token.prefix}…\t{state}\t{token.created:%Y-%m-%d}\t{token.name}"
                )
        else:
            matches = list(ApiToken.objects.filter(prefix=options["prefix"], revoked__isnull=True))
            if len(matches) != 1:
                raise CommandError(
                    _("%(count)d active tokens start with %(prefix)s: give exactly one.")
                    % {"count": len(matches), "prefix": options["prefix"]}
                )
            tokens.revoke_token(actor=matches[0].owner, token=matches[0])
            self.stdout.write(_("Revoked %(prefix)s…") % {"prefix": matches[0].prefix})

    def _account(self, username: str) -> Any:
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(_("No account named %(username)s.") % {"username": username})
        return user
