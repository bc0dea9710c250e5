"""The Django admin's site: Django's, but a request whose query string holds a NUL
character is refused (400) before any admin page reads it, and a list whose lookups the
database cannot answer gets the admin's own answer to a lookup it cannot use.

PostgreSQL text cannot hold NUL: a list filter (``?status__exact=%00``), a search or an
autocomplete term holding one reached the database and failed there (a 500). Every admin
page (each model's lists and forms, the autocomplete, the site's own pages) is wrapped
by ``admin_view``, so this one place covers them all; the admin's forms refuse NUL in
what is posted themselves (Django's ``CharField``).

A list's query string may name any lookup of the model's own fields, and some are only
found wrong once the query runs: a year no date can hold (``?date_joined__year=99999``:
the year lookups compare with the dates that bound it, a ValueError), a pattern the
database cannot compile (``?email__regex=(``, a DataError). The admin already answers a
lookup it cannot use by sending back to the list flagged (``?e=1``); every model admin
registered here (ours, and those of allauth and Django's own apps) counts its list under
a savepoint and answers those the same way; so does one whose bounds no date holds
(``?requested_at__year=9999``: the date hierarchy works out the end of the year when the
list is built), or a range given one value (``?id__range=1``).

An action posted for rows whose ids are not ids (``_selected_action=abc``) is refused
(400), as the admin's own pages refuse a malformed id in their address. Every list's
search takes the words typed as every search of the portal does (``as_searched``):
composed, without the invisible characters pasted with an address or a code."""

from functools import cache, update_wrapper

from django.contrib.admin import AdminSite, ModelAdmin
from django.contrib.admin.apps import AdminConfig
from django.contrib.admin.options import IncorrectLookupParameters
from django.core.exceptions import BadRequest, ValidationError
from django.db import DataError, transaction

from portal.text import as_searched


def _holds_nul(querydict) -> bool:
    return any("\x00" in key or any("\x00" in value for value in values) for key, values in querydict.lists())


@cache
def _answering_unusable_lookups(changelist_class: type) -> type:
    """``changelist_class`` whose counting of the list (the first query that runs its
    lookups) raises IncorrectLookupParameters for a lookup the database cannot answer."""

    class Guarded(changelist_class):
        def get_filters(self, request):
            try:
                return super().get_filters(request)
            except (ValueError, OverflowError) as error:  # a date hierarchy's period past the last date
                raise IncorrectLookupParameters(error) from error

        def get_results(self, request):
            try:
                # A savepoint: a DataError leaves the request's transaction usable.
                with transaction.atomic(using=self.queryset.db):
                    super().get_results(request)
            except (ValueError, OverflowError, IndexError, DataError) as error:
                raise IncorrectLookupParameters(error) from error

    Guarded.__name__ = Guarded.__qualname__ = changelist_class.__name__
    return Guarded


class _ListLookupsAnswered:
    """Mixed into every model admin registered on the portal's site."""

    def get_changelist(self, request, **kwargs):
        return _answering_unusable_lookups(super().get_changelist(request, **kwargs))

    def changelist_view(self, request, extra_context=None):
        if request.method == "POST" and "_selected_action" in request.POST:
            pk = self.opts.pk
            try:
                for value in request.POST.getlist("_selected_action"):
                    pk.to_python(value)
            except ValidationError as error:
                raise BadRequest("A selected row's id is not an id") from error
        return super().changelist_view(request, extra_context)

    def get_search_results(self, request, queryset, search_term):
        return super().get_search_results(request, queryset, as_searched(search_term))


class PortalAdminSite(AdminSite):
    def admin_view(self, view, cacheable=False):
        wrapped = super().admin_view(view, cacheable)

        def refusing_nul(request, *args, **kwargs):
            if _holds_nul(request.GET):
                raise BadRequest("NUL character in the query string")
            return wrapped(request, *args, **kwargs)

        return update_wrapper(refusing_nul, wrapped)

    def register(self, model_or_iterable, admin_class=None, **options):
        admin_class = admin_class or ModelAdmin
        if not issubclass(admin_class, _ListLookupsAnswered):
            admin_class = type(admin_class.__name__, (_ListLookupsAnswered, admin_class),
                               {"__module__": admin_class.__module__, "__qualname__": admin_class.__qualname__})
        super().register(model_or_iterable, admin_class, **options)


class PortalAdminConfig(AdminConfig):
    default_site = "portal.adminsite.PortalAdminSite"
