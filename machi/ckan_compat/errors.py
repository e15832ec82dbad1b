"""CKAN's error kinds: the `__type` text and HTTP status each one answers with.

`ckan/views/api.py` spells them; clients (ckanapi among them) pick the exception
to raise from `__type`, so the spelling is part of the contract.
"""

from typing import Any


class ActionError(Exception):
    kind = "Internal Server Error"
    status = 500

    def __init__(self, message: str = "", *, fields: dict[str, list[str]] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.fields = fields or {}

    def body(self) -> dict[str, Any]:
        return {"__type": self.kind, "message": self.message}


class NotFound(ActionError):
    kind = "Not Found Error"
    status = 404


class NotAuthorized(ActionError):
    kind = "Authorization Error"
    status = 403


class ValidationFailed(ActionError):
    """Field errors: {"field": ["message", ...]} as CKAN's ValidationError carries them."""

    kind = "Validation Error"
    status = 409

    def body(self) -> dict[str, Any]:
        # CKAN puts the field errors beside __type; a `message` sums them up too.
        return {**self.fields, "__type": self.kind, "message": self.message}


class SearchQueryError(ActionError):
    kind = "Search Query Error"
    status = 400


class BadRequest(ActionError):
    """CKAN's answer to an unknown action or an unreadable request body."""

    kind = "Bad request"
    status = 400
