"""Background work of the datastore."""

from django_tasks import task


@task()
def build_search(table_id: int) -> bool:
    """The full-text index of a table published with `search_later`."""
    from machi.datastore import services
    from machi.datastore.models import Table

    table = Table.objects.filter(pk=table_id).first()
    if table is None:
        return False
    services.build_search(table)
    return True


def resume_search() -> int:
    """Queue the full-text index of every table still without one and not queued.

    A worker stopped during `build_search` (a restart, a killed process) leaves its
    table serving rows with `q` refused; `machi worker` calls this when it starts, and
    the task continues from the rows still without tokens. Returns how many it queued.
    """
    from django.conf import settings

    from machi.datastore.models import Table

    pending = list(Table.objects.filter(search_ready=False).values_list("pk", flat=True))
    if not pending:
        return 0
    if "django_tasks_db" in settings.TASKS["default"]["BACKEND"]:
        from django_tasks_db.models import DBTaskResult

        queued = {
            args["args"][0]
            for args in DBTaskResult.objects.filter(
                task_path=build_search.module_path, status="READY"
            ).values_list("args_kwargs", flat=True)
            if args.get("args")
        }
        pending = [pk for pk in pending if pk not in queued]
    for pk in pending:
        build_search.enqueue(pk)
    return len(pending)
