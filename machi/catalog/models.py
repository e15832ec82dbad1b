import uuid

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from machi.accounts.models import Department, slug_validator
from machi.lib.i18n import Bilingual


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

    class Meta:
        ordering = ["-modified"]
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
