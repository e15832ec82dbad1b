import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "machi.settings")
application = get_wsgi_application()

# Import the URLconf, and with it every view and API schema, while the worker boots:
# otherwise a new worker's first request waits for it (about 0.6 s).
from django.urls import get_resolver  # noqa: E402

get_resolver().url_patterns  # noqa: B018
