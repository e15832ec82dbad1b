from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CkanCompatConfig(AppConfig):
    name = "machi.ckan_compat"
    label = "ckan_compat"
    verbose_name = _("CKAN compatible API")
