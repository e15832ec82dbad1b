from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AskConfig(AppConfig):
    name = "machi.ask"
    verbose_name = _("Resident Q&A")
