from django.conf import settings
from django.http import HttpRequest


def site(request: HttpRequest) -> dict[str, object]:
    return {"site_name": settings.MACHI_SITE_NAME, "site_url": settings.SITE_URL}
