"""Load the demo catalog's CSV resources into the datastore, so its API answers at once."""

from django.contrib.auth import get_user_model

from machi.catalog.demo import ADMIN_USERNAME
from machi.catalog.models import Resource, ResourceVersion
from machi.datastore import services, sources


def load_demo_tables() -> int:
    """Load every current CSV version that has no table yet; returns how many were loaded."""
    admin = get_user_model().objects.get(username=ADMIN_USERNAME)
    versions = ResourceVersion.objects.filter(
        pk__in=Resource.objects.values("current"), table__isnull=True
    ).select_related("resource__dataset")
    loaded = 0
    for version in versions:
        if sources.is_tabular(version):
            services.load_version_file(actor=admin, version=version)
            loaded += 1
    return loaded
