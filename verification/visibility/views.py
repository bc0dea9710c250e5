"""Pages of profile visibility: the directory of people and its CSV export, a person's
page, a person's own choices, and an organisation's policy (its admins). What a page
shows of a person comes from rules.visible_profile(s), never from the model."""

import math
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext, ngettext_lazy
from django.views.decorators.http import require_http_methods

from portal.access import asked_on_this_site, rule
from portal.audit.models import AuditAction
from portal.client import client_digest, client_network
from portal.downloads import kept_out_of_caches
from portal.limits import next_hourly, per_minute_wait
from portal.shown import ChangedMeanwhile, shown_on_page, shown_sent
from verification.selectors import organisation_for_admin
from verification.visibility import services
from verification.visibility.csv_export import directory_csv
from verification.visibility.forms import DirectorySearchForm, PersonalVisibilityForm, VisibilityPolicyForm
from verification.visibility.models import PersonalVisibility, ProfileField, VisibilityPolicy, column_of
from verification.visibility.rules import has_searchable_word, normalise_search, viewer_of, visible_profile
from verification.visibility.selectors import (
    EXPORT_MAX,
    EXPORTS_PER_HOUR,
    MAX_PAGES,
    PAGE_SIZE,
    directory_found_count,
    directory_search,
    held_profile_of,
)


def _page_number(request) -> int:
    try:
        return min(max(int(request.GET.get("page", "1")), 1), MAX_PAGES)
    except ValueError:
        return 1


# What the directory counts a minute, for a verified viewer (on their account) and for anyone
# else (on their network): the setting of its limit, and what the 429 page says when it is
# reached. Without a limit on people's pages (their ids in sequence) the directory could be
# read out whole by id, whatever the searches' limit.
_COUNTED = {
    ("directory-searches", True): ("DIRECTORY_SEARCHES_PER_MINUTE_VERIFIED", ngettext_lazy(
        "You searched the directory %(n)s time this minute, as many searches as it answers for one person in a minute.",
        "You searched the directory %(n)s times this minute, as many searches as it answers for one person in a minute.",
        "n")),
    ("directory-searches", False): ("DIRECTORY_SEARCHES_PER_MINUTE", ngettext_lazy(
        "The directory was searched %(n)s time this minute from your network, as many searches as it answers from "
        "one network in a minute.",
        "The directory was searched %(n)s times this minute from your network, as many searches as it answers from "
        "one network in a minute.", "n")),
    ("directory-people", True): ("DIRECTORY_PEOPLE_PER_MINUTE_VERIFIED", ngettext_lazy(
        "You opened %(n)s person's page of the directory this minute, as many as it shows to one person in a minute.",
        "You opened %(n)s people's pages of the directory this minute, as many as it shows to one person in a minute.",
        "n")),
    ("directory-people", False): ("DIRECTORY_PEOPLE_PER_MINUTE", ngettext_lazy(
        "%(n)s person's page of the directory was opened this minute from your network, as many as it shows to one "
        "network in a minute.",
        "%(n)s people's pages of the directory were opened this minute from your network, as many as it shows to one "
        "network in a minute.", "n")),
}


def _refused(request, viewer, counted: str):
    """Count one request as ``counted`` (a search: "directory-searches"; a person's page:
    "directory-people") against the account of a verified viewer, else against the client's
    address (its network, as a keyed digest), up to its limit a minute (_COUNTED). None
    while within the limit, else the portal's 429 page saying when to try again."""
    setting, reached = _COUNTED[counted, viewer.verified]
    limit = getattr(settings, setting)
    if viewer.verified:
        wait = per_minute_wait(f"{counted}:person:{request.user.pk}", limit)
    else:
        wait = per_minute_wait(f"{counted}:network:{client_digest(client_network(request)) or 'unknown'}", limit)
    if not wait:
        return None
    response = render(request, "429.html", {"limit_reached": reached % {"n": limit}, "wait": wait,
                                            "again": request.get_full_path()}, status=429)
    response["Retry-After"] = str(wait)
    return response


@rule("public")
@require_http_methods(["GET"])
def directory(request):
    """Search the people verified on the portal; each shown as the viewer may see them. Each
    search is counted (``_refused``): past its limit, a 429 page and nothing searched.
    A page past the last one of a search (none found there, some before it) says on which
    page the results end, and links to it."""
    form = DirectorySearchForm(request.GET or None)
    query, people, page, more, last_page = "", [], _page_number(request), False, None
    viewer = viewer_of(request.user)
    if form.is_bound and form.is_valid():
        query = normalise_search(form.cleaned_data["q"])
        if has_searchable_word(query) and (refused := _refused(request, viewer, "directory-searches")):
            return refused
        found = directory_search(request.user, query, offset=(page - 1) * PAGE_SIZE, limit=PAGE_SIZE + 1)
        people, more = found[:PAGE_SIZE], len(found) > PAGE_SIZE and page < MAX_PAGES
        if not found and page > 1:
            before = directory_found_count(request.user, query, most=(page - 1) * PAGE_SIZE)
            last_page = math.ceil(before / PAGE_SIZE) or None
    return render(request, "visibility/directory.html", {
        "form": form, "query": query, "searched": has_searchable_word(query), "people": people, "page": page, "more": more,
        "last_page": last_page, "verified_viewer": viewer.verified, "page_size": PAGE_SIZE,
    })


@rule("public")
@require_http_methods(["GET"])
def person(request, pk):
    """One person, as the viewer may see them; 404 when they may see nothing of them. Each
    page asked for, found or not, is counted (``_refused``)."""
    if refused := _refused(request, viewer_of(request.user), "directory-people"):
        return refused
    seen = visible_profile(request.user, pk)
    if seen is None:
        raise Http404
    return render(request, "visibility/person.html", {"person": seen})


def _directory_searched(request) -> str:
    """The directory with the search the download was asked for."""
    return f"{reverse('visibility:directory')}?{urlencode({'q': request.GET.get('q', '')})}"


@rule("authenticated")
@require_http_methods(["GET"])
@asked_on_this_site(_directory_searched)
def export(request):
    """The directory's results for a search, as CSV (at most EXPORT_MAX people), as the
    viewer sees them; audited; at most EXPORTS_PER_HOUR an hour per person (each one a
    search and an audit row)."""
    form = DirectorySearchForm(request.GET or None)
    if not (form.is_bound and form.is_valid() and has_searchable_word(form.cleaned_data["q"])):
        messages.error(request, _("Search for at least three characters before downloading the results."))
        return redirect("visibility:directory")
    # Refused before searching; directory_export_record counts again under the person's
    # lock, which holds for downloads asked at the same moment.
    allowed = next_hourly(request.user, AuditAction.DIRECTORY_EXPORTED, EXPORTS_PER_HOUR)
    if allowed is None:
        query = normalise_search(form.cleaned_data["q"])
        people = directory_search(request.user, query, limit=EXPORT_MAX)
        allowed = services.directory_export_record(query=query, rows=len(people), actor=request.user,
                                                   limit=EXPORTS_PER_HOUR, request=request)
    if allowed is not None:
        messages.error(request, ngettext(
            "You have downloaded search results %(n)s time in the last hour. Try again in an hour.",
            "You have downloaded search results %(n)s times in the last hour. Try again in an hour.",
            EXPORTS_PER_HOUR) % {"n": EXPORTS_PER_HOUR})
        return redirect(f"{reverse('visibility:directory')}?{urlencode({'q': form.cleaned_data['q']})}")
    response = HttpResponse(directory_csv(people, status_label=_("Status")), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="people-{timezone.localdate():%Y-%m-%d}.csv"'
    return kept_out_of_caches(response)


@rule("authenticated")
@require_http_methods(["GET", "POST"])
def my_visibility(request):
    """The person narrows who sees each of their details. A save from a page showing
    choices changed since it was opened (in another tab or window) is refused: what is
    saved now is said at each choice that differs, what was chosen is kept."""
    held = held_profile_of(request.user)
    policy = services.visibility_policy_of(held.organisation) if held else None
    current = _own_choices(request.user)
    if request.method == "POST":
        form = PersonalVisibilityForm(request.POST, policy=policy, current=current)
    else:
        form = PersonalVisibilityForm(policy=policy, current=current)
    shown = shown_on_page(request, services.audiences_digest(current))  # once the form took any kept input
    if form.is_bound and form.is_valid():
        try:
            services.personal_visibility_set(choices=form.choices(), actor=request.user, request=request,
                                             shown_values=shown_sent(request.POST))
        except ChangedMeanwhile:
            current = _own_choices(request.user)
            shown = services.audiences_digest(current)
            form = PersonalVisibilityForm(request.POST, policy=policy, current=current)
            form.is_valid()
            form.say_changed_meanwhile({name.value: current.get(name) for name in ProfileField})
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, _("Your choices were saved."))
            return redirect("visibility:mine")
    return render(request, "visibility/mine.html", {"form": form, "held": held, "shown_values": shown,
                                                    "seen": visible_profile(request.user, held.pk) if held else None})


def _own_choices(user) -> dict:
    """The person's stored choices by field (an empty dict when they made none)."""
    own = PersonalVisibility.objects.filter(user_id=user.pk).first()
    return {name: getattr(own, column_of(name)) for name in ProfileField} if own is not None else {}


@rule("administrator_of_organisation")
@require_http_methods(["GET", "POST"])
def organisation_visibility(request, pk):
    """An organisation's admins choose who may see each field of its people. A save from a
    page showing a policy another admin changed since it was opened is refused: what is
    saved now is said at each field that differs, what was chosen is kept."""
    organisation = organisation_for_admin(request.user, pk)
    current = services.visibility_policy_of(organisation)
    if request.method == "POST":
        form = VisibilityPolicyForm(request.POST)
    else:
        form = VisibilityPolicyForm(initial={name.value: int(value) for name, value in current.items()})
    shown = shown_on_page(request, services.audiences_digest(current))  # once the form took any kept input
    if form.is_bound and form.is_valid():
        try:
            services.visibility_policy_set(organisation_id=organisation.pk, audiences=form.audiences(),
                                           actor=request.user, request=request, shown_values=shown_sent(request.POST))
        except ChangedMeanwhile:
            current = services.visibility_policy_of(organisation)
            shown = services.audiences_digest(current)
            form.say_changed_meanwhile({name.value: int(value) for name, value in current.items()})
        else:
            messages.success(request, _("Who may see your people's details was saved."))
            return redirect("visibility:organisation", pk=organisation.pk)
    policy = VisibilityPolicy.objects.filter(organisation=organisation).select_related("changed_by").first()
    return render(request, "visibility/organisation.html",
                  {"organisation": organisation, "form": form, "policy": policy, "shown_values": shown})
