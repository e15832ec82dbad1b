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
