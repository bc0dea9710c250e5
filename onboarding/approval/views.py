"""Pages of the approval routing: the competent authority's review page (a
single-use link, no account), the state administrators' queue, appeals, and
the approval letter."""

from functools import wraps
from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from onboarding import workflow
from onboarding.application import pdf
from onboarding.application import services as application_services
from onboarding.application.selectors import (
    application_for_officer,
    application_for_viewer,
    current_letter,
    officer_address_moved,
    officer_eligibility,
    people_of,
    withdrawn_by,
)
from onboarding.application.services import OfficerNotEligible
from onboarding.application.summary import application_summary
from onboarding.application.uploads import letter_filename
from onboarding.approval import letters, services
from onboarding.approval.changes import changes_since_last_seen
from onboarding.approval.forms import AppealForm, DecisionForm
from onboarding.approval.selectors import (
    appeal_queue,
    appeal_step_for,
    last_rejection,
    review_reads,
    short_code_lost,
    state_queue,
    state_step_for,
)
from onboarding.approval.tokens import (
    LinkState,
    link_rate_limited,
    link_state,
    rate_limited,
    token_lookup,
    token_lookup_digest,
)
from onboarding.models import (
    ApplicationDocument,
    ApplicationStatus,
    Decision,
    DocumentKind,
    Stage,
)
from portal import pending
from portal.access import asked_on_this_site, rule
from portal.downloads import content_response, stored_file_response
from portal.linked_language import opens_in_linked_language
from portal.list_places import list_place, place_url
from portal.permissions import auditor_reads_only
from portal.shown import ChangedMeanwhile, shown_on_page, shown_sent
from portal.text import multi_line

LINK_PAGES = {
    LinkState.UNKNOWN: ("onboarding/review/link_unknown.html", 404),
    LinkState.EXPIRED: ("onboarding/review/link_expired.html", 410),
    LinkState.USED: ("onboarding/review/link_used.html", 410),
    LinkState.DECIDED: ("onboarding/review/link_used.html", 410),
    LinkState.SUPERSEDED: ("onboarding/review/link_superseded.html", 410),
    LinkState.CLOSED: ("onboarding/review/link_superseded.html", 410),
}
QUEUE_PAGE_SIZE = 50
# The competent authority's session: the SHA-256 of the link it opened last, of each
# link it opened by its step (an authority of several offices may have several pages
# open, one a tab: each page decides and serves the documents of its own application),
# and of the link it decided with (for the confirmation). Never the token itself.
SESSION_LINK = "onboarding_review_link"
SESSION_LINKS = "onboarding_review_links"
SESSION_LINKS_KEPT = 20
SESSION_DECIDED = "onboarding_review_decided"
# The decision and remarks posted for a step whose link the session no longer held (it
# ended while they were typed): {"step": its id, "input": as pending.encode keeps it}, the last one only,
# shown once in the form when that step's link is opened again. Nothing else of a post.
SESSION_KEPT = "onboarding_review_kept"
KEPT_FIELDS = ("decision", "remarks")
# Why a decision was kept, when it was not that the link or the session ended: the rate
# limit refused it (the page that shows it again says so, not "your session had ended").
KEPT_AFTER_WAIT = "rate_limited"


def _keep_token_on_site(view):
    """For the competent authority's pages: every response they give, whatever the
    path through them, says never to send its address to another site in a Referer
    header. Pages say "same-origin", not "no-referrer": under "no-referrer" a browser
    sends "Origin: null" with the page's own forms (the decision, the language
    switch), which Django's CSRF check refuses. Files submit nothing, and the
    redirect away from the link's address says where the browser came from to no
    one: "no-referrer"."""

    @wraps(view)
    def wrapped(request, *args, **kwargs):
        response = view(request, *args, **kwargs)
        response.setdefault("Referrer-Policy", "no-referrer" if isinstance(response, FileResponse) else "same-origin")
        return response

    return wrapped


def _too_many_requests(request, *, kept=False):
    """The 429 page; ``kept``: a decision posted was kept for its step's page (``_keep_decision``), and it says so."""
    response = render(request, "onboarding/review/rate_limited.html", {"kept": kept}, status=429)
    response["Retry-After"] = "60"
    return response


# Links that stopped working while their step still waits for a decision: another link
# for the step opens its page (a newer one was sent, or the officer sends one).
LINK_ENDED = {LinkState.EXPIRED, LinkState.SUPERSEDED}


def _link_page(request, state, token_row, *, keep=False):
    """The page of a link that does not work (``state``). ``keep``: a decision was posted
    with it; while its step is still open, what was typed is kept for the page of the
    step's next link (``_keep_decision``), and the page says so."""
    template, status = LINK_PAGES[state]
    context = {"state": state.value, "token": token_row}
    if token_row is not None:
        step = token_row.step
        application = step.application
        context.update({"step": step, "application": application})
        if keep and state in LINK_ENDED and not step.decision:
            context["kept"] = _keep_decision(request, step.pk)
        if state in (LinkState.SUPERSEDED, LinkState.CLOSED, LinkState.DECIDED, LinkState.USED):
            # A step decided (with this link or another of its) may have been a return for
            # correction that the officer has since answered, sending the application to this
            # address again: the page says so, and when (the latest), so that the authority
            # looks for that mail. Not when the correction named another authority.
            # Not a step closed by a withdrawal since: its link no longer works either.
            resent_at = (application.steps.filter(stage=Stage.AUTHORITY, opened_at__gt=step.opened_at,
                                                  assignee_email__iexact=token_row.email)
                         .exclude(decision=Decision.CANCELLED)
                         .order_by("-opened_at", "-id").values_list("opened_at", flat=True).first())
            context["resent_at"] = resent_at
            # Withdrawn since (nothing waits for the authority): by whom, as its audit row says.
            context["withdrawn"] = withdrawn_by(application) if application.status == ApplicationStatus.WITHDRAWN else ""
        if state in (LinkState.SUPERSEDED, LinkState.CLOSED, LinkState.DECIDED):
            newer = step.tokens.filter(created_at__gt=token_row.created_at).order_by("-created_at").first()
            context["newer_link_at"] = newer.created_at if newer and not step.decision else None
    return render(request, template, context, status=status)


def _already_decided(request, step, status=409, *, sent=None):
    """The step's decision, told whoever comes to decide it after it was made. Their own,
    sent again (a double click without JavaScript, Back and send again: ``sent`` is the
    decision posted, None on a page opened), is no refusal: they are told they recorded it."""
    own = (request.user.is_authenticated and step.decided_by_id == request.user.pk
           and step.decision != Decision.CANCELLED and sent in (None, step.decision))
    # "Your decision was not recorded" only to whoever sent one: not to a page opened after the decision.
    return render(request, "onboarding/review/already_decided.html",
                  {"step": step, "application": step.application, "own": own, "posted": request.method == "POST"},
                  status=200 if own else status)


def _review_context(step):
    application = step.application
    # The version reviewed, the steps (read once: the history, and the step whose decider last
    # saw it), the letter and what the flags need, in one round trip.
    version, steps, letter, flags, placement, returns_max = review_reads(step)
    # Returns for correction so far (the competent authority's and the state administrators'):
    # once none is left the decision offers only approval and rejection.
    returns_made = sum(1 for s in steps if s.decision == Decision.RETURN)
    return {
        "returns_made": returns_made,
        "returns_left": workflow.returns_left(returns_made, returns_max),
        "returns_max": returns_max,
        "application": application,
        "step": step,
        "summary": application_summary(application, data=version.data if version else None),
        "letter": letter,
        "changes": changes_since_last_seen(step, steps=steps),
        "history": [s for s in steps if s.pk != step.pk],
        "flags": flags,
        "people": people_of(application),
        "placement": placement,
    }


def _no_link_page(request, *, kept=False):
    return render(request, "onboarding/review/link_missing.html", {"kept": kept}, status=404)


def _keep_decision(request, step_id, *, why=None) -> bool:
    """Keep the decision and remarks posted for ``step_id`` (the session holds no link for
    it, or its link expired or was replaced: it ended while they were typed; or ``why``,
    KEPT_AFTER_WAIT: the rate limit refused them) for its page, opened again: the last
    ones only, and not more than any form of the portal (the person retypes them).
    Returns whether they were kept."""
    request.session.pop(SESSION_KEPT, None)
    encoded = pending.encode((name, [request.POST[name]]) for name in KEPT_FIELDS
                              if request.POST.get(name, "").strip())
    if not encoded:  # nothing typed, or more than any form holds
        return False
    request.session[SESSION_KEPT] = {"step": str(step_id), "input": encoded, **({"why": why} if why else {})}
    return True


def _kept_decision(request, step):
    """(the decision and remarks kept for ``step``, as pending.encode kept them; why they were kept, or ""),
    taken from the session for good (shown once, even if the page then fails); or None."""
    kept = request.session.get(SESSION_KEPT)
    if not isinstance(kept, dict) or kept.get("step") != str(step.pk) or not pending.is_kept_input(kept.get("input")):
        return None
    del request.session[SESSION_KEPT]
    request.session.save()
    return kept["input"], kept.get("why") or ""


def _session_link(request, step_id=None, *, keep=False):
    """(token row, None) for the valid link this browser opened (for the step ``step_id``
    when given, else the last one), else (None, the page to answer with). ``keep``: a
    decision posted for ``step_id`` when the session holds no link for it, or one that
    expired or was replaced while the step waits, is kept for that step's page
    (``_keep_decision``), and the page says so."""
    if step_id is None:
        digest = request.session.get(SESSION_LINK)
    else:
        digest = (request.session.get(SESSION_LINKS) or {}).get(str(step_id))
    if rate_limited(request, digest=digest):
        kept = keep and step_id is not None and _keep_decision(request, step_id, why=KEPT_AFTER_WAIT)
        return None, _too_many_requests(request, kept=kept)
    if not digest:
        return None, _no_link_page(request, kept=keep and step_id is not None and _keep_decision(request, step_id))
    row = token_lookup_digest(digest)
    state = link_state(row)
    if state != LinkState.VALID:
        return None, _link_page(request, state, row, keep=keep)
    return row, None


@rule("token")
@never_cache
@_keep_token_on_site
@require_http_methods(["GET", "POST"])
@opens_in_linked_language  # the link of the mail's Marathi or Hindi half
def review_link(request, token):
    """The link from the email, its token in the path. A valid link is kept in the
    session (its hash) and the browser sent on to the same page without the token,
    so the token leaves the address bar, the history and every later request's log
    line and Referer. A link that no longer works shows why, here. A form posted
    straight to the link (a page opened before links moved to the session) decides."""
    # The client's address first, before anything is looked up; the link once the token is found to be one
    # (a token that names none is counted as no link: it would leave a counter of its own).
    limited = rate_limited(request)
    row = None if limited else token_lookup(token)
    if limited or (row is not None and link_rate_limited(row.token_hash)):
        # A decision posted to the link is kept for the step its page names.
        step_id = _named_step(request, request.POST) if request.method == "POST" else None
        kept = step_id not in (None, False) and _keep_decision(request, step_id, why=KEPT_AFTER_WAIT)
        return _too_many_requests(request, kept=kept)
    state = link_state(row)
    if state != LinkState.VALID:
        return _link_page(request, state, row, keep=request.method == "POST")
    # The session the link is kept in is a new one (its key), as signing in makes: a session
    # key planted in the browser beforehand (a cookie set from a neighbouring host) must not
    # come to hold the link.
    request.session.cycle_key()
    request.session[SESSION_LINK] = row.token_hash
    links = {step: digest for step, digest in (request.session.get(SESSION_LINKS) or {}).items()
             if step != str(row.step_id)}
    links[str(row.step_id)] = row.token_hash  # the newest last; the oldest forgotten first
    request.session[SESSION_LINKS] = dict(list(links.items())[-SESSION_LINKS_KEPT:])
    request.session.pop(SESSION_DECIDED, None)
    if request.method == "POST":
        return _review_page(request, row)
    # The page of this link's step (``?step=``), which a reload or the language switch opens
    # again, whatever link is opened later in another tab.
    response = redirect(_review_of_the_form(request, row.step_id))
    response["Referrer-Policy"] = "no-referrer"
    return response


@rule("token")
@never_cache
@_keep_token_on_site
@require_http_methods(["GET", "POST"])
def review(request):
    """The page of the link for ``?step=`` (else of the last link opened); a decision is
    for the step its form names, so that a page of another link, in another tab,
    decides on its own application and not on the last one opened."""
    step_id = _named_step(request, request.POST if request.method == "POST" else request.GET)
    if step_id is False:
        return _no_link_page(request)
    row, refusal = _session_link(request, step_id, keep=request.method == "POST")
    if refusal:
        return refusal
    return _review_page(request, row)


def _named_step(request, data):
    """The step id ``data`` names; None when it names none and that is not a decision, or
    is one from a page made before pages named their step while this browser opened only
    one link; False when which application is meant cannot be told."""
    value = data.get("step", "")
    if value.isascii() and value.isdigit() and len(value) <= 18:
        return int(value)
    if not value and (request.method != "POST" or len(request.session.get(SESSION_LINKS) or {}) <= 1):
        return None
    return False


def _review_page(request, row):
    step = row.step
    kept = _kept_decision(request, step) if request.method == "GET" else None
    if kept is None:
        form = DecisionForm(request.POST if request.method == "POST" else None, stage=Stage.AUTHORITY)
    else:  # shown as initial values, with the person told (``AccessibleForm``); restored: not the blank form
        encoded, why = kept
        if why == KEPT_AFTER_WAIT:
            messages.info(request, _("We kept what you typed when you were asked to wait: check it and send it again."))
        with pending.shown(request, encoded, said=why == KEPT_AFTER_WAIT):
            form = DecisionForm(stage=Stage.AUTHORITY)
    if request.method == "POST" and form.is_valid():
        try:
            services.step_decide(step_id=step.pk, decision=form.cleaned_data["decision"],
                                  remarks=form.cleaned_data["remarks"], token_digest=row.token_hash, request=request)
        except services.StepAlreadyDecided as exc:
            return _already_decided(request, exc.step)
        except services.LinkNotValid as exc:  # it ended since the page checked it
            return _link_page(request, exc.state, exc.token or row, keep=True)
        except workflow.InvalidTransition:
            step.refresh_from_db()
            return _already_decided(request, step)
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            request.session[SESSION_DECIDED] = row.token_hash
            return redirect("onboarding:review_done")
    context = {**_review_context(step), "form": form, "review_step": step}
    form.offer_return(context["returns_left"] > 0)
    return render(request, "onboarding/review/review.html", context)


@rule("token")
@never_cache
@_keep_token_on_site
@require_http_methods(["GET"])
def review_done(request):
    """The confirmation, for the browser that decided (only there does it say what was decided)."""
    digest = request.session.get(SESSION_DECIDED)
    if rate_limited(request, digest=digest or request.session.get(SESSION_LINK)):
        return _too_many_requests(request)
    row = token_lookup_digest(digest)
    if row is None or not row.used_at:
        return redirect("onboarding:review") if request.session.get(SESSION_LINK) else _no_link_page(request)
    step = row.step
    context = {"step": step, "application": step.application}
    return render(request, "onboarding/review/done.html", context)


@rule("token")
@never_cache
@_keep_token_on_site
@require_http_methods(["GET"])
def review_letter(request, step_id=None):
    row, refusal = _session_link(request, step_id)
    if refusal:
        return refusal
    application = row.step.application
    attachment = current_letter(application)
    if attachment is None:
        raise Http404
    return stored_file_response(attachment.file, owner=attachment, content_type=attachment.content_type,
                                filename=letter_filename(application, attachment.content_type))


def _review_of_the_form(request, step_id=None) -> str:
    """The review page the form's link is on (of the step ``step_id`` when named)."""
    return reverse("onboarding:review") + (f"?step={step_id}" if step_id is not None else "")


@rule("token")
@never_cache
@_keep_token_on_site
@require_http_methods(["GET"])
@asked_on_this_site(_review_of_the_form)
def review_pdf(request, step_id=None):
    row, refusal = _session_link(request, step_id)
    if refusal:
        return refusal
    application = row.step.application
    language = pdf.requested_language(application, request.GET.get("language"))
    if language is None:
        raise Http404
    try:
        document = pdf.application_form_pdf(application=application, actor=None, language=language, request=request,
                                            authority_email=row.email)
    except pdf.PdfNotStored as exc:  # the storage could not keep it: the authority has it all the same
        return content_response(exc.content, content_type="application/pdf",
                                filename=pdf.form_pdf_filename(application, language))
    except pdf.PdfNotRendered as exc:  # said on the review page, where the link was
        messages.error(request, pdf.refusal_message(exc.reason))
        return redirect(f"{reverse('onboarding:review')}?step={row.step_id}")
    filename = pdf.form_pdf_filename(application, language)
    if isinstance(document, bytes):  # changed while it rendered: the PDF asked for, stored nowhere
        return content_response(document, content_type="application/pdf", filename=filename)
    return stored_file_response(document.file, owner=document, content_type="application/pdf", filename=filename)


# State and central administrators ------------------------------------------------------

# What differs between the state administrators' and the superadmins' decision pages.
DECISION_PAGES = {
    Stage.STATE: ("onboarding/queue_step.html", "onboarding:queue", gettext_lazy("Your decision on %(ref)s was recorded.")),
    Stage.APPEAL: ("onboarding/appeal_step.html", "onboarding:appeals",
                   gettext_lazy("Your decision on the appeal of %(ref)s was recorded.")),
}


def _queue_page(request, queryset):
    return Paginator(queryset, QUEUE_PAGE_SIZE).get_page(request.GET.get("page"))


def _place(page) -> str:
    """The page ``page`` of a queue, as its rows' links carry it to the decision page and
    back (list_place: the queues have no filter)."""
    return urlencode(list_place({}, page=page))


@rule("state_admin")
@require_http_methods(["GET"])
def queue(request):
    if auditor_reads_only(request.user):
        return render(request, "onboarding/queue.html", {"reads_only": True})
    now = timezone.now()
    page, escalated = state_queue(request.user, number=request.GET.get("page"), per_page=QUEUE_PAGE_SIZE, now=now)
    return render(request, "onboarding/queue.html", {"page": page, "escalated": escalated, "now": now,
                                                     "place": _place(page)})


def _decision_page(request, step):
    """A signed-in administrator's decision on a step (state stage or appeal). Opened from
    a page of its queue, it comes with it (list_place): it posts with it, and leads back to
    that page, as its way back to the queue does."""
    sent = request.POST.get("decision", "") if request.method == "POST" else None
    if step.decision:
        return _already_decided(request, step, status=409 if request.method == "POST" else 200, sent=sent)
    template, queue_name, success_message = DECISION_PAGES[step.stage]
    back = place_url(reverse(queue_name), list_place(request.GET))
    form = DecisionForm(request.POST if request.method == "POST" else None, stage=step.stage)
    if request.method == "POST" and form.is_valid():
        try:
            services.step_decide(step_id=step.pk, decision=form.cleaned_data["decision"], remarks=form.cleaned_data["remarks"],
                                  actor=request.user, request=request, stage=step.stage)
        except services.StepAlreadyDecided as exc:
            return _already_decided(request, exc.step, sent=sent)
        except workflow.InvalidTransition:
            step.refresh_from_db()
            return _already_decided(request, step, sent=sent)
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, success_message % {"ref": step.application.reference})
            return redirect(back)
    # The administrators (not the officer, nor the authority) see which other
    # applications look like this one.
    duplicates = application_services.duplicate_warnings(step.application, details=True)
    context = _review_context(step)
    form.offer_return(context["returns_left"] > 0)
    # Said when the page opens, in place of a decision they would be refused at: a superadmin who may not decide
    # this appeal. A decision sent all the same (from a page opened before) is refused at its field, as typed.
    refused = (services.appeal_refused_why(step=step, actor=request.user)
               if step.stage == Stage.APPEAL and request.method == "GET" else "")
    return render(request, template, {**context, "form": form, "duplicates": duplicates, "back": back,
                                      "refused": refused})


@rule("state_admin")
@require_http_methods(["GET", "POST"])
def queue_step(request, pk):
    if auditor_reads_only(request.user):
        # Said, not a 404: a mail sent before the auditor's role was granted leads here.
        return render(request, "onboarding/decides_nothing.html", status=403)
    return _decision_page(request, state_step_for(request.user, pk))


# Appeals ---------------------------------------------------------------------------------

def _appeal_lodged(application) -> bool:
    """Whether ``application`` is under appeal: the one appeal it may have was lodged, by its
    nodal officer (the only one who may lodge it: application_appeal)."""
    return application.status == ApplicationStatus.UNDER_APPEAL


def _appeal_lodged_already(request, application):
    """An officer's appeal sent again once lodged is no refusal: they are told it was lodged;
    sent with other grounds (a second page's confirmation), also that those were not added."""
    sent = multi_line(request.POST.get("grounds", "")).strip()
    lodged = (application.steps.filter(stage=Stage.APPEAL).order_by("-opened_at", "-id")
              .values_list("grounds", flat=True).first())
    if sent and lodged is not None and sent != lodged.strip():
        messages.warning(request, _(
            "You lodged this appeal already, from another page, with other grounds: the superadmins read those. The "
            "grounds you sent now were not added, as an appeal's grounds cannot be changed once lodged."))
    else:
        messages.info(request, _("You lodged this appeal already: the superadmins will decide on it."))
    return redirect("onboarding:detail", pk=application.pk)


@rule("nodal_officer_of_application")
@require_http_methods(["GET", "POST"])
def appeal(request, pk):
    application = application_for_officer(request.user, pk)
    rejection = last_rejection(application)
    deadline = services.appeal_until(rejection.decided_at) if rejection else None
    may_appeal = (
        workflow.allowed(application.status, workflow.Event.APPEAL) and deadline is not None and timezone.now() <= deadline
    )
    # An officer whose account may no longer act (their address stopped being official...)
    # is told why instead of being offered the form, as application_appeal refuses them.
    problem = officer_eligibility(request.user, in_service=True) if may_appeal else None
    can_appeal = may_appeal and not problem
    form = AppealForm(request.POST if request.method == "POST" and can_appeal else None)
    shown = shown_on_page(request, services.appeal_shown(application)) if can_appeal else None
    # Given to another organisation since: no superadmin could overturn the rejection. Said before the one appeal.
    code_lost = short_code_lost(application) if can_appeal else ""
    # The form names another address for the nodal officer (handed over, or their address changed): the same.
    officer_moved = officer_address_moved(application) if can_appeal else None
    step = request.POST.get("step")
    if request.method == "POST" and can_appeal and form.is_valid() and step not in ("save", "edit"):
        # Nothing is lodged yet: the confirmation shows the grounds with what lodging them does.
        return render(request, "onboarding/appeal_confirm.html", {
            "application": application, "form": form, "deadline": deadline, "rejection": rejection,
            "shown_values": shown, "code_lost": code_lost, "officer_moved": officer_moved})
    if request.method == "POST" and can_appeal and form.is_valid() and step == "save":
        try:
            services.application_appeal(application_id=application.pk, grounds=form.cleaned_data["grounds"],
                                         actor=request.user, request=request, shown=shown_sent(request.POST))
        except OfficerNotEligible as exc:  # since this page checked
            problem, can_appeal = " ".join(exc.messages), False
        except services.AppealWindowClosed:
            messages.error(request, _("The period for appealing against this rejection has ended."))
            return redirect("onboarding:detail", pk=pk)
        except workflow.InvalidTransition:
            application.refresh_from_db(fields=["status"])
            if _appeal_lodged(application):  # the same appeal, sent twice at once: lodged by the first
                return _appeal_lodged_already(request, application)
            messages.info(request, _("This application cannot be appealed now."))
            return redirect("onboarding:detail", pk=pk)
        except ChangedMeanwhile:  # the form again, the grounds kept, with the application as it is now
            rejection = last_rejection(application)
            deadline = services.appeal_until(rejection.decided_at) if rejection else None
            shown, code_lost = services.appeal_shown(application), short_code_lost(application)
            officer_moved = officer_address_moved(application)
            form.add_error(None, ValidationError(_(
                "Nothing was lodged: the rejection or the appeal period changed since your confirmation page was "
                "opened. Check them and your grounds, then continue to lodge the appeal."), code="changed_meanwhile"))
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, _("Your appeal was lodged. The superadmins will decide on it."))
            return redirect("onboarding:detail", pk=pk)
    elif request.method == "POST" and _appeal_lodged(application):  # sent again once lodged (Back, a double click)
        return _appeal_lodged_already(request, application)
    # An appeal lodged (waiting, or decided) is said as such, not as a period that ended.
    appeal_step = (None if may_appeal or rejection is None else
                   application.steps.filter(stage=Stage.APPEAL, opened_at__gt=rejection.decided_at)
                   .exclude(decision=Decision.CANCELLED).order_by("-opened_at", "-id").first())
    return render(request, "onboarding/appeal.html", {
        "application": application, "form": form, "can_appeal": can_appeal, "deadline": deadline, "rejection": rejection,
        "problem": problem, "appeal_step": appeal_step, "shown_values": shown, "code_lost": code_lost,
        "officer_moved": officer_moved,
    })


@rule("superadmin")
@require_http_methods(["GET"])
def appeals(request):
    page = _queue_page(request, appeal_queue(request.user))
    return render(request, "onboarding/appeals.html", {"page": page, "now": timezone.now(), "place": _place(page)})


@rule("superadmin")
@require_http_methods(["GET", "POST"])
def appeal_step(request, pk):
    return _decision_page(request, appeal_step_for(request.user, pk))


# The nodal officer -------------------------------------------------------------------------

@rule("nodal_officer_of_application", return_to="onboarding:detail")
@require_http_methods(["POST"])
def resend_link(request, pk):
    application = application_for_officer(request.user, pk)
    try:
        step = services.step_resend_authority_link(application_id=application.pk, actor=request.user, request=request)
    except workflow.InvalidTransition:
        messages.info(request, _("The application is not waiting for the competent authority."))
    except OfficerNotEligible as exc:
        messages.error(request, _("You can no longer change, submit or send links for this application.") + " "
                       + " ".join(exc.messages))
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("A new link was sent to %(email)s.") % {"email": step.assignee_email})
    return redirect("onboarding:detail", pk=pk)


@rule("viewer_of_application")
@require_http_methods(["GET"])
@asked_on_this_site("onboarding:detail")
def approval_letter(request, pk):
    application = application_for_viewer(request.user, pk)
    language = pdf.requested_language(application, request.GET.get("language"))
    if language is None:
        raise Http404
    if not ApplicationDocument.objects.filter(application=application, kind=DocumentKind.APPROVAL_LETTER).exists():
        raise Http404
    try:
        document = letters.approval_letter_document(application=application, language=language, actor=request.user,
                                                    request=request)
    except pdf.PdfNotRendered as exc:  # being rendered, over its limits, or the person's renders this hour
        messages.error(request, pdf.refusal_message(exc.reason, until=exc.until))
        return redirect("onboarding:detail", pk=pk)  # where the letter's link is
    except letters.LetterNotStored:  # the storage could not take it: said there too
        messages.error(request, _("The approval letter could not be prepared just now, through no fault of the "
                                  "application. Try again later."))
        return redirect("onboarding:detail", pk=pk)
    if document is None:
        raise Http404
    return stored_file_response(document.file, owner=document, content_type="application/pdf",
                                filename=letters.approval_letter_filename(application, language))
