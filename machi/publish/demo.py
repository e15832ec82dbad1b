"""The demo's standard datasets, published through the pipeline as staff would.

Each file is converted, checked against its national standard and loaded, so the run's
report, the quality score's fifth star and the checklist rest on a real check, as they
do for the ward's own uploads.
"""

from django.contrib.auth.models import User
from django.core.files.uploadedfile import SimpleUploadedFile

from machi.catalog.models import Dataset, Resource
from machi.publish import services


def publish_checked(
    *, actor: User, dataset: Dataset, name: str, upload: SimpleUploadedFile
) -> Resource:
    """Publish `upload` as a new resource of `dataset`, following the dataset's standard."""
    run = services.start_run(
        actor=actor,
        dataset=dataset,
        upload=upload,
        resource_name=name,
        options={"standard": dataset.standard},
    )
    run = services.convert_run(run)
    return services.publish_run(actor=actor, run=run).resource
