"""Keep Django's own tables out of the datastore database.

The `datastore` alias holds published tables only, created by
machi.datastore.engine; every model (including datastore.Table, which
describes those tables) lives in the main database.
"""

DATASTORE = "datastore"


class DatastoreRouter:
    def db_for_read(self, model, **hints):  # type: ignore[no-untyped-def]
        return "default"

    def db_for_write(self, model, **hints):  # type: ignore[no-untyped-def]
        return "default"

    def allow_relation(self, obj1, obj2, **hints):  # type: ignore[no-untyped-def]
        return True

    def allow_migrate(self, db, app_label, model_name=None, **hints):  # type: ignore[no-untyped-def]
        return db != DATASTORE
