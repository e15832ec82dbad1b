"""docs/ckan-compat.md documents every action the API answers."""

from pathlib import Path

from machi.ckan_compat.actions import ACTIONS

DOC = Path(__file__).resolve().parents[3] / "docs" / "ckan-compat.md"


def test_every_action_is_documented() -> None:
    text = DOC.read_text(encoding="utf-8")
    missing = [name for name in ACTIONS if f"`{name}`" not in text]
    assert not missing, f"not in docs/ckan-compat.md: {missing}"
