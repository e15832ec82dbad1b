"""Staff API tokens for the CKAN API, and the CKAN ids of datasets."""

import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from machi.catalog.models import Dataset


class ApiToken(models.Model):
    """A staff account's token for CKAN API writes; only its SHA-256 is kept.

    A token acts as its owner: the same department roles decide what it may change.
    """

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="ckan_tokens",
        verbose_name=_("staff member"),
    )
    name = models.CharField(_("name"), max_length=100)
    # Shown so staff can tell their tokens apart; not secret.
    prefix = models.CharField(_("prefix"), max_length=8, db_index=True)
    # A plain SHA-256 (not a password hash): tokens are 32 random bytes, so a slow
    # hash would add nothing but cost on every request.
    hashed = models.CharField(_("SHA-256 of the token"), max_length=64, unique=True)
    created = models.DateTimeField(_("created"), auto_now_add=True)
    last_used = models.DateTimeField(_("last used"), null=True, blank=True)
    revoked = models.DateTimeField(_("revoked"), null=True, blank=True)

    class Meta:
        ordering = ["-created", "-id"]
        verbose_name = _("CKAN API token")
        verbose_name_plural = _("CKAN API tokens")

    def __str__(self) -> str:
        return f"{self.prefix}… {self.name}"

    @property
    def is_active(self) -> bool:
        return self.revoked is None


class DatasetIdentity(models.Model):
    """The UUID a dataset has as its CKAN `id`.

    CKAN clients address datasets by UUID and keep it across copies
    (`ckanapi load` creates a dataset with the id it had on the source).
    """

    dataset = models.OneToOneField(
        Dataset, on_delete=models.CASCADE, primary_key=True, related_name="ckan_identity"
    )
    uid = models.UUIDField(_("CKAN id"), default=uuid.uuid4, unique=True)

    class Meta:
        verbose_name = _("CKAN dataset id")
        verbose_name_plural = _("CKAN dataset ids")

    def __str__(self) -> str:
        return str(self.uid)
