"""Third-party apps under the names staff read in the admin (their own are English only)."""

from django.utils.translation import gettext_lazy as _
from django.utils.translation import gettext_noop
from django_otp.plugins.otp_totp.apps import DefaultConfig
from django_tasks_db.apps import TasksAppConfig


class AuthenticatorAppsConfig(DefaultConfig):
    verbose_name = _("Two-step sign-in (authenticator apps)")

    def ready(self) -> None:
        super().ready()
        from django_otp.plugins.otp_totp.models import TOTPDevice

        # django_otp names its model in plain English that no catalog translates.
        TOTPDevice._meta.verbose_name = _("authenticator app")
        TOTPDevice._meta.verbose_name_plural = _("authenticator apps")


class BackgroundTasksConfig(TasksAppConfig):
    verbose_name = _("Background tasks")


# The model names django_tasks_db gives its admin, for makemessages to keep them in our
# catalog (the package ships no Japanese).
_TASK_MODEL_NAMES = (gettext_noop("Task Result"), gettext_noop("Task Results"))
