"""The `machi` command: Django's management commands plus `serve`.

machi serve      migrate, load the demo into an empty database, start a task worker,
                 serve on HOST:PORT (or --host, --port)
machi worker     run background tasks (conversions, loads, refreshes, harvests) until
                 stopped; first it queues the full-text indexes and ends the runs that a
                 stopped worker left unfinished
machi demo       load the demo catalog
machi ingest     convert a staff file to standard open data and publish it
machi harvest    harvest another catalog now (machi harvest --list shows the sources)
machi <command>  any other management command (migrate, reindex, createsuperuser ...)
"""

import argparse
import os
import signal
import subprocess
import sys
import threading
import time


def workers() -> int:
    """gunicorn worker processes: MACHI_WORKERS, else two per processor (at most 8).

    A request is mostly Python, which one process runs on one processor at a time;
    two per processor keep every processor busy while others wait on the database.
    """
    return int(os.environ.get("MACHI_WORKERS") or min(8, 2 * (os.cpu_count() or 1)))


def threads() -> int:
    """Threads per worker: MACHI_THREADS, else 2 (gunicorn's gthread worker, which keeps
    connections alive; SQLite and PostgreSQL work while another thread runs Python)."""
    return int(os.environ.get("MACHI_THREADS") or 2)


def serve(args: list[str]) -> None:
    parser = argparse.ArgumentParser(
        prog="machi serve",
        description="Migrate, load the demo into an empty database, start a task worker "
        "and serve the site.",
    )
    parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"), help="(HOST)")
    parser.add_argument("--port", default=os.environ.get("PORT", "8000"), help="(PORT)")
    options = parser.parse_args(args)  # before anything is done: --help only prints
    host, port = options.host, options.port
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=0)
    call_command("demo", if_empty=True)
    from machi.catalog.tasks import schedule_harvests
    from machi.publish.tasks import schedule_refreshes

    schedule_refreshes()
    schedule_harvests()
    # The worker is gunicorn's child after the exec below (this process becomes gunicorn):
    # Ctrl-C stops both (one process group), and the worker stops when the server is
    # gone whatever stopped it (a kill of its process, a port already in use).
    subprocess.Popen(
        [sys.executable, "-m", "machi.cli", "worker"],
        env={**os.environ, "MACHI_WORKER_PARENT": str(os.getpid())},
    )
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
            str(workers()),
            "--threads",
            str(threads()),
            "--access-logfile",
            "-",
        ],
    )


def stop_with(parent: int) -> None:
    """Stop this worker (SIGTERM: it ends its task first) once `parent` is no longer its
    parent process."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1)
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch, name="stop-with-server", daemon=True).start()


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "machi.settings")
    import django

    django.setup()
    if sys.argv[1:2] == ["serve"]:
        serve(sys.argv[2:])
        return
    if sys.argv[1:2] == ["worker"] and not {"-h", "--help"} & set(sys.argv[2:]):
        from machi.datastore.tasks import resume_search
        from machi.publish.services import recover_stopped_runs

        # What a stopped worker left unfinished.
        resume_search()
        recover_stopped_runs()
    if sys.argv[1:2] == ["worker"]:
        parent = os.environ.pop("MACHI_WORKER_PARENT", "")
        if parent:  # started by machi serve
            stop_with(int(parent))
        # No system checks: the server it works for ran them, and importing every view,
        # admin and API schema to check them held 34-48 MB in each worker for good.
        sys.argv[1:2] = ["db_worker", "--no-reload", "--interval", "0.5", "--skip-checks"]
    from django.core.management import execute_from_command_line

    execute_from_command_line(["machi", *sys.argv[1:]])


if __name__ == "__main__":
    main()
