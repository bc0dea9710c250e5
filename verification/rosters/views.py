"""The roster pages of an organisation's admins (of it or of one above it) and of
superadmins, and the invitation link's page (anyone holding the link). Rosters and
invitations are fetched through selectors scoped to the viewer: another
organisation's are 404."""

from datetime import timedelta
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_http_methods

from portal import pending
from portal.access import rule
from portal.csv_files import started
from portal.downloads import kept_out_of_caches
from portal.limits import shown_from
from portal.linked_language import opens_in_linked_language
from portal.list_places import list_place, place_url
from portal.shown import ChangedMeanwhile, shown_on_page
from verification.rosters import export, refusals, services
from verification.rosters.checks import PROBLEMS
from verification.rosters.forms import (
    ConfirmForm,
    InvitationAcceptForm,
    InvitationCancelForm,
    InvitationsFilterForm,
    RosterUploadForm,
)
from verification.rosters.invitations import (
    MAIL_HELD_PREVIEW,
    acceptance_ends,
    invitation_accept,
    invitation_cancel,
    invitation_resend,
)
from verification.rosters.models import InvitationStatus, RosterStatus
from verification.rosters.parsing import HEADERS, RosterFileError
from verification.rosters.receivers import outcome_tell
from verification.rosters.selectors import (
    address_confirmed_by,
    invitation_by_token_hash,
    invitation_for_admin,
    invitations_of,
    refused_rows,
    roster_for_admin,
    rosters_of,
    rows_to_correct,
)
from verification.rosters.tokens import token_hash, token_is_well_formed
from verification.selectors import EndsElsewhere, organisation_for_admin

PAGE_SIZE = 50
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _download(content, *, content_type, filename):
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["X-Content-Type-Options"] = "nosniff"
    return response


@rule("organisation_admin")
@require_http_methods(["GET"])
def template_csv(request):
    return _download(export.template_csv(), content_type="text/csv; charset=utf-8", filename="roster-template.csv")


@rule("organisation_admin")
@require_http_methods(["GET"])
def template_xlsx(request):
    return _download(export.template_xlsx(), content_type=XLSX_TYPE, filename="roster-template.xlsx")


@rule("administrator_of_organisation")
@require_http_methods(["GET", "POST"])
def rosters(request, pk):
    """An organisation's roster imports, newest first, and the form to upload one."""
    organisation = organisation_for_admin(request.user, pk)
    posted = request.method == "POST"
    form = RosterUploadForm(request.POST if posted else None, request.FILES if posted else None)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            roster = services.roster_upload(organisation_id=organisation.pk, binary=upload.file, file_name=upload.name,
                                            size=upload.size, actor=request.user, request=request)
        except RosterFileError as exc:
            form.add_error("file", str(exc))
        except PermissionDenied:
            form.add_error("file", _("An auditor's account is read-only: it cannot import a roster."))
        else:
            return redirect("verification:roster", pk=roster.pk)
    page = Paginator(rosters_of(organisation), PAGE_SIZE).get_page(request.GET.get("page"))
    status = 400 if request.method == "POST" else 200
    return render(request, "verification/rosters/list.html",
                  {"organisation": organisation, "form": form, "page": page, "query": "",
                   "example": list(zip(HEADERS, export.EXAMPLE, strict=True))}, status=status)


def _problems(roster):
    """The preview's problems by kind; once applied, not its forecast of invitations not
    mailed (the outcome counts those, and their rows say so)."""
    return [text % {"n": roster.problems[kind]} for kind, text in {**PROBLEMS, **refusals.PROBLEMS}.items()
            if roster.problems.get(kind) and not (kind == MAIL_HELD_PREVIEW and roster.status != RosterStatus.PREVIEWED)]


@rule("administrator_of_organisation")
@require_http_methods(["GET"])
def roster(request, pk):
    """The preview (counts, problems by kind, the refused rows) and, once applying, its
    progress. Reading it changes nothing."""
    roster = roster_for_admin(request.user, pk)
    page = Paginator(refused_rows(roster), PAGE_SIZE).get_page(request.GET.get("page"))
    for row in page.object_list:
        row.reasons = refusals.reasons_of(row)
    return render(request, "verification/rosters/preview.html", {
        "roster": roster, "organisation": roster.organisation, "page": page, "query": "",
        "problems": _problems(roster), "statuses": RosterStatus, "keep_days": settings.ROSTER_ROWS_KEEP_DAYS,
        # Its rows gone before their time: a later upload of the same admin replaced it.
        "replaced": bool(roster.rows_removed_at and roster.status == RosterStatus.PREVIEWED and roster.rows_removed_at
                         < roster.uploaded_at + timedelta(days=settings.ROSTER_ROWS_KEEP_DAYS)),
    })


@rule("administrator_of_organisation")
@require_http_methods(["GET"])
def roster_progress(request, pk):
    """The progress bar (htmx polls it while the import runs)."""
    roster = roster_for_admin(request.user, pk)
    return render(request, "verification/rosters/includes/progress.html", {"roster": roster, "statuses": RosterStatus})


@rule("administrator_of_organisation")
@require_http_methods(["GET"])
def roster_refusals(request, pk):
    roster = roster_for_admin(request.user, pk)
    if roster.rows_removed_at is not None:
        messages.info(request, _("This roster's rows have been removed: there is no list of refusals to download."))
        return redirect("verification:roster", pk=pk)
    allowed = services.roster_refusals_export_record(roster=roster, actor=request.user, request=request)
    if allowed is not None:
        n = services.REFUSALS_DOWNLOADS_PER_HOUR
        messages.error(request, ngettext(
            "You have downloaded the refused rows of rosters %(n)s time in the last hour, the most an administrator "
            "may. The next download is possible from %(when)s.",
            "You have downloaded the refused rows of rosters %(n)s times in the last hour, the most an administrator "
            "may. The next download is possible from %(when)s.", n) % {"n": n, "when": shown_from(allowed)})
        return redirect("verification:roster", pk=pk)
    # The first rows read now (started): a query that fails is an error page, not a file of its header alone.
    response = StreamingHttpResponse(export.refusals_csv(started(rows_to_correct(roster), 2000),
                                                         language=translation.get_language()),
                                     content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="roster-{roster.pk}-refused-rows.csv"'
    response["X-Content-Type-Options"] = "nosniff"
    return kept_out_of_caches(response)


@rule("administrator_of_organisation")
@require_http_methods(["GET", "POST"])
def roster_apply(request, pk):
    """Confirm, then apply (a background task; the preview page shows its progress)."""
    roster = roster_for_admin(request.user, pk)
    if roster.rows_removed_at is not None and roster.status == RosterStatus.PREVIEWED:
        messages.info(request, _("This roster was never applied, and its rows have been removed: upload the file again "
                                 "to import it."))
        return redirect("verification:roster", pk=pk)
    if roster.status == RosterStatus.FAILED and not roster.may_carry_on:
        # Some rows were never applied: applying it again is no use (the preview may be days
        # old), a new upload is (the rows applied already are then unchanged). One stopped
        # because its admin may no longer decide is carried on by another (roster_apply_request).
        messages.warning(request, _("This roster's import stopped before the end because of an error: the rows done so "
                                    "far are kept. Upload the file again to import the rest (rows already applied are "
                                    "then unchanged)."))
        return redirect("verification:roster", pk=pk)
    if roster.status != RosterStatus.PREVIEWED and not roster.is_running and not roster.may_carry_on:
        messages.info(request, _("This roster was applied already: applying it again would change nothing."))
        return redirect("verification:roster", pk=pk)
    form = ConfirmForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            services.roster_apply_request(roster_id=roster.pk, actor=request.user, request=request)
        except PermissionDenied:
            messages.error(request, _("An auditor's account is read-only: it cannot import a roster."))
        return redirect("verification:roster", pk=pk)
    return render(request, "verification/rosters/apply.html",
                  {"roster": roster, "organisation": roster.organisation, "form": form},
                  status=400 if request.method == "POST" else 200)


# Invitations ----------------------------------------------------------------------------------

def _invitations_place(params, *, page=None) -> dict:
    """What of the invitations list's query ``params`` its rows' actions (send again,
    cancel) carry and lead back to (list_place): the status and the page (``page``'s, the
    page shown, when given)."""
    return list_place(params, InvitationsFilterForm(params), page=page)


def _back_to_invitations(request, invitation):
    """The page of the invitations list the action on ``invitation`` came from."""
    return redirect(place_url(reverse("verification:invitations", args=[invitation.organisation_id]),
                              _invitations_place(request.GET)))


@rule("administrator_of_organisation")
@require_http_methods(["GET"])
def invitations(request, pk):
    organisation = organisation_for_admin(request.user, pk)
    filters = InvitationsFilterForm(request.GET)
    filters.is_valid()
    status = filters.cleaned_data.get("status") or InvitationStatus.PENDING
    page = Paginator(invitations_of(organisation, status=status), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "verification/rosters/invitations.html", {
        "organisation": organisation, "page": page, "status": status, "statuses": InvitationStatus.choices,
        "query": f"status={status}", "now": timezone.now(),
        # The rows' actions come back to this page of this list.
        "place": urlencode(_invitations_place(request.GET, page=page)),
    })


def _invitations_page(request, pk) -> str | None:
    """The invitations page the invitation ``pk`` is sent again from (its organisation's),
    to come back to after signing in: only for the account that sent the form (signed out:
    the one last signed in on this browser, ``pending.typed_by``) when it administers that
    organisation; None otherwise (whose invitation it is is not said to anyone else)."""
    user = get_user_model().objects.filter(pk=pending.typed_by(request), is_active=True).first()
    if user is None:
        return None
    try:
        invitation = invitation_for_admin(user, pk)
    except Http404:
        return None
    return reverse("verification:invitations", kwargs={"pk": invitation.organisation_id})


@rule("administrator_of_organisation", return_to=_invitations_page)
@require_http_methods(["POST"])
def invitation_resend_view(request, pk):
    invitation = invitation_for_admin(request.user, pk)
    _invitation_act(request, invitation, invitation_resend,
                    read_only=_("An auditor's account is read-only: it cannot send invitations."),
                    # Made but not mailed (its mailbox had the day's invitation mails): sent now for the first time.
                    done=(_("The invitation was sent again to %(email)s with a new link.") if invitation.send_count
                          else _("The invitation was sent to %(email)s.")))
    return _back_to_invitations(request, invitation)


def _invitation_act(request, invitation, act, *, read_only: str, done: str) -> None:
    """``act`` (a service taking the invitation's id, actor and request) done, and what came
    of it told: its refusal, or ``done`` (with the invitation's %(email)s)."""
    try:
        act(invitation_id=invitation.pk, actor=request.user, request=request)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    except PermissionDenied:
        messages.error(request, read_only)
    else:
        messages.success(request, done % {"email": invitation.email})


@rule("administrator_of_organisation")
@require_http_methods(["GET", "POST"])
def invitation_cancel_view(request, pk):
    """Confirm, then cancel a waiting invitation (its link stops working). Opened from the
    invitations list, it comes with the list's place (_invitations_place): it posts with
    it, and leads back to that page of the list, as its way back does."""
    invitation = invitation_for_admin(request.user, pk)
    back = _back_to_invitations(request, invitation)
    if invitation.status != InvitationStatus.PENDING:
        messages.info(request, _("This invitation was accepted or cancelled already: there is nothing to cancel."))
        return back
    form = InvitationCancelForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        _invitation_act(request, invitation, invitation_cancel,
                        read_only=_("An auditor's account is read-only: it cannot cancel invitations."),
                        done=_("The invitation to %(email)s was cancelled: its link no longer works."))
        return back
    return render(request, "verification/rosters/invitation_cancel.html",
                  {"invitation": invitation, "organisation": invitation.organisation, "form": form,
                   "invitations": back.url}, status=400 if request.method == "POST" else 200)


@rule("token")
@require_http_methods(["GET", "POST"])
@opens_in_linked_language  # the link of the mail's Marathi or Hindi half
def invitation(request, token):
    """What an invitation link opens: who invites whom, and how to accept (sign up or
    sign in with that address and confirm it; someone signed in whose account has it
    confirmed already accepts it here, by a post). Where accepting verifies them at once
    and ends what they hold elsewhere, the page names it above the button, a box confirms
    it, and the acceptance is refused when it would end something else by then. The
    link's secret is in this request's path only, and in that of the page loaded again by
    its language switch (the logs redact such paths: portal/redaction.py)."""
    found = invitation_by_token_hash(token_hash(token)) if token_is_well_formed(token) else None
    state = "unknown"
    if found is not None:
        if found.status == InvitationStatus.ACCEPTED:
            state = "accepted"
        elif found.status != InvitationStatus.PENDING:
            state = "unknown"
        elif found.expires_at <= timezone.now():
            state = "expired"
        else:
            state = "valid"
    confirmed = state == "valid" and address_confirmed_by(request.user, found.email)
    # What accepting ends elsewhere when it verifies the person at once: named above the
    # button, and confirmed with a box where a verification or an admin role ends.
    ends = acceptance_ends(found, request.user) if confirmed else EndsElsewhere()
    form = (InvitationAcceptForm(request.POST if request.method == "POST" else None, organisation=found.organisation,
                                 ends=ends) if confirmed else None)
    shown = shown_on_page(request, ends.shown())  # what the page sending the acceptance said it ends
    if request.method == "POST" and confirmed and form.is_valid():
        try:
            accepted = invitation_accept(user=request.user, email=found.email, request=request, invitation_id=found.pk,
                                         shown=shown)
        except ChangedMeanwhile:
            # Nothing was done: the page says what accepting ends now, with the box to tick again.
            ends = acceptance_ends(found, request.user)
            form, shown = InvitationAcceptForm(organisation=found.organisation, ends=ends), ends.shown()
            form.cleaned_data = {}  # (an unbound form holds the page's error alone)
            form.add_error(None, _("Since this page was opened, what accepting the invitation ends elsewhere has "
                                   "changed: nothing was done. Read what it ends now, then accept again."))
        else:
            if accepted is not None:
                outcome_tell(request, accepted)
            return redirect("verification:mine") if accepted is not None else redirect(request.path)
    refused = request.method == "POST" and confirmed  # the box not ticked, or what it ends changed meanwhile
    response = render(request, "verification/rosters/invitation.html",
                      {"invitation": found if state != "unknown" else None, "state": state, "confirmed": confirmed,
                       "ending": ends.ending, "roles_ending": ends.roles_ending, "waiting": ends.waiting, "form": form,
                       "shown_values": shown},
                      status=400 if refused else 200 if state == "valid" else 404 if state == "unknown" else 410)
    # Its address holds the secret: sent in a Referer header to this site only, never to another;
    # "same-origin", not "no-referrer", under which the browser posts the page's language switch
    # with "Origin: null", which the CSRF check refuses.
    response["Referrer-Policy"] = "same-origin"
    response["Cache-Control"] = "no-store"
    return response
