"""The ward's FAQ, the questions residents asked, and what they thought of the answers."""

import uuid

from django.db import models
from django.utils.translation import gettext_lazy as _


class FaqEntry(models.Model):
    """One question staff answer, with the ways residents phrase it."""

    public_id = models.CharField(
        _("id"),
        max_length=64,
        unique=True,
        help_text=_("Kept from the CSV file; used in links and the API."),
    )
    question = models.TextField(_("question"))
    answer = models.TextField(_("answer"))
    variants = models.TextField(
        _("other phrasings"), blank=True, help_text=_("One phrasing per line.")
    )
    category = models.CharField(_("category"), max_length=100, blank=True)
    department = models.CharField(_("department"), max_length=200, blank=True)
    contact = models.CharField(_("contact"), max_length=300, blank=True)
    url = models.URLField(_("source URL"), max_length=500, blank=True)
    question_en = models.TextField(_("question (English)"), blank=True)
    answer_en = models.TextField(_("answer (English)"), blank=True)
    last_reviewed = models.DateField(_("last reviewed"), null=True, blank=True)
    # Analyzed tokens by field and kind (machi.ask.ranker), kept in step by the services.
    tokens = models.JSONField(default=dict, editable=False)
    modified = models.DateTimeField(_("last updated"), auto_now=True)

    class Meta:
        ordering = ["category", "public_id"]
        verbose_name = _("FAQ entry")
        verbose_name_plural = _("FAQ entries")

    def __str__(self) -> str:
        return f"{self.public_id}: {self.question}"

    def variant_list(self) -> list[str]:
        return [line.strip() for line in self.variants.splitlines() if line.strip()]


class Channel(models.TextChoices):
    WEB = "web", _("web")
    API = "api", _("API")
    LINE = "line", "LINE"
    CLI = "cli", _("command line")


class QuestionLog(models.Model):
    """A question as asked, with personal data masked, and how it was answered."""

    uid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    created = models.DateTimeField(_("asked"), auto_now_add=True, db_index=True)
    question = models.TextField(_("question (personal data masked)"))
    lang = models.CharField(_("language"), max_length=8, default="ja")
    channel = models.CharField(_("channel"), max_length=8, choices=Channel.choices)
    entry = models.ForeignKey(
        FaqEntry,
        verbose_name=_("answer given"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="asked",
    )
    abstained = models.BooleanField(_("not answered"), default=False)
    confidence = models.FloatField(_("confidence"), default=0.0)
    places = models.PositiveIntegerField(_("places listed"), default=0)
    # Staff looked at it: added it as a phrasing of an entry, or set it aside.
    handled = models.BooleanField(_("handled"), default=False)

    class Meta:
        ordering = ["-created"]
        verbose_name = _("question asked")
        verbose_name_plural = _("questions asked")

    def __str__(self) -> str:
        return self.question[:80]


class Feedback(models.Model):
    """A resident's "was this helpful?" on one answer."""

    log = models.ForeignKey(QuestionLog, on_delete=models.CASCADE, related_name="feedback")
    helpful = models.BooleanField(_("helpful"))
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("feedback")
        verbose_name_plural = _("feedback")

    def __str__(self) -> str:
        return f"{self.log_id}: {'+' if self.helpful else '-'}"
