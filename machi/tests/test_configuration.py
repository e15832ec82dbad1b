"""Settings: documented, refuse unsafe production, pass Django's deploy checks."""

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
READS = re.compile(
    r"""(?:env_(?:str|bool|int|list)|os\.environ\.get|os\.environ\.setdefault|getenv)\(\s*["']([A-Z][A-Z0-9_]+)["']"""
)
# Variables that belong to Django or the test runner, not to machi.
NOT_OURS = {"DJANGO_SETTINGS_MODULE"}


def variables_read() -> set[str]:
    found: set[str] = set()
    for path in list((ROOT / "machi").rglob("*.py")) + list((ROOT / "bench").rglob("*.py")):
        found.update(READS.findall(path.read_text(encoding="utf-8")))
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    found.update(re.findall(r"^([A-Z][A-Z0-9_]+) \?=", makefile, re.MULTILINE))
    return found - NOT_OURS - {"PYTHON", "VENV"}


def test_every_variable_read_is_documented() -> None:
    documented = set(
        re.findall(r"^\| `([A-Z0-9_]+)` \|", (ROOT / "docs/configuration.md").read_text(), re.M)
    )
    assert variables_read() - documented == set()
    assert {"DATABASE_URL", "SECRET_KEY", "DEBUG", "ALLOWED_HOSTS", "MACHI_DATA_DIR"} <= documented


def _manage(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "MACHI_ENV"}}
    return subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), *args],
        env={**clean, **env},
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )


def test_production_refuses_the_default_secret_key(tmp_path: Path) -> None:
    result = _manage("check", MACHI_ENV="production", MACHI_DATA_DIR=str(tmp_path))
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


def test_production_settings_pass_the_deploy_checks(tmp_path: Path) -> None:
    result = _manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        MACHI_ENV="production",
        SECRET_KEY="x" * 20 + "-a-long-random-production-key-for-the-test-0123456789",
        ALLOWED_HOSTS="opendata.example.jp",
        MACHI_DATA_DIR=str(tmp_path),
    )
    assert result.returncode == 0, result.stderr + result.stdout


def test_bad_boolean_is_refused_with_the_variable_named(tmp_path: Path) -> None:
    result = _manage("check", DEBUG="maybe", MACHI_DATA_DIR=str(tmp_path))
    assert result.returncode != 0
    assert "DEBUG must be true or false" in result.stderr
