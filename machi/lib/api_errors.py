"""The shapes of the machi API's error answers, for its OpenAPI document: clients generated
from it read a 400 or a 404 as well as a 200."""

from typing import Any

from ninja import Schema


class ErrorOut(Schema):
    """400, 403, 404, 503: what was wrong and, where one was, the parameter (or line,
    row, column) it was in."""

    detail: str
    parameter: str | None = None


class FieldErrorOut(Schema):
    loc: list[Any]
    field: str
    msg: str
    type: str


class RequestErrorOut(Schema):
    """422: parameters of the wrong type, one message per field."""

    detail: list[FieldErrorOut]


def errors(*codes: int) -> dict[int, type[Schema]]:
    """Response schemas for the given error codes (422 always: any parameter may be bad)."""
    shapes: dict[int, type[Schema]] = {code: ErrorOut for code in codes}
    shapes[422] = RequestErrorOut
    return shapes
