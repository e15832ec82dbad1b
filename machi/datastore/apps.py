from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DatastoreConfig(AppConfig):
    name = "machi.datastore"
    verbose_name = _("Datastore")

    def ready(self) -> None:
        from machi.datastore import signals  # noqa: F401 (connects the receivers)
