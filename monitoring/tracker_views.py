"""The adoption tracker: the offices a state (or the centre) expects to join by a
date, where each stands, and a reminder to those that have not joined. Superadmins and
state administrators edit the lists of their jurisdictions; auditors read them."""

from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from monitoring import services
from monitoring.forms import ConfirmForm, ExpectedOfficeForm, ExpectedOfficeUploadForm
from monitoring.models import ExpectedOffice
from monitoring.scope import tracker_editable_jurisdictions, tracker_jurisdictions
from monitoring.services import OFFICE_FIELDS, REMINDER_INTERVAL
from monitoring.tracker import (
    TrackerStatus,
    expected_offices_in,
    match_offices,
    removed_office_jurisdiction,
    tracker_rows,
)
from portal.access import rule
from portal.list_places import list_place, place_url
from portal.organisations.states import JURISDICTION_CHOICES
from portal.shown import ChangedMeanwhile, shown_on_page, shown_sent

PAGE_SIZE = 25


def _may_edit(editable, jurisdiction):
    return editable is None or jurisdiction in editable


def _office(request, pk) -> ExpectedOffice:
    """An expected office of the viewer's jurisdictions, or 404."""
    try:
        return expected_offices_in(tracker_jurisdictions(request.user)).get(pk=pk)
    except (ExpectedOffice.DoesNotExist, ValueError):
        raise Http404 from None


class _OfficeGone(Exception):
    """The office was taken off a list the viewer edits (a double click on "Remove it",
    another administrator meanwhile)."""


def _editable_office(request, pk):
    """An office the viewer may edit, or 404; _OfficeGone when it was taken off one of
    their lists."""
    editable = tracker_editable_jurisdictions(request.user)
    try:
        office = _office(request, pk)
    except Http404:
        if removed_office_jurisdiction(pk, editable) is None:
            raise
        raise _OfficeGone from None
    if not _may_edit(editable, office.jurisdiction):
        raise Http404
    return office, editable


def _tracker_place(request, chosen: str | None = None, page=None) -> dict:
    """Where the viewer is in the tracker (the state or UT chosen, ``chosen`` when the tracker
    checked it, and the page above the first), which its links to an office's pages carry
    and their Cancel leads back to (list_place). A code no jurisdiction has, a page that is
    not one, is left out."""
    if chosen is None:
        chosen = request.GET.get("jurisdiction", "")
        chosen = chosen if chosen in dict(JURISDICTION_CHOICES) else ""
    return {**({"jurisdiction": chosen} if chosen else {}), **list_place(request.GET, page=page)}


def _back(request) -> str:
    """The tracker as the viewer left it (``_tracker_place``), for an office's page's Cancel
    and where a reminder sent or an office taken off leads."""
    return place_url(reverse("monitoring:tracker"), _tracker_place(request))


def _gone(request):
    messages.info(request, _("The office was already taken off the list."))
    return redirect(_back(request))


@rule("adoption_tracker")
@require_http_methods(["GET"])
def tracker(request):
    jurisdictions = tracker_jurisdictions(request.user)
    editable = tracker_editable_jurisdictions(request.user)
    choices = [(code, label) for code, label in JURISDICTION_CHOICES if jurisdictions is None or code in jurisdictions]
    chosen = request.GET.get("jurisdiction", "")
    chosen = chosen if chosen in dict(choices) else ""
    today = timezone.localdate()
    page = Paginator(tracker_rows(jurisdictions, today=today, jurisdiction=chosen), PAGE_SIZE).get_page(
        request.GET.get("page"))
    offices = list(page.object_list)
    matches = match_offices(offices)
    now = timezone.now()
    for office in offices:
        office.match = matches[office.pk]
        office.may_edit = _may_edit(editable, office.jurisdiction)
        office.may_remind = (office.may_edit and office.match.status not in (TrackerStatus.ACTIVE, TrackerStatus.SUSPENDED)
                             and not (office.last_reminded_at and office.last_reminded_at > now - REMINDER_INTERVAL))
    return render(request, "monitoring/tracker.html", {
        "page": page, "offices": offices, "choices": choices, "chosen": chosen, "chosen_label": dict(choices).get(chosen, ""),
        "query": urlencode({"jurisdiction": chosen} if chosen else {}), "may_edit_any": editable is None or bool(editable),
        "today": today, "place": urlencode(_tracker_place(request, chosen, page)),
    })


def _tracker_url(jurisdiction: str = ""):
    url = reverse("monitoring:tracker")
    return f"{url}?{urlencode({'jurisdiction': jurisdiction})}" if jurisdiction else url


@rule("adoption_tracker")
@require_http_methods(["GET", "POST"])
def office_edit(request, pk=None):
    """Add an office, or change one. A change from a page showing an office another
    administrator changed since it was opened is refused: what is saved now is said at each
    field that differs, what was typed is kept."""
    editable = tracker_editable_jurisdictions(request.user)
    if editable is not None and not editable:
        raise Http404
    try:
        office = _editable_office(request, pk)[0] if pk is not None else None  # (0 is an office not found)
    except _OfficeGone:  # what was typed is not saved: the office is no longer there to change
        return _gone(request)
    initial = services.office_values(office) if office else {}
    form = ExpectedOfficeForm(request.POST or None, initial=initial, jurisdictions=editable, office=office)
    shown = office and shown_on_page(request, services.expected_office_digest(office))  # once the form took kept input
    if request.method == "POST" and form.is_valid():
        values = {name: form.cleaned_data[name] for name in OFFICE_FIELDS}
        try:
            saved = services.expected_office_save(office=office, values=values, editable=editable, actor=request.user,
                                                  request=request, shown_values=shown_sent(request.POST))
        except ChangedMeanwhile:
            try:
                office = _editable_office(request, pk)[0]
            except _OfficeGone:
                return _gone(request)
            shown = services.expected_office_digest(office)
            form.say_changed_meanwhile(services.office_values(office))
        except ValidationError as error:
            # A short code or domain taken meanwhile is refused at its field; the rest at the jurisdiction.
            form.add_error(None if hasattr(error, "error_dict") else "jurisdiction", error)
        else:
            messages.success(request, _("The office was saved."))
            return redirect(_tracker_url(saved.jurisdiction))
    return render(request, "monitoring/office_form.html", {"form": form, "office": office, "shown_values": shown,
                                                           "back": _back(request)})


@rule("adoption_tracker")
@require_http_methods(["GET", "POST"])
def office_delete(request, pk):
    try:
        office, editable = _editable_office(request, pk)
    except _OfficeGone:
        return _gone(request)
    form = ConfirmForm(request.POST if request.method == "POST" else None)
    if form.is_valid():  # a POST (its CSRF token is the confirmation)
        try:
            taken_off = services.expected_office_delete(office=office, editable=editable, actor=request.user,
                                                        request=request, shown_values=shown_sent(request.POST))
        except ChangedMeanwhile:  # the page showed it as it was: it is shown again as it is now
            try:
                office, editable = _editable_office(request, pk)
            except _OfficeGone:
                return _gone(request)
            form.add_error(None, ValidationError(
                _("Since this page was opened, this office was changed by someone else or in another tab: nothing was "
                  "taken off the list. Check it as it is now, then confirm again."), code="changed_meanwhile"))
        else:
            if taken_off:
                messages.success(request, _("The office was taken off the list."))
            else:
                messages.info(request, _("The office was already taken off the list."))
            return redirect(_back(request))
    return render(request, "monitoring/office_confirm.html", {
        "office": office, "form": form, "action": "delete", "shown_values": services.expected_office_digest(office),
        "back": _back(request),
        "title": _("Take %(name)s off the list") % {"name": office.name}})


@rule("adoption_tracker")
@require_http_methods(["GET", "POST"])
def office_remind(request, pk):
    try:
        office, editable = _editable_office(request, pk)
    except _OfficeGone:
        return _gone(request)
    match = match_offices([office])[office.pk]
    form = ConfirmForm()
    if request.method == "POST":
        try:
            services.expected_office_remind(office=office, editable=editable, status=match.status, actor=request.user,
                                            request=request, shown_values=shown_sent(request.POST))
        except ChangedMeanwhile:  # the confirmation named another address: shown again as it is now
            try:
                office, editable = _editable_office(request, pk)
            except _OfficeGone:
                return _gone(request)
            match = match_offices([office])[office.pk]
            form = ConfirmForm(request.POST)
            form.is_valid()
            form.add_error(None, ValidationError(
                _("Since this page was opened, this office was changed by someone else or in another tab: no reminder "
                  "was sent. Check it as it is now, then confirm again."), code="changed_meanwhile"))
        except ValidationError as error:
            messages.error(request, error.messages[0])
            return redirect(_back(request))
        else:
            messages.success(request, _("A reminder was sent to %(email)s.") % {"email": office.contact_email})
            return redirect(_back(request))
    # Why none would be sent, said instead of offering it (the service would refuse it).
    refusal = services.expected_office_reminder_refusal(office=office, status=match.status, actor=request.user)
    return render(request, "monitoring/office_confirm.html", {
        "office": office, "form": form, "action": "remind", "match": match, "refusal": refusal,
        "shown_values": services.expected_office_digest(office), "back": _back(request),
        "title": _("Send a reminder to %(name)s") % {"name": office.name}})


@rule("adoption_tracker")
@require_http_methods(["GET", "POST"])
def office_upload(request):
    editable = tracker_editable_jurisdictions(request.user)
    if editable is not None and not editable:
        raise Http404
    form = ExpectedOfficeUploadForm(request.POST or None, request.FILES or None, jurisdictions=editable)
    if request.method == "POST" and form.is_valid():
        try:
            outcome = services.expected_offices_import(
                jurisdiction=form.cleaned_data["jurisdiction"], rows=form.rows, lines=form.lines, editable=editable,
                actor=request.user, request=request)
        except ValidationError as error:
            form.add_error("file", error)
        else:
            messages.success(request, _("The list was read: %(added)s added, %(changed)s changed, %(unchanged)s "
                                        "unchanged.") % {"added": outcome.added, "changed": outcome.changed,
                                                         "unchanged": outcome.unchanged})
            return redirect(f"{reverse('monitoring:tracker')}?{urlencode({'jurisdiction': form.cleaned_data['jurisdiction']})}")
    return render(request, "monitoring/office_upload.html", {"form": form, "back": _back(request)})
