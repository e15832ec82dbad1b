"""The `machi` command: Django's management commands plus `serve`.

machi serve      migrate, load the demo into an empty database, start a task worker,
                 serve on HOST:PORT
machi worker     run background tasks (conversions, loads, refreshes, harvests) until
                 stopped
machi demo       load the demo catalog
machi ingest     convert a staff file to standard open data and publish it
machi harvest    harvest another catalog now (machi harvest --list shows the sources)
machi <command>  any other management command (migrate, reindex, createsuperuser ...)
"""

import os
import subprocess
import sys


def serve() -> None:
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=0)
    call_command("demo", if_empty=True)
    from machi.catalog.tasks import schedule_harvests
    from machi.publish.tasks import schedule_refreshes

    schedule_refreshes()
    schedule_harvests()
    host = os.environ.get("HOST", "127.0.0.1")
    port = os.environ.get("PORT", "8000")
    # The worker is gunicorn's child after the exec below, and stops with it (same process group).
    subprocess.Popen([sys.executable, "-m", "machi.cli", "worker"])
    print(f"machi is serving on http://{host}:{port}/", flush=True)
    os.execvp(
        sys.executable,
        [
            sys.executable,
            "-m",
            "gunicorn",
            "machi.wsgi:application",
            "--bind",
            f"{host}:{port}",
            "--workers",
            os.environ.get("MACHI_WORKERS", "2"),
            "--access-logfile",
            "-",
        ],
    )


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "machi.settings")
    import django

    django.setup()
    if sys.argv[1:2] == ["serve"]:
        serve()
        return
    if sys.argv[1:2] == ["worker"]:
        sys.argv[1:2] = ["db_worker", "--no-reload", "--interval", "0.5"]
    from django.core.management import execute_from_command_line

    execute_from_command_line(["machi", *sys.argv[1:]])


if __name__ == "__main__":
    main()
