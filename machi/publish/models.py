"""Runs of the publish pipeline, the data register and scheduled refreshes."""

import uuid
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from machi.accounts.models import Department
from machi.catalog.models import Dataset, Frequency, Resource, ResourceVersion


def _run_path(run: "Run", filename: str) -> str:
    return f"publish/{run.uid}/{filename}"


class RunStatus(models.TextChoices):
    QUEUED = "queued", _("waiting")
    RUNNING = "running", _("converting")
    REVIEW = "review", _("ready for review")
    FAILED = "failed", _("could not be read")
    PUBLISHING = "publishing", _("publishing")
    PUBLISHED = "published", pgettext_lazy("status", "published")


class Run(models.Model):
    """One staff file on its way to publication: a draft version until it is published.

    The original stays as uploaded; each (re)conversion writes the normalised CSV and
    the report; publishing loads that CSV as a new version of the resource.
    """

    uid = models.UUIDField(_("ID"), default=uuid.uuid4, unique=True, editable=False)
    dataset = models.ForeignKey(
        Dataset, on_delete=models.CASCADE, related_name="runs", verbose_name=_("dataset")
    )
    # The resource the rows replace; a new one (named `resource_name`) when empty.
    resource = models.ForeignKey(
        Resource,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="runs",
        verbose_name=_("resource"),
    )
    resource_name = models.CharField(_("resource name"), max_length=300, blank=True)
    original = models.FileField(_("uploaded file"), upload_to=_run_path, max_length=500)
    filename = models.CharField(_("file name"), max_length=300)
    # Staff choices: sheet, header rows, section rows, standard, column mapping and types,
    # columns removed, personal-data findings confirmed.
    options = models.JSONField(_("options"), default=dict, blank=True)
    status = models.CharField(
        _("status"), max_length=20, choices=RunStatus.choices, default=RunStatus.QUEUED
    )
    stage = models.CharField(_("stage"), max_length=100, blank=True)
    progress = models.FloatField(_("progress"), default=0.0)
    # Written every few seconds by the process converting or publishing the run: a run
    # whose worker was stopped goes quiet (services.recover_stopped_runs).
    heartbeat = models.DateTimeField(_("last sign of work"), null=True, blank=True)
    report = models.JSONField(_("report"), default=dict, blank=True)
    error_count = models.PositiveIntegerField(_("errors"), default=0)
    warning_count = models.PositiveIntegerField(_("warnings"), default=0)
    row_count = models.PositiveIntegerField(_("rows"), default=0)
    output = models.FileField(_("converted file"), upload_to=_run_path, blank=True, max_length=500)
    schema = models.JSONField(_("table schema"), null=True, blank=True)
    version = models.OneToOneField(
        ResourceVersion,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="run",
        verbose_name=_("published version"),
    )
    override_reason = models.TextField(_("reason for publishing with errors"), blank=True)
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("published by"),
    )
    created = models.DateTimeField(_("created"), auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("uploaded by"),
    )
    finished = models.DateTimeField(_("finished"), null=True, blank=True)

    class Meta:
        ordering = ["-created"]
        verbose_name = _("publish run")
        verbose_name_plural = _("publish runs")

    def __str__(self) -> str:
        return f"{self.dataset.name}: {self.filename}"

    @property
    def is_busy(self) -> bool:
        return self.status in {RunStatus.QUEUED, RunStatus.RUNNING, RunStatus.PUBLISHING}


class HoldingStatus(models.TextChoices):
    CANDIDATE = "candidate", _("candidate")
    CONVERTING = "converting", _("converting")
    PUBLISHED = "published", pgettext_lazy("status", "published")
    RETIRED = "retired", _("retired")


class Holding(models.Model):
    """A department's register entry for data it holds (保有データ台帳)."""

    department = models.ForeignKey(
        Department, on_delete=models.CASCADE, related_name="holdings", verbose_name=_("department")
    )
    title = models.CharField(_("title"), max_length=300)
    status = models.CharField(
        _("status"), max_length=20, choices=HoldingStatus.choices, default=HoldingStatus.CANDIDATE
    )
    standard = models.CharField(_("standard dataset"), max_length=100, blank=True)
    dataset = models.ForeignKey(
        Dataset,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="holdings",
        verbose_name=_("dataset"),
    )
    system = models.CharField(_("source system or file"), max_length=300, blank=True)
    update_frequency = models.CharField(
        _("update frequency"), max_length=10, choices=Frequency.choices, default=Frequency.IRREGULAR
    )
    notes = models.TextField(_("notes"), blank=True)
    modified = models.DateTimeField(_("last updated"), auto_now=True)

    class Meta:
        ordering = ["department", "title"]
        verbose_name = _("data holding")
        verbose_name_plural = _("data holdings")

    def __str__(self) -> str:
        return self.title

    def clean(self) -> None:
        """An entry agrees with the catalog it points at: the checklist and the staff
        dashboard count from both."""
        dataset = self.dataset
        if self.status == HoldingStatus.PUBLISHED and dataset is None:
            raise ValidationError({"dataset": _("A published entry names its dataset.")})
        if dataset is None:
            return
        if self.department_id and dataset.department_id != self.department_id:
            raise ValidationError(
                {"dataset": _("This dataset belongs to another department's register.")}
            )
        if self.status == HoldingStatus.PUBLISHED and not dataset.is_public:
            raise ValidationError(
                {
                    "status": _(
                        "The dataset is still private: publish it first, or keep the entry "
                        "as converting."
                    )
                }
            )
        if self.status == HoldingStatus.RETIRED and dataset.is_public:
            raise ValidationError(
                {
                    "status": _(
                        "The dataset is still public: make it private before retiring the "
                        "entry, or keep it published."
                    )
                }
            )


class Refresh(models.Model):
    """A resource that pulls its file from a URL or a drop folder and republishes on change."""

    resource = models.OneToOneField(
        Resource, on_delete=models.CASCADE, related_name="refresh", verbose_name=_("resource")
    )
    url = models.URLField(_("source URL"), blank=True, max_length=1000)
    folder = models.CharField(
        _("drop folder"),
        max_length=500,
        blank=True,
        help_text=_(
            "A folder under the server's drop folder (MACHI_DROP_ROOT), such as bousai/aed; "
            "the newest file in it is published."
        ),
    )
    every_hours = models.PositiveIntegerField(
        _("check every (hours)"), default=24, validators=[MinValueValidator(1)]
    )
    enabled = models.BooleanField(_("enabled"), default=True)
    # The run whose choices (sheet, header, mapping) later pulls repeat.
    template = models.ForeignKey(
        Run,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("settings from run"),
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("publishes as"),
    )
    last_checked = models.DateTimeField(_("last checked"), null=True, blank=True)
    last_sha256 = models.CharField(_("SHA-256 of the last file"), max_length=64, blank=True)
    last_result = models.CharField(_("last result"), max_length=500, blank=True)
    # The run of the last new file: its report says why it was not published, and while
    # that file stays in place, later checks keep saying so.
    last_run = models.ForeignKey(
        Run,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("last new file's run"),
    )

    class Meta:
        verbose_name = _("scheduled refresh")
        verbose_name_plural = _("scheduled refreshes")

    def __str__(self) -> str:
        return str(self.resource)

    def clean(self) -> None:
        if bool(self.url) == bool(self.folder):
            raise ValidationError(_("Give either a source URL or a drop folder."))
        if self.folder and drop_folder(self.folder) is None:
            raise ValidationError(
                {
                    "folder": _("The drop folder must be inside %(root)s.")
                    % {"root": settings.PUBLISH_DROP_ROOT}
                }
            )
        if (
            self.template_id
            and self.resource_id
            and (self.template.dataset_id != self.resource.dataset_id)
        ):
            # Another dataset's choices (its mapping, its removed columns) do not fit.
            raise ValidationError(
                {"template": _("Choose a run that published this resource's dataset.")}
            )


def drop_folder(folder: str) -> Path | None:
    """The folder a refresh reads, under PUBLISH_DROP_ROOT (a relative name is taken from
    there); None when it would lead outside, by `..` or a link."""
    root = settings.PUBLISH_DROP_ROOT
    path = (root / folder).resolve()
    return path if path.is_relative_to(root) else None
