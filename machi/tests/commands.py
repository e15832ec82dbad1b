"""Running machi as a separate process in tests (a second site, a worker to kill)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MACHI = [sys.executable, "-m", "machi.cli"]


def run_machi(env: dict[str, str], *args: str, timeout: float = 300) -> str:
    """`machi ARGS` in `env`; fails the test with its output unless it succeeds."""
    done = subprocess.run(
        [*MACHI, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout
