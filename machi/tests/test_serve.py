"""`machi serve` (what `make run` runs) on an empty data directory."""

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_serve_migrates_loads_the_demo_and_answers(tmp_path: Path) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "MACHI_ENV"}}
    env.update(MACHI_DATA_DIR=str(tmp_path), PORT=str(port), HOST="127.0.0.1", MACHI_WORKERS="1")
    server = subprocess.Popen(
        [sys.executable, "-m", "machi.cli", "serve"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as r:
                    assert r.status == 200
                    break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError(server.stdout.read() if server.stdout else "") from None
                time.sleep(0.5)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=10) as response:
            home = response.read().decode()
        assert "文京区オープンデータ" in home
        assert "新着・更新情報" in home
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/datasets", timeout=10) as r:
            assert json.load(r)["count"] >= 50  # the demo
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/static/machi/site.css") as r:
            assert r.status == 200
        assert (tmp_path / "machi.sqlite3").exists()
        children = Path(f"/proc/{server.pid}/task/{server.pid}/children")
        workers = [int(pid) for pid in children.read_text().split()] if children.exists() else []
    finally:
        server.terminate()
        server.wait(timeout=20)
    # The task worker serve started stops with the server (it was left running, polling).
    deadline = time.monotonic() + 30
    while any(_running(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert not any(_running(pid) for pid in workers)


def _running(pid: int) -> bool:
    """Whether the process is alive (a zombie waiting for its parent is not)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    return "State:\tZ" not in status


def test_serve_and_worker_help_only_print(tmp_path: Path) -> None:
    """`--help` shows the options; it must not migrate, load the demo or start a server."""
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "MACHI_ENV"}}
    env.update(MACHI_DATA_DIR=str(tmp_path))
    for command, words in (("serve", "--port"), ("worker", "--interval")):
        done = subprocess.run(
            [sys.executable, "-m", "machi.cli", command, "--help"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 0, done.stderr
        assert words in done.stdout
    assert not (tmp_path / "machi.sqlite3").exists()  # nothing was migrated
