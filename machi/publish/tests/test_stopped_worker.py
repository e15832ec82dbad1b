"""A real worker killed while converting a large file: the run is not stuck.

`machi worker` runs in its own data directory; it is killed (SIGKILL, its conversion
processes with it) midway through a conversion. The run then says "converting" with no
one converting it, until `recover_stopped_runs` ends it, and it converts again.
"""

import json
import os
import signal
import sqlite3
import subprocess
import textwrap
import time
from pathlib import Path

from machi.tests.commands import MACHI, ROOT, run_machi

SETUP = """
from django.contrib.auth.models import User
from django.core.files import File
from machi.accounts.models import Department
from machi.catalog import services as catalog
from machi.publish import services, tasks
admin = User.objects.create_superuser("admin", "admin@example.jp", None)
department = Department.objects.create(slug="kikaku", name="企画課", name_en="Planning")
dataset = catalog.create_dataset(
    actor=admin, department=department, name="shisetsu", title="施設"
)
with open({path!r}, "rb") as stream:
    run = services.start_run(actor=admin, dataset=dataset, upload=File(stream, name="施設.csv"))
tasks.convert.enqueue(run.pk)
"""

RECOVER = """
import datetime
from django.utils import timezone
from machi.publish import services
print("recovered", services.recover_stopped_runs(timezone.now() + datetime.timedelta(minutes=5)))
"""

AGAIN = """
from django.contrib.auth.models import User
from machi.publish import services, tasks
from machi.publish.models import Run
run = services.set_options(actor=User.objects.get(), run=Run.objects.get(), options={})
tasks.convert.enqueue(run.pk)
"""


def _big_file(path: Path, rows: int) -> None:
    lines = ["名称,住所,電話番号,開設日,定員"]
    for n in range(rows):
        lines.append(
            f"施設{n},東京都文京区春日{n % 3 + 1}丁目{n % 20 + 1}番,"
            f"03-{3800 + n % 200}-{n % 10000:04d},令和{n % 6 + 1}年{n % 12 + 1}月{n % 28 + 1}日,"
            f"{n % 300}人"
        )
    path.write_text("\n".join(lines) + "\n", encoding="cp932")


class Machi:
    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.env = {
            k: v
            for k, v in os.environ.items()
            if k not in {"DATABASE_URL", "DATASTORE_URL", "REDIS_URL", "MACHI_TASKS"}
        }
        self.env.update(MACHI_DATA_DIR=str(data_dir), MACHI_CONVERT_PROCESSES="2")

    def __call__(self, *args: str) -> str:
        return run_machi(self.env, *args)

    def run_state(self) -> tuple[str, float, str]:
        with sqlite3.connect(self.data_dir / "machi.sqlite3") as db:
            return db.execute("SELECT status, progress, stage FROM publish_run").fetchone()


def test_a_killed_worker_leaves_no_run_converting_for_ever(tmp_path: Path) -> None:
    machi = Machi(tmp_path / "data")
    source = tmp_path / "施設.csv"
    _big_file(source, 300_000)
    machi("migrate", "--verbosity", "0")
    machi("shell", "-c", textwrap.dedent(SETUP.format(path=str(source))))
    log = tmp_path / "worker.log"
    with log.open("wb") as output:
        worker = subprocess.Popen(
            [*MACHI, "worker"],
            cwd=ROOT,
            env=machi.env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its conversion processes are killed with it
        )
    try:
        deadline = time.monotonic() + 120
        while machi.run_state()[:2] < ("running", 0.2) or machi.run_state()[0] != "running":
            assert worker.poll() is None, log.read_text()[-3000:]
            assert time.monotonic() < deadline, machi.run_state()
            time.sleep(0.1)
    finally:
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait()
    status, progress, stage = machi.run_state()
    assert (status, progress < 1.0) == ("running", True)  # stuck, with no worker

    assert "recovered 1" in machi("shell", "-c", RECOVER)
    status, _progress, _stage = machi.run_state()
    assert status == "failed"
    with sqlite3.connect(machi.data_dir / "machi.sqlite3") as db:
        (report,) = db.execute("SELECT report FROM publish_run").fetchone()
    (problem,) = json.loads(report)["problems"]
    assert "ワーカー" in problem["message"] and stage in problem["message"]  # where it stopped

    machi("shell", "-c", textwrap.dedent(AGAIN))
    machi("db_worker", "--batch", "--no-startup-delay", "--no-reload")
    assert machi.run_state()[0] == "review"
