"""The portal's WSGI application with bench/api_throughput_urls.py as its URLs
(gunicorn --pythonpath bench api_throughput_wsgi): the API and the bare view in the
same processes."""

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")

from django.conf import settings  # noqa: E402

settings.ROOT_URLCONF = "api_throughput_urls"

from django.core.wsgi import get_wsgi_application  # noqa: E402

application = get_wsgi_application()
