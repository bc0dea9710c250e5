"""portal.preload: what gunicorn's master does once for every worker it forks (the URL
configuration and its reverse maps in each language, the templates, the translations),
without opening a connection; in a process of its own, as the master is."""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

PROBE = """
import gc, json, django
django.setup()
from django.core.cache import caches
from django.db import connections
from django.template import engines
from django.urls import get_resolver
from django.utils.translation import trans_real
from portal import preload
count = preload.warm()
loader = engines["django"].engine.template_loaders[0]
print(json.dumps({
    "count": count,
    "templates": sorted(name for name, template in loader.get_template_cache.items() if not isinstance(template, type)),
    "languages": sorted(get_resolver()._reverse_dict),
    "catalogues": sorted(trans_real._translations),
    "connections": [conn.alias for conn in connections.all() if conn.connection is not None],
    "caches": [alias for alias in caches if getattr(caches[alias], "_cache", None) is not None],
    "frozen": gc.get_freeze_count(),
}))
"""


def test_warm_loads_what_a_worker_needs_at_its_first_requests_and_opens_no_connection():
    result = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, capture_output=True, text=True, timeout=120,
                            env=os.environ | {"DJANGO_SETTINGS_MODULE": "portal.settings_test"}, check=False)
    assert result.returncode == 0, result.stderr[-3000:]
    found = json.loads(result.stdout.strip().splitlines()[-1])
    templates = set(found["templates"])
    # The project's own, and allauth's account and second-factor pages; not the social ones.
    assert {"base.html", "onboarding/my_applications.html", "account/login.html", "mfa/authenticate.html",
            "allauth/elements/field.html"} <= templates, sorted(templates)[:40]
    assert not [name for name in templates if name.startswith(("socialaccount/", "admin/"))]
    assert found["count"] == len(templates) > 100
    assert found["languages"] == ["en", "hi", "mr"]
    assert {"en", "hi", "mr"} <= set(found["catalogues"])
    assert found["connections"] == [] and found["caches"] == []
    assert found["frozen"] > 10_000  # the cycle collector leaves the shared objects alone
