from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from machi.catalog.harvest import new_job, next_mode, run_job
from machi.catalog.models import HarvestJob, HarvestRecord, HarvestSource
from machi.catalog.tasks import queue_harvest


class Command(BaseCommand):
    help = (
        "Harvest other catalogs now: `machi harvest SOURCE` (the source's ID in the back "
        "office), or --all. Prints the job log's counts."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("sources", nargs="*", metavar="SOURCE", help="harvest source IDs")
        parser.add_argument("--all", action="store_true", help="every enabled source")
        mode = parser.add_mutually_exclusive_group()
        mode.add_argument("--full", action="store_true", help="read the whole source")
        mode.add_argument(
            "--changes", action="store_true", help="only records changed since the last run"
        )
        parser.add_argument(
            "--queue", action="store_true", help="queue the runs for `machi worker` and return"
        )
        parser.add_argument("--list", action="store_true", help="list the sources and stop")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["list"]:
            for source in HarvestSource.objects.all():
                last = source.jobs.first()
                state = (
                    f"{last.get_status_display()} {last.queued_at:%Y-%m-%d %H:%M}" if last else "-"
                )
                self.stdout.write(f"{source.name}\t{source.kind}\t{source.url}\t{state}")
            return
        if options["all"]:
            sources = list(HarvestSource.objects.filter(enabled=True))
        else:
            if not options["sources"]:
                raise CommandError(_("Name a harvest source (machi harvest --list shows them)."))
            sources = []
            for name in options["sources"]:
                source = HarvestSource.objects.filter(name=name).first()
                if source is None:
                    raise CommandError(
                        _("No harvest source “%(name)s” (see machi harvest --list).")
                        % {"name": name}
                    )
                sources.append(source)
        failed = False
        for source in sources:
            if options["full"]:
                mode = HarvestJob.Mode.FULL
            elif options["changes"]:
                mode = HarvestJob.Mode.INCREMENTAL
            else:
                mode = next_mode(source)
            if options["queue"]:
                job = queue_harvest(source, mode=mode, trigger="command")
                self.stdout.write(
                    _("%(source)s: queued job %(job)s (%(mode)s)")
                    % {"source": source.name, "job": job.pk, "mode": mode}
                )
                continue
            job = run_job(new_job(source=source, mode=mode, trigger="command"))
            counts = _(
                "%(source)s (%(mode)s): %(status)s — created %(created)d, updated %(updated)d, "
                "unchanged %(unchanged)d, withdrawn %(withdrawn)d, errors %(errors)d"
            )
            self.stdout.write(
                counts
                % {
                    "source": source.name,
                    "mode": mode,
                    "status": job.get_status_display(),
                    "created": job.created,
                    "updated": job.updated,
                    "unchanged": job.unchanged,
                    "withdrawn": job.withdrawn,
                    "errors": job.errors,
                }
            )
            if job.message:
                self.stdout.write(f"  {job.message}")
            for record in job.records.filter(action=HarvestRecord.Action.ERROR)[:20]:
                self.stdout.write(
                    _("  error %(id)s: %(message)s")
                    % {"id": record.remote_id, "message": record.message}
                )
            failed = failed or job.status == HarvestJob.Status.FAILED
        if failed:
            raise CommandError(_("A harvest source failed; earlier harvested data is unchanged."))
