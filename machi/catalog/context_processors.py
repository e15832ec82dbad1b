from django.conf import settings
from django.http import HttpRequest

from machi.lib.i18n import english_requested


def site(request: HttpRequest) -> dict[str, object]:
    name = settings.MACHI_SITE_NAME_EN if english_requested() else settings.MACHI_SITE_NAME
    return {"site_name": name, "site_url": settings.SITE_URL}
