"""The portal's WSGI application with bench/pages_urls.py as its URLs (gunicorn
--pythonpath bench pages_wsgi): the pages and the bare view in the same processes."""

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")

from django.conf import settings  # noqa: E402

settings.ROOT_URLCONF = "pages_urls"

from django.core.wsgi import get_wsgi_application  # noqa: E402

application = get_wsgi_application()
