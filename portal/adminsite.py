"""The Django admin's site: Django's, but a request whose query string holds a NUL
character is refused (400) before any admin page reads it.

PostgreSQL text cannot hold NUL: a list filter (``?status__exact=%00``), a search or an
autocomplete term holding one reached the database and failed there (a 500). Every admin
page (each model's lists and forms, the autocomplete, the site's own pages) is wrapped
by ``admin_view``, so this one place covers them all; the admin's forms refuse NUL in
what is posted themselves (Django's ``CharField``)."""

from functools import update_wrapper

from django.contrib.admin import AdminSite
from django.contrib.admin.apps import AdminConfig
from django.core.exceptions import BadRequest


def _holds_nul(querydict) -> bool:
    return any("\x00" in key or any("\x00" in value for value in values) for key, values in querydict.lists())


class PortalAdminSite(AdminSite):
    def admin_view(self, view, cacheable=False):
        wrapped = super().admin_view(view, cacheable)

        def refusing_nul(request, *args, **kwargs):
            if _holds_nul(request.GET):
                raise BadRequest("NUL character in the query string")
            return wrapped(request, *args, **kwargs)

        return update_wrapper(refusing_nul, wrapped)


class PortalAdminConfig(AdminConfig):
    default_site = "portal.adminsite.PortalAdminSite"
