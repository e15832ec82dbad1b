"""Tables leave the datastore with the rows that list them."""

from typing import Any

from django.db import transaction
from django.db.models.signals import post_delete
from django.dispatch import receiver

from machi.datastore.models import Table


@receiver(post_delete, sender=Table)
def drop_removed_table(sender: type[Table], instance: Table, **kwargs: Any) -> None:
    # Deleting a resource or a dataset deletes its Table rows by cascade; the
    # tables go after the commit, so a rolled-back delete keeps its data.
    from machi.datastore.services import forget_table

    name, resource_uid = instance.name, str(instance.resource.uid)
    transaction.on_commit(lambda: forget_table(name, resource_uid))
