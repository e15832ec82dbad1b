"""API keys of registered developers, their daily use, and the rate limiter's counters."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class ApiKey(models.Model):
    """A key a developer sends as `X-API-Key`; only its SHA-256 is kept."""

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="api_keys",
        verbose_name=_("owner"),
    )
    name = models.CharField(_("name"), max_length=100)
    # Shown to the owner so they can tell their keys apart; not secret.
    prefix = models.CharField(_("prefix"), max_length=8, db_index=True)
    # A plain SHA-256, not a password hash: keys are 32 random bytes from
    # secrets.token_urlsafe, so no amount of hashing speed makes guessing one
    # feasible, while a slow hash (PBKDF2) would cost every API request ~100 ms.
    hashed = models.CharField(_("SHA-256 of the key"), max_length=64, unique=True)
    created = models.DateTimeField(_("created"), auto_now_add=True)
    last_used = models.DateTimeField(_("last used"), null=True, blank=True)
    revoked = models.DateTimeField(_("revoked"), null=True, blank=True)

    class Meta:
        ordering = ["-created", "-id"]
        verbose_name = _("API key")
        verbose_name_plural = _("API keys")

    def __str__(self) -> str:
        return f"{self.prefix}… {self.name}"

    @property
    def is_active(self) -> bool:
        return self.revoked is None


class ApiKeyUsage(models.Model):
    """Requests served with one key on one day (Japan time)."""

    key = models.ForeignKey(
        ApiKey, on_delete=models.CASCADE, related_name="usage", verbose_name=_("API key")
    )
    day = models.DateField(_("day"))
    count = models.PositiveIntegerField(_("requests"), default=0)

    class Meta:
        ordering = ["-day"]
        verbose_name = _("API key usage")
        verbose_name_plural = _("API key usage")
        constraints = [
            models.UniqueConstraint(fields=["key", "day"], name="developers_usage_key_day")
        ]

    def __str__(self) -> str:
        return f"{self.key} {self.day}: {self.count}"


class RateCounter(models.Model):
    """Requests of one client in its current fixed window (machi/developers/limits.py).

    Used when the cache backend has no atomic increment (the database cache:
    Django's DatabaseCache.incr is a get and a set, which loses counts between
    processes); one upsert per request counts exactly on SQLite and PostgreSQL.
    """

    client = models.CharField(max_length=100, primary_key=True)
    window_start = models.BigIntegerField(db_index=True)  # Unix seconds
    hits = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.client} @{self.window_start}: {self.hits}"


class CacheEntry(models.Model):
    """The table of Django's DatabaseCache (settings.CACHES), as `createcachetable` makes it.

    A model so that `migrate` creates it on every engine and database, tests
    included, and test flushes empty it. Only the cache backend reads and writes it.
    """

    cache_key = models.CharField(max_length=255, primary_key=True)
    value = models.TextField()
    expires = models.DateTimeField(db_index=True)

    class Meta:
        db_table = "machi_cache"

    def __str__(self) -> str:
        return self.cache_key
