"""A person's rights in the portal: what it holds about them (page and download),
their own corrections, requests that need an administrator, their nominee; and the
superadmins' queue of requests."""


from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import FileResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_http_methods

from portal.access import asked_on_this_site, rule
from portal.audit.models import AuditAction
from portal.audit.services import audit_record
from portal.limits import hourly_slot_take, over_hourly
from portal.organisations.selectors import official_powers_named
from portal.privacy.forms import CorrectionForm, DecisionForm, NomineeForm, PrivacyRequestForm
from portal.privacy.models import Nominee, PrivacyRequest, PrivacyRequestKind, PrivacyRequestStatus
from portal.privacy.personal_data import DOWNLOADS_PER_HOUR, personal_data_zip
from portal.privacy.requests import (
    decided_already,
    nominee_record,
    person_correct,
    privacy_request_decide,
    privacy_request_make,
)
from portal.shown import shown_digest, shown_sent

QUEUE_SHOWN = 100  # decided requests shown, the latest
QUEUE_PAGE_SIZE = 50  # waiting requests a page


def _errors_to(form, exc: ValidationError) -> None:
    if hasattr(exc, "error_dict"):
        for field, errors in exc.message_dict.items():
            for error in errors:
                form.add_error(field if field in form.fields else None, error)
    else:
        for error in exc.messages:
            form.add_error(None, error)


@rule("authenticated")
@require_http_methods(["GET", "POST"])
def my_data(request):
    user = request.user
    action = request.POST.get("action") if request.method == "POST" else None
    nominee = Nominee.objects.filter(user=user).first()
    correction = CorrectionForm(request.POST if action == "correct" else None, initial={"full_name": user.full_name})
    asking = PrivacyRequestForm(request.POST if action == "request" else None)
    naming = NomineeForm(request.POST if action == "nominee" else None, initial={
        "name": nominee.name, "email": nominee.email, "relationship": nominee.relationship} if nominee else None)
    for name, form, save, done in (
        ("correct", correction, lambda data: person_correct(user=user, request=request, **data), _("Saved.")),
        ("request", asking, lambda data: privacy_request_make(user=user, request=request, **data),
         _("Your request was sent. You will see the decision here.")),
        ("nominee", naming, lambda data: nominee_record(user=user, request=request, **data), _("Nominee recorded.")),
    ):
        if action == name and form.is_valid():
            try:
                save(form.cleaned_data)
            except ValidationError as exc:
                _errors_to(form, exc)
            else:
                messages.success(request, done)
                return redirect("privacy_rights:my_data")
    return render(request, "privacy/my_data.html", {
        "correction": correction, "asking": asking, "naming": naming, "nominee": nominee,
        "requests": PrivacyRequest.objects.filter(user=user)[:50], "now": timezone.now(),
    })


@rule("authenticated")
@require_http_methods(["GET"])
@asked_on_this_site("privacy_rights:my_data")
def download(request):
    # Each download reads up to 50 MB of files and compresses them: a few an hour each,
    # counted from the audit log (which outlives the cache) and, before the zip is built,
    # by a slot in the shared cache, so that downloads still being built count too.
    if over_hourly(request.user, AuditAction.PERSONAL_DATA_EXPORTED, DOWNLOADS_PER_HOUR) \
            or hourly_slot_take("personal-data-downloads", request.user.pk, DOWNLOADS_PER_HOUR) is not None:
        messages.error(request, ngettext(
            "You have downloaded your data %(n)s time in the last hour. Try again in an hour.",
            "You have downloaded your data %(n)s times in the last hour. Try again in an hour.",
            DOWNLOADS_PER_HOUR) % {"n": DOWNLOADS_PER_HOUR})
        return redirect("privacy_rights:my_data")
    content, summary = personal_data_zip(request.user)
    audit_record(actor=request.user, action=AuditAction.PERSONAL_DATA_EXPORTED, target=request.user, request=request,
                 new={"files": summary["files"], "left_out": summary["left_out"], "bytes": summary["size"]})
    response = FileResponse(content, content_type="application/zip", as_attachment=True,
                            filename=f"my-data-{timezone.localdate():%Y-%m-%d}.zip")
    response["Content-Length"] = summary["size"]
    response["Cache-Control"] = "no-store"
    return response


@rule("superadmin")
@require_http_methods(["GET"])
def requests_queue(request):
    """The waiting requests, the earliest due first, QUEUE_PAGE_SIZE a page with their
    number (every one reachable); the latest QUEUE_SHOWN decided ones."""
    waiting = PrivacyRequest.objects.filter(status=PrivacyRequestStatus.OPEN).select_related("user") \
        .order_by("due_at", "id")
    page = Paginator(waiting, QUEUE_PAGE_SIZE).get_page(request.GET.get("page"))
    decided = PrivacyRequest.objects.exclude(status=PrivacyRequestStatus.OPEN).select_related("user", "decided_by") \
        .order_by("-decided_at", "-id")[:QUEUE_SHOWN]
    return render(request, "privacy/requests.html", {"page": page, "decided": decided, "now": timezone.now()})


def _own_decision_again(request, made: PrivacyRequest) -> bool:
    """The decision posted is the one ``made`` stands decided with, by this superadmin: their
    own sent again (a double click without JavaScript, Back and send again), not refused."""
    sent = {"grant": PrivacyRequestStatus.GRANTED, "refuse": PrivacyRequestStatus.REFUSED}.get(request.POST.get("decision"))
    return made.decided_by_id == request.user.pk and sent is not None and made.status == sent


def _recorded_already(request, made: PrivacyRequest):
    messages.info(request, _("You already recorded this decision: %(status)s.") % {"status": made.get_status_display()})
    return redirect("privacy:requests")


# The hidden input naming the roles an erasure's decision page named as ending with it.
ROLES_SHOWN_FIELD = "roles_shown"


@rule("superadmin")
@require_http_methods(["GET", "POST"])
def request_decide(request, pk):
    made = get_object_or_404(PrivacyRequest.objects.select_related("user"), pk=pk)
    erasure = made.kind == PrivacyRequestKind.ERASURE
    form = DecisionForm(request.POST or None, erasure=erasure)
    # The roles granting an erasure ends, named before the box; the box confirms those named.
    asked = erasure and made.status == PrivacyRequestStatus.OPEN
    ending = official_powers_named(made.user) if asked else []
    with translation.override("en"):  # the same whatever the language the page was read in
        form.roles_shown = shown_digest([str(name) for name in ending])
    sent = shown_sent(request.POST, ROLES_SHOWN_FIELD)  # None: not checked (a page that sends none)
    if (request.method == "POST" and made.status == PrivacyRequestStatus.OPEN and form.is_valid() and erasure
            and form.cleaned_data["decision"] == "grant" and sent is not None and sent != form.roles_shown):
        form.confirm_again(_("Nothing was recorded: since this page was opened, the roles the account holds changed. "
                             "They are named above as they are now: check them, then tick the box again."))
    if request.method == "POST" and made.status != PrivacyRequestStatus.OPEN:
        if _own_decision_again(request, made):
            return _recorded_already(request, made)
        # Decided meanwhile (the page was left open): nothing is recorded, and the form
        # says so, with what was typed.
        form.is_valid()
        form.add_error(None, decided_already(made))
    elif request.method == "POST" and form.is_valid():
        try:
            privacy_request_decide(request_id=made.pk, grant=form.cleaned_data["decision"] == "grant",
                                   reason=form.cleaned_data["reason"], actor=request.user, request=request)
        except ValidationError as exc:
            if getattr(exc, "code", None) == "decided":  # decided while this one waited for the row
                made.refresh_from_db()
                if _own_decision_again(request, made):
                    return _recorded_already(request, made)
            _errors_to(form, exc)
        else:
            messages.success(request, _("Decision recorded; the person sees it on their data protection page."))
            return redirect("privacy:requests")
    return render(request, "privacy/request_decide.html", {"made": made, "form": form, "ending": ending})
