"""What a web worker would otherwise do at its first requests, done once in gunicorn's
master before it forks the workers (deploy/gunicorn.conf.py, ``preload_app``): the URL
configuration imported (the API's schema library, allauth's second-factor views: half a
second) and its reverse maps built in each language, the templates the pages use compiled,
the translation catalogues loaded. A worker replaced after ``max_requests`` then spends
0.18 s more processor time on its first requests than on its later ones instead of 0.63 s
(its first login page 0.07 s instead of 0.45 s). Nothing here opens a database, cache or
broker connection: no connection is shared across the fork."""

import gc
from pathlib import Path

from django.conf import settings
from django.template import TemplateSyntaxError, engines
from django.template.loader import get_template
from django.urls import get_resolver
from django.utils import translation

# Template folders the pages render from: the project's own, and allauth's that its
# account and second-factor pages use (not its social or session pages, not the admin's).
_ALLAUTH_FOLDERS = ("account", "allauth", "mfa")


def warm() -> int:
    """Load and build what the module's text says; the number of templates compiled.
    Then freeze what exists now out of the cycle collector's reach, so that the workers'
    collections do not write to (and so copy) the pages they share with the master."""
    resolver = get_resolver()
    for code, _name in settings.LANGUAGES:
        with translation.override(code):
            resolver.reverse_dict  # noqa: B018  (built per language on first use)
    compiled = 0
    for name in _template_names():
        try:
            get_template(name)
        except TemplateSyntaxError:  # a library's template for an app the portal does not install
            continue
        compiled += 1
    gc.freeze()
    return compiled


def _template_names() -> list[str]:
    names = set()
    for folder in engines["django"].template_dirs:
        folder = Path(folder)
        if folder == Path(settings.BASE_DIR) / "templates":
            # The project's own, but not its pages of the Django admin (templates/admin/: the
            # superusers' few pages, compiled at their first use like the admin's own).
            tops = [path for path in folder.iterdir() if path.name != "admin"]
        elif folder.parent.name == "allauth":
            tops = [folder / top for top in _ALLAUTH_FOLDERS]
        else:
            continue
        for top in tops:
            paths = [top] if top.is_file() else top.rglob("*")
            names.update(str(path.relative_to(folder)) for path in paths
                         if path.suffix in (".html", ".txt") and path.is_file())
    return sorted(names)
