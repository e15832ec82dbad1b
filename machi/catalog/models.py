import re
import uuid

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from machi.accounts.models import Department, slug_validator
from machi.lib.i18n import Bilingual, english_requested


class Category(Bilingual, models.Model):
    """One of a fixed, editable list of themes (くらし, 子育て・教育, 防災 ...)."""

    slug = models.CharField(_("ID"), max_length=100, unique=True, validators=[slug_validator])
    name = models.CharField(_("name"), max_length=100)
    name_en = models.CharField(_("name (English)"), max_length=100, blank=True)
    description = models.TextField(_("description"), blank=True)
    position = models.PositiveIntegerField(_("order"), default=0)

    class Meta:
        ordering = ["position", "slug"]
        verbose_name = _("category")
        verbose_name_plural = _("categories")

    def __str__(self) -> str:
        return self.name

    @property
    def display_name(self) -> str:
        return self.localized("name")


class License(Bilingual, models.Model):
    slug = models.CharField(_("ID"), max_length=100, unique=True)
    title = models.CharField(_("title"), max_length=200)
    title_en = models.CharField(_("title (English)"), max_length=200, blank=True)
    url = models.URLField(_("URL"), blank=True)
    is_open = models.BooleanField(_("open license"), default=True)
    position = models.PositiveIntegerField(_("order"), default=0)

    class Meta:
        ordering = ["position", "slug"]
        verbose_name = _("license")
        verbose_name_plural = _("licenses")

    def __str__(self) -> str:
        return self.title

    @property
    def display_title(self) -> str:
        return self.localized("title")

    @property
    def display_url(self) -> str:
        """The licence's page in the reader's language: Creative Commons deeds come in
        both (…/deed.ja, …/deed.en)."""
        if english_requested():
            return _DEED.sub(r"\1deed.en", self.url)
        return self.url


_DEED = re.compile(r"(creativecommons\.org/.+/)deed\.[\w-]+$")


class Tag(models.Model):
    """Free Japanese text: 子育て・教育, 人口（町丁別）, 防災/避難所 are all fine."""

    name = models.CharField(_("name"), max_length=100, unique=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("tag")
        verbose_name_plural = _("tags")

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("catalog:tag", args=[self.name])


class Frequency(models.TextChoices):
    # Codes follow the EU frequency vocabulary that DCAT-AP uses.
    CONTINUOUS = "CONT", _("continuously")
    DAILY = "DAILY", _("daily")
    WEEKLY = "WEEKLY", _("weekly")
    MONTHLY = "MONTHLY", _("monthly")
    QUARTERLY = "QUARTERLY", _("quarterly")
    ANNUAL_2 = "ANNUAL_2", _("twice a year")
    ANNUAL = "ANNUAL", _("yearly")
    IRREGULAR = "IRREG", _("irregularly")
    NEVER = "NEVER", _("not updated")


class Dataset(Bilingual, models.Model):
    name = models.CharField(
        _("URL name"),
        max_length=100,
        unique=True,
        validators=[slug_validator],
        help_text=_(
            "Used in the address: /dataset/(this name)/. Lower-case letters, digits, - and _."
        ),
    )
    title = models.CharField(_("title"), max_length=300)
    title_en = models.CharField(_("title (English)"), max_length=300, blank=True)
    description = models.TextField(_("description"), blank=True)
    description_en = models.TextField(_("description (English)"), blank=True)
    department = models.ForeignKey(
        Department,
        on_delete=models.PROTECT,
        related_name="datasets",
        verbose_name=_("department"),
    )
    tags = models.ManyToManyField(Tag, blank=True, related_name="datasets", verbose_name=_("tags"))
    categories = models.ManyToManyField(
        Category, blank=True, related_name="datasets", verbose_name=_("categories")
    )
    license = models.ForeignKey(
        License, on_delete=models.PROTECT, related_name="datasets", verbose_name=_("license")
    )
    update_frequency = models.CharField(
        _("update frequency"), max_length=10, choices=Frequency.choices, default=Frequency.IRREGULAR
    )
    temporal_start = models.DateField(_("period from"), null=True, blank=True)
    temporal_end = models.DateField(_("period to"), null=True, blank=True)
    spatial = models.CharField(_("area covered"), max_length=200, blank=True, default="文京区")
    contact_name = models.CharField(_("contact"), max_length=200, blank=True)
    contact_email = models.EmailField(_("contact e-mail"), blank=True)
    contact_phone = models.CharField(_("contact phone"), max_length=40, blank=True)
    standard = models.CharField(
        _("standard dataset"),
        max_length=100,
        blank=True,
        help_text=_("The national standard dataset this follows, if any (for example: aed)."),
    )
    is_public = models.BooleanField(_("public"), default=True)
    created = models.DateTimeField(_("created"), auto_now_add=True)
    modified = models.DateTimeField(_("last updated"), db_index=True)
    # Origin of a harvested dataset (machi.catalog.harvest); empty for the ward's own data.
    # A harvested dataset is read-only here: the services refuse local edits.
    harvest_source = models.ForeignKey(
        "HarvestSource",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="datasets",
        verbose_name=_("harvested from"),
    )
    remote_id = models.CharField(_("ID at the source"), max_length=300, blank=True)
    remote_url = models.URLField(_("original page"), max_length=1000, blank=True)
    original_publisher = models.CharField(_("original publisher"), max_length=300, blank=True)
    # What the last harvest stored, to tell an unchanged record from a changed one.
    harvest_hash = models.CharField(max_length=64, blank=True, editable=False)
    # Since when the source no longer lists it; withdrawn (made private) after the grace period.
    harvest_missing_since = models.DateTimeField(
        _("missing at the source since"), null=True, blank=True, editable=False
    )
    harvest_withdrawn_at = models.DateTimeField(
        _("withdrawn"), null=True, blank=True, editable=False
    )

    class Meta:
        ordering = ["-modified"]
        constraints = [
            models.UniqueConstraint(
                fields=["harvest_source", "remote_id"],
                condition=models.Q(harvest_source__isnull=False),
                name="one_dataset_per_remote_record",
            )
        ]
        verbose_name = _("dataset")
        verbose_name_plural = _("datasets")

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("catalog:dataset", args=[self.name])

    @property
    def display_title(self) -> str:
        return self.localized("title")

    @property
    def display_description(self) -> str:
        return self.localized("description")

    @property
    def is_harvested(self) -> bool:
        return self.harvest_source_id is not None


def _resource_path(instance: "ResourceVersion", filename: str) -> str:
    return f"resources/{instance.resource.uid}/{instance.number}/{filename}"


class Resource(Bilingual, models.Model):
    """A file or link in a dataset. Its content lives in versions."""

    uid = models.UUIDField(_("ID"), default=uuid.uuid4, unique=True, editable=False)
    dataset = models.ForeignKey(
        Dataset, on_delete=models.CASCADE, related_name="resources", verbose_name=_("dataset")
    )
    name = models.CharField(_("name"), max_length=300)
    name_en = models.CharField(_("name (English)"), max_length=300, blank=True)
    description = models.TextField(_("description"), blank=True)
    position = models.PositiveIntegerField(_("order"), default=0)
    # The resource's ID at a harvest source (empty for the ward's own resources).
    remote_id = models.CharField(_("ID at the source"), max_length=300, blank=True)
    current = models.ForeignKey(
        "ResourceVersion",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("current version"),
    )
    created = models.DateTimeField(_("created"), auto_now_add=True)
    modified = models.DateTimeField(_("last updated"), auto_now=True)

    class Meta:
        ordering = ["position", "id"]
        verbose_name = _("resource")
        verbose_name_plural = _("resources")

    def __str__(self) -> str:
        return self.name

    @property
    def display_name(self) -> str:
        return self.localized("name")

    def get_absolute_url(self) -> str:
        return reverse("catalog:resource", args=[self.dataset.name, self.uid])

    def download_url(self) -> str:
        return reverse("catalog:download", args=[self.dataset.name, self.uid])


class ResourceVersion(models.Model):
    """One upload (or link) of a resource; replacements add versions, none is lost."""

    resource = models.ForeignKey(
        Resource, on_delete=models.CASCADE, related_name="versions", verbose_name=_("resource")
    )
    number = models.PositiveIntegerField(_("version"))
    file = models.FileField(_("file"), upload_to=_resource_path, blank=True, max_length=500)
    url = models.URLField(_("external URL"), blank=True, max_length=1000)
    filename = models.CharField(_("file name"), max_length=300, blank=True)
    format = models.CharField(_("format"), max_length=40, blank=True, db_index=True)
    media_type = models.CharField(_("media type"), max_length=100, blank=True)
    size = models.BigIntegerField(_("size (bytes)"), null=True, blank=True)
    sha256 = models.CharField(_("SHA-256"), max_length=64, blank=True)
    encoding = models.CharField(_("character encoding"), max_length=40, blank=True)
    created = models.DateTimeField(_("created"), auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("uploaded by"),
    )

    class Meta:
        ordering = ["resource", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["resource", "number"], name="one_number_per_version")
        ]
        verbose_name = _("resource version")
        verbose_name_plural = _("resource versions")

    def __str__(self) -> str:
        return f"{self.resource} v{self.number}"

    @property
    def is_upload(self) -> bool:
        return bool(self.file)

    def download_url(self) -> str:
        return reverse(
            "catalog:download_version",
            args=[self.resource.dataset.name, self.resource.uid, self.number],
        )


class News(Bilingual, models.Model):
    """お知らせ: written by staff, or added automatically when data changes."""

    class Kind(models.TextChoices):
        NOTICE = "notice", _("notice")
        UPDATE = "update", _("data update")

    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices, default=Kind.NOTICE)
    title = models.CharField(_("title"), max_length=300)
    title_en = models.CharField(_("title (English)"), max_length=300, blank=True)
    body = models.TextField(_("text"), blank=True)
    body_en = models.TextField(_("text (English)"), blank=True)
    dataset = models.ForeignKey(
        Dataset,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="news",
        verbose_name=_("dataset"),
    )
    department = models.ForeignKey(
        Department,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="news",
        verbose_name=_("department"),
    )
    published_at = models.DateTimeField(_("published"), db_index=True)
    is_public = models.BooleanField(_("public"), default=True)

    class Meta:
        ordering = ["-published_at", "-id"]
        verbose_name = _("news item")
        verbose_name_plural = _("news")

    def __str__(self) -> str:
        return self.title

    @property
    def display_title(self) -> str:
        return self.localized("title")

    @property
    def display_body(self) -> str:
        return self.localized("body")

    def get_absolute_url(self) -> str:
        return reverse("catalog:news_item", args=[self.pk])


class Showcase(Bilingual, models.Model):
    """活用事例: an app or analysis built on the ward's data."""

    name = models.CharField(_("URL name"), max_length=100, unique=True, validators=[slug_validator])
    title = models.CharField(_("title"), max_length=300)
    title_en = models.CharField(_("title (English)"), max_length=300, blank=True)
    description = models.TextField(_("description"), blank=True)
    description_en = models.TextField(_("description (English)"), blank=True)
    url = models.URLField(_("URL"), blank=True)
    author = models.CharField(_("made by"), max_length=200, blank=True)
    event = models.CharField(
        _("event"), max_length=200, blank=True, help_text=_("Ideathon or hackathon, if any.")
    )
    datasets = models.ManyToManyField(
        Dataset, blank=True, related_name="showcases", verbose_name=_("datasets used")
    )
    department = models.ForeignKey(
        Department,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="showcases",
        verbose_name=_("department"),
    )
    is_public = models.BooleanField(_("public"), default=True)
    created = models.DateTimeField(_("created"), auto_now_add=True)
    modified = models.DateTimeField(_("last updated"), auto_now=True)

    class Meta:
        ordering = ["-created"]
        verbose_name = _("showcase")
        verbose_name_plural = _("showcases")

    def __str__(self) -> str:
        return self.title

    @property
    def display_title(self) -> str:
        return self.localized("title")

    @property
    def display_description(self) -> str:
        return self.localized("description")

    def get_absolute_url(self) -> str:
        return reverse("catalog:showcase", args=[self.name])


class SynonymSet(models.Model):
    """Words that mean the same in a search: 駐輪場, 自転車駐車場."""

    terms = models.TextField(_("terms"), help_text=_("One term per line, or separated by commas."))
    modified = models.DateTimeField(_("last updated"), auto_now=True)

    class Meta:
        verbose_name = _("synonym set")
        verbose_name_plural = _("synonyms")

    def __str__(self) -> str:
        return " = ".join(self.term_list())

    def term_list(self) -> list[str]:
        raw = self.terms.replace("\n", ",").replace("、", ",")
        return [term.strip() for term in raw.split(",") if term.strip()]


class GlossaryEntry(models.Model):
    """An English municipal term and its Japanese equivalent, for English queries."""

    english = models.CharField(_("English"), max_length=200, unique=True)
    japanese = models.CharField(_("Japanese"), max_length=200)
    modified = models.DateTimeField(_("last updated"), auto_now=True)

    class Meta:
        ordering = ["english"]
        verbose_name = _("glossary entry")
        verbose_name_plural = _("glossary")

    def __str__(self) -> str:
        return f"{self.english} = {self.japanese}"


class DatasetSearch(models.Model):
    """Analyzed tokens of a dataset, per field, kept in step with it.

    The engine's full-text index (SQLite FTS5 table or PostgreSQL tsvector)
    is built from these rows by machi.lib.search.
    """

    dataset = models.OneToOneField(
        Dataset, on_delete=models.CASCADE, primary_key=True, related_name="search"
    )
    title = models.TextField(blank=True)
    tags = models.TextField(blank=True)
    description = models.TextField(blank=True)
    resources = models.TextField(blank=True)

    def __str__(self) -> str:
        return f"search tokens of dataset {self.dataset_id}"


class RowidOneToOneField(models.OneToOneField):
    """A one-to-one primary key that SQLite stores as the table's rowid.

    Django declares it `bigint`, which SQLite keeps in a separate index, so
    every join pays two lookups; declared `integer` it is the rowid itself.
    """

    def db_type(self, connection):  # type: ignore[no-untyped-def]
        if connection.vendor == "sqlite":
            return "integer"
        return super().db_type(connection)


class DatasetFacets(models.Model):
    """What a search needs of each hit besides its rank, in one narrow row.

    Kept beside DatasetSearch by catalog.search.index_dataset. Each process
    reads them once per SearchVersion into catalog.search.FacetIndex, whose
    bitmaps filter and count every search.
    """

    dataset = RowidOneToOneField(
        Dataset, on_delete=models.CASCADE, primary_key=True, related_name="facets"
    )
    is_public = models.BooleanField()
    department_id = models.BigIntegerField()
    modified = models.DateTimeField()
    title = models.CharField(max_length=300)
    # One "field<TAB>value" per line: category, tag, department, format, license.
    keys = models.TextField(blank=True)

    def __str__(self) -> str:
        return f"facets of dataset {self.dataset_id}"


class SearchVersion(models.Model):
    """One row counting changes to the search rows, bumped in the writing transaction.

    Caches of whole-catalog facet counts key on it (catalog.queries): reading
    one row is far cheaper than counting a large catalog to notice a change.
    """

    number = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return f"search version {self.number}"


class HarvestSource(models.Model):
    """Another catalog whose datasets are mirrored here, read-only (machi.catalog.harvest)."""

    class Kind(models.TextChoices):
        CKAN = "ckan", _("CKAN (Action API)")
        MACHI = "machi", _("machi")
        DCAT = "dcat", _("DCAT (RDF catalog)")

    name = models.CharField(_("ID"), max_length=100, unique=True, validators=[slug_validator])
    title = models.CharField(_("title"), max_length=200)
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices, default=Kind.CKAN)
    url = models.URLField(
        _("URL"),
        max_length=1000,
        help_text=_(
            "CKAN and machi: the site's address (https://catalog.example.jp/). "
            "DCAT: the address of the catalog file (Turtle, RDF/XML or JSON-LD)."
        ),
    )
    department = models.ForeignKey(
        Department,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="harvest_sources",
        verbose_name=_("department"),
        help_text=_(
            "Harvested datasets are listed under this department. "
            "Leave empty to create one named after the source."
        ),
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("harvests as"),
        help_text=_("A site administrator; the audit log records harvested changes as theirs."),
    )
    enabled = models.BooleanField(_("harvest on schedule"), default=True)
    every_hours = models.PositiveIntegerField(
        _("fetch changes every (hours)"), default=6, validators=[MinValueValidator(1)]
    )
    full_every_hours = models.PositiveIntegerField(
        _("full run every (hours)"),
        default=24,
        validators=[MinValueValidator(1)],
        help_text=_("Only a full run notices datasets deleted or made private at the source."),
    )
    grace_days = models.PositiveIntegerField(
        _("withdraw after (days)"),
        default=3,
        help_text=_(
            "A dataset missing at the source is withdrawn (made private) here once it has "
            "been missing this long; 0 withdraws it at the first full run that misses it."
        ),
    )
    # The newest modification time the source reported in a completed run: incremental
    # runs ask for records modified since then (in the source's own clock).
    harvested_until = models.DateTimeField(_("harvested up to"), null=True, blank=True)
    last_full_run = models.DateTimeField(_("last complete full run"), null=True, blank=True)
    created = models.DateTimeField(_("created"), auto_now_add=True)
    modified = models.DateTimeField(_("last updated"), auto_now=True)

    class Meta:
        ordering = ["title"]
        verbose_name = _("harvest source")
        verbose_name_plural = _("harvest sources")

    def __str__(self) -> str:
        return self.title


class HarvestJob(models.Model):
    """One run over a harvest source, with its counts; its records are the job log."""

    class Mode(models.TextChoices):
        FULL = "full", _("full")
        INCREMENTAL = "incremental", _("changes only")

    class Status(models.TextChoices):
        QUEUED = "queued", _("queued")
        RUNNING = "running", _("running")
        DONE = "done", _("done")
        FAILED = "failed", _("failed")

    source = models.ForeignKey(
        HarvestSource, on_delete=models.CASCADE, related_name="jobs", verbose_name=_("source")
    )
    mode = models.CharField(_("mode"), max_length=12, choices=Mode.choices)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.QUEUED
    )
    trigger = models.CharField(_("started by"), max_length=100, blank=True)
    queued_at = models.DateTimeField(_("queued"), auto_now_add=True)
    started_at = models.DateTimeField(_("started"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    created = models.PositiveIntegerField(_("created"), default=0)
    updated = models.PositiveIntegerField(_("updated"), default=0)
    unchanged = models.PositiveIntegerField(_("unchanged"), default=0)
    withdrawn = models.PositiveIntegerField(_("withdrawn (deleted at the source)"), default=0)
    errors = models.PositiveIntegerField(_("errors"), default=0)
    message = models.TextField(_("message"), blank=True)

    class Meta:
        ordering = ["-queued_at", "-id"]
        verbose_name = _("harvest job")
        verbose_name_plural = _("harvest jobs")

    def __str__(self) -> str:
        return f"{self.source} {self.queued_at:%Y-%m-%d %H:%M} ({self.get_status_display()})"


class HarvestRecord(models.Model):
    """A line of a job log: what happened to one remote record."""

    class Action(models.TextChoices):
        CREATED = "created", _("created")
        UPDATED = "updated", _("updated")
        UNCHANGED = "unchanged", _("unchanged")
        MISSING = "missing", _("missing at the source")
        WITHDRAWN = "withdrawn", _("withdrawn")
        RESTORED = "restored", _("restored")
        ERROR = "error", _("error")

    job = models.ForeignKey(
        HarvestJob, on_delete=models.CASCADE, related_name="records", verbose_name=_("job")
    )
    action = models.CharField(_("result"), max_length=10, choices=Action.choices)
    remote_id = models.CharField(_("ID at the source"), max_length=300, blank=True)
    title = models.CharField(_("title"), max_length=300, blank=True)
    dataset = models.ForeignKey(
        Dataset,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("dataset"),
    )
    message = models.TextField(_("message"), blank=True)
    # The record as the source sent it, kept for errors so staff can see what was refused.
    remote_record = models.JSONField(_("remote record"), null=True, blank=True)

    class Meta:
        ordering = ["id"]
        verbose_name = _("harvest log entry")
        verbose_name_plural = _("harvest log")

    def __str__(self) -> str:
        return f"{self.get_action_display()}: {self.title or self.remote_id}"
