"""Every CKAN action machi answers, by name. docs/ckan-compat.md lists them (a test checks)."""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.http import HttpRequest


@dataclass
class Context:
    request: HttpRequest
    user: Any  # the token's staff account, the signed-in user (reads), or anonymous


Action = Callable[[Context, dict[str, Any]], Any]


@dataclass(frozen=True)
class Spec:
    function: Action
    writes: bool


ACTIONS: dict[str, Spec] = {}


def register(name: str, *, writes: bool = False) -> Callable[[Action], Action]:
    def add(function: Action) -> Action:
        ACTIONS[name] = Spec(function, writes)
        return function

    return add


from machi.ckan_compat.actions import datastore, read, write  # noqa: E402,F401  (registers)
