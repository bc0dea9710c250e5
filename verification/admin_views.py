"""Pages of an organisation's admins (of it or of an organisation above it) and of
superadmins: the queue of requests, deciding one or several, the members, suspending,
reinstating and revoking, and automatic verification. Everything is fetched through
selectors scoped to the viewer: another organisation's requests are 404."""

from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_http_methods

from portal.access import peek_pending_input, rule
from portal.audit.models import AuditAction, AuditEvent
from portal.ids import row_id
from portal.list_places import list_place, place_url
from portal.organisations.status_selectors import domains_no_longer_its
from portal.paging import CountedUpTo
from portal.shown import ChangedMeanwhile, shown_sent
from verification import services
from verification.forms import (
    AutoVerificationForm,
    BulkDecisionForm,
    DecisionForm,
    EndForm,
    MembersFilterForm,
    QueueChoiceForm,
    QueueFilterForm,
    ReinstateForm,
)
from verification.models import VerificationStatus
from verification.selectors import (
    admin_roles_ending_with,
    auto_verification_of,
    join_queue,
    mark_official_domain,
    mark_seen,
    members_of,
    organisation_for_admin,
    profile_for_admin,
    profiles_for_admin,
    with_roles_verifying_ends,
)

PAGE_SIZE = 50
# The members pages count at most this many members (200 pages): past them the page says
# there are more, and a search finds the others. Counting them all read every member of a
# large organisation (a roster holds up to 100,000 rows) at every page.
MEMBERS_COUNT_MAX = 10_000


def _gone_why(profile, user) -> str:
    """Why a chosen request no longer waits: withdrawn by the person, decided by ``user``
    (this decision sent again), or decided by someone else."""
    if profile.is_withdrawn:
        return "withdrawn"
    return "decided_by_you" if profile.decided_by_id == user.pk else "status_changed"


# The status a decision of the profile page leaves a request in.
DECIDED_AS = {services.JoinDecision.VERIFY: VerificationStatus.VERIFIED,
              services.JoinDecision.REJECT: VerificationStatus.REJECTED}


def _no_longer_waiting(profile, user, sent) -> str:
    """What the request's page says of a decision ``sent`` on a request that no longer
    waits: the person withdrew it, ``user`` decided it so already (their decision sent
    again: Back and send again, a double click), or someone decided it meanwhile."""
    why = _gone_why(profile, user)
    if why == "withdrawn":
        return _("This request was withdrawn by the person meanwhile: see its history below.")
    if why == "decided_by_you" and DECIDED_AS.get(sent) == profile.status:
        return _("You already recorded this decision: see its history below.")
    if why == "decided_by_you":
        return _("You already decided this request: see its history below. This decision was not recorded.")
    return _("This request was decided meanwhile: see its history below.")


def _skipped_message(code, n):
    """Why ``n`` of the chosen requests were left as they were."""
    if code == "withdrawn":
        text = ngettext("%(n)s request was withdrawn by the person meanwhile and was left as it is.",
                        "%(n)s requests were withdrawn by the people meanwhile and were left as they are.", n)
    elif code == "status_changed":
        text = ngettext("%(n)s request was decided by someone else meanwhile and was left as it is.",
                        "%(n)s requests were decided by someone else meanwhile and were left as they are.", n)
    elif code == "verified_in_another_chosen":
        text = ngettext("%(n)s request ended: its person was verified by another of the requests chosen, and a "
                        "person is verified in one organisation at a time.",
                        "%(n)s requests ended: their people were verified by others of the requests chosen, and a "
                        "person is verified in one organisation at a time.", n)
    elif code == "name_changed":
        text = ngettext("%(n)s request was left: the person changed their name meanwhile. Open it to check the name "
                        "shown now.",
                        "%(n)s requests were left: the people changed their names meanwhile. Open each to check the "
                        "name shown now.", n)
    elif code == "decided_by_you":
        text = ngettext("%(n)s request was already decided by you and was left as it is.",
                        "%(n)s requests were already decided by you and were left as they are.", n)
    elif code == "own":
        text = ngettext("%(n)s request is your own and was left: another administrator decides it.",
                        "%(n)s requests are your own and were left: another administrator decides them.", n)
    else:
        text = ngettext("%(n)s request could not be decided: open it to see why.",
                        "%(n)s requests could not be decided: open each to see why.", n)
    return text % {"n": n}


def _queue_url(kept) -> str:
    """The queue a decision leads back to: the waiting requests, of the organisation and
    page of ``kept`` (what _queue_query kept of the queue's query) when it has them."""
    return f"{reverse('verification:queue')}?{urlencode({'status': VerificationStatus.PENDING, **kept})}"


def _queue_query(params) -> dict:
    """What of the queue's query ``params`` (an address's) a decision carries through its
    confirmation and back to the queue: the status, the organisation and the page, each
    only as the queue takes it (a status it knows, ids a row can have), nothing else."""
    return list_place(params, QueueFilterForm(params))


def _members_place(params, *, page=None) -> dict:
    """What of the members list's query ``params`` its rows' actions (suspend, reinstate,
    revoke) carry through their pages and back to the list (list_place): the search, the
    "verified only" box and the page (``page``'s, the page shown, when given)."""
    return list_place(params, MembersFilterForm(params), page=page)


@rule("organisation_admin")
@require_http_methods(["GET"])
def queue(request):
    """Requests of the organisations the viewer administers, oldest first, in one status;
    or, once, the confirmation of a decision on requests chosen here that could not be
    sent (the session ended, or the page was older than the sign-in): what was chosen and
    typed, to be sent again."""
    confirmation = _kept_confirmation(request)
    if confirmation is not None:
        return confirmation
    return _queue_page(request)


def _queue_page(request, *, choice=None):
    """The queue as the address's query asks (status, organisation, page); ``choice``: the
    requests ticked for a decision, refused (none of them waits), shown on the page where
    focus lands (the error summary)."""
    filters = QueueFilterForm(request.GET)
    filters.is_valid()
    status = filters.cleaned_data.get("status") or VerificationStatus.PENDING
    organisation = None
    if filters.cleaned_data.get("organisation"):
        organisation = organisation_for_admin(request.user, filters.cleaned_data["organisation"])
    page = Paginator(join_queue(request.user, status=status, organisation_id=organisation and organisation.pk),
                     PAGE_SIZE).get_page(request.GET.get("page"))
    mark_seen(mark_official_domain(page.object_list))
    pending = status == VerificationStatus.PENDING
    if choice is not None:
        choice.refuse_nothing_chosen(f"choose-{page.object_list[0].pk}" if pending and page.object_list else "main")
    query = {"status": status, **({"organisation": organisation.pk} if organisation else {})}
    return render(request, "verification/queue.html", {
        "page": page, "status": VerificationStatus(status), "statuses": VerificationStatus.choices,
        "organisation": organisation, "query": urlencode(query), "pending": pending, "choice": choice or QueueChoiceForm(),
        # The decision is sent with the page's query: refused, the same page of the queue comes back.
        "decide_query": urlencode({**query, **({"page": page.number} if page.number > 1 else {})}),
    })


def _chosen_ids(data):
    """The profiles ticked in the queue (``data``: what was posted), as ids; anything no
    row's id can be is left out."""
    return [number for value in data.getlist("profile")[:PAGE_SIZE] if (number := row_id(value)) is not None]


def _kept_confirmation(request):
    """The confirmation page of a decision on requests chosen in the queue, kept over a
    sign-in (``portal.access``): the requests chosen that still wait, and the decision and
    reason typed (the box to confirm not ticked); None when nothing of the kind was kept,
    or none of those requests waits any more (the queue then says what was typed was not
    shown). Those chosen that no longer wait are said, either way."""
    kept = peek_pending_input(request)
    if kept is None or not kept.getlist("profile"):
        return None
    chosen = profiles_for_admin(request.user, _chosen_ids(kept))
    profiles = [profile for profile in chosen if profile.is_pending]
    _say_skipped(request, [_gone_why(profile, request.user) for profile in chosen if not profile.is_pending])
    if not profiles:
        return None
    form = BulkDecisionForm()  # shows what was kept, and says so
    return render(request, "verification/queue_confirm.html",
                  {"form": form, "profiles": profiles, "decide_query": urlencode(_queue_query(request.GET))})


@rule("organisation_admin", return_to="verification:queue")
@require_http_methods(["GET", "POST"])
def queue_decide(request):
    """The requests chosen in the queue: first a page to confirm the decision (and give a
    reason to reject), then the decision on each. Those chosen that no longer wait (decided
    or withdrawn since, or by this decision sent again) are said on the next page, and
    left; when none still waits, the queue of the form's query (it comes with the post)
    says so. None chosen: that queue again, saying so where focus lands. The address
    loaded again (the header's language switch does, on the answer to a post): the queue
    of its query; on the confirmation, whose switch sends it back with the requests chosen
    and the decision (_confirmation_address), that confirmation again, what was typed in it
    put back by the page's script. The confirmation posts with the queue's query
    (_queue_query), and the decision leads back to that queue."""
    kept = _queue_query(request.GET)
    query = urlencode(kept)
    back = reverse("verification:queue") + (f"?{query}" if query else "")
    chosen_in = request.POST if request.method == "POST" else request.GET
    if request.method == "GET" and not chosen_in.getlist("profile"):
        return redirect(back)
    chosen = profiles_for_admin(request.user, _chosen_ids(chosen_in))
    profiles = [profile for profile in chosen if profile.is_pending]
    # Back here (from the confirmation) by a change of language: the same page.
    carried = {"decide_query": query, "language_next": _confirmation_address(kept, profiles, chosen_in.get("decision"))}
    # Chosen, but no longer waiting: decided or withdrawn since the page was shown, or
    # by this very decision sent again (the back button, "Resend"). Said, not dropped.
    gone = [_gone_why(profile, request.user) for profile in chosen if not profile.is_pending]
    if not profiles and (gone or request.method == "GET"):
        _say_skipped(request, gone)
        return redirect(back)
    if not profiles:
        return _queue_page(request, choice=QueueChoiceForm(request.POST))
    if request.method == "GET" or request.POST.get("step") != "confirm":
        _say_skipped(request, gone)
        form = BulkDecisionForm(initial={"decision": chosen_in.get("decision")})
        return render(request, "verification/queue_confirm.html", {"form": form, "profiles": profiles, **carried})
    form = BulkDecisionForm(request.POST)
    if not form.is_valid():  # shown again with those still waiting: those left are said now
        _say_skipped(request, gone)
        return render(request, "verification/queue_confirm.html", {"form": form, "profiles": profiles, **carried})
    try:
        outcome = services.join_requests_decide(
            profile_ids=[profile.pk for profile in profiles], decision=form.cleaned_data["decision"],
            reason=form.cleaned_data["reason"], actor=request.user, request=request,
            names={profile.pk: request.POST.get(f"shown_name_{profile.pk}") for profile in profiles},
        )
    except ValidationError as exc:  # refused before any is decided: said on the page, as typed
        form.add_error(None, exc)
        return render(request, "verification/queue_confirm.html", {"form": form, "profiles": profiles, **carried})
    if outcome.decided:
        done = (ngettext("%(n)s person was verified.", "%(n)s people were verified.", len(outcome.decided))
                if form.cleaned_data["decision"] == services.JoinDecision.VERIFY
                else ngettext("%(n)s request was rejected.", "%(n)s requests were rejected.", len(outcome.decided)))
        messages.success(request, done % {"n": len(outcome.decided)})
    _say_skipped(request, gone + [code for _pk, code in outcome.skipped])
    return redirect(_queue_url(kept))


def _confirmation_address(kept, profiles, decision) -> str:
    """The address of the confirmation of a decision on ``profiles`` (those still waiting of
    those chosen) in the queue of ``kept`` (_queue_query), ``decision`` (as the queue's button
    sent it, a known one) preset: where the header's language switch leads from it. Only
    ids and a decision's name: nothing typed goes in an address."""
    query = {**kept, "profile": [profile.pk for profile in profiles]}
    if decision in services.JoinDecision.ALL:
        query["decision"] = decision
    return f"{reverse('verification:queue_decide')}?{urlencode(query, doseq=True)}"


def _say_skipped(request, codes):
    """Tell the administrator how many of the requests they chose were left, and why (``codes``: one per request)."""
    for code in sorted(set(codes)):
        messages.warning(request, _skipped_message(code, codes.count(code)))


def _history(profile):
    """What happened to the profile, oldest first, from the audit log (one query); a deadline
    to confirm the official address that moved on comes with the new date (``new_deadline``)."""
    events = list(
        AuditEvent.objects.filter(target_type="verification.governmentprofile", target_id=str(profile.pk))
        .only("created_at", "action", "actor_id", "actor_email", "actor_role", "new_values")
        .order_by("id")
    )
    for event in events:
        if event.action == AuditAction.VERIFICATION_CONFIRMATION_RESUMED:
            event.new_deadline = parse_datetime(str((event.new_values or {}).get("deadline") or ""))
    return events


@rule("administrator_of_organisation")
@require_http_methods(["GET", "POST"])
def profile_detail(request, pk):
    """A request or a profile, its history, and the decision on a waiting request. Opened
    from the queue, it comes with the queue's query (_queue_query): its decision posts with
    it and leads back to that queue, as its "Back to the queue" does."""
    profile = profile_for_admin(request.user, pk)
    kept = _queue_query(request.GET)
    query = urlencode(kept)
    own = services.is_own(request.user, profile)
    form = None
    if profile.is_pending and not own:
        # Verifying ends a verification held elsewhere, and the admin roles named on the page
        # (roles_ending), for good: the box to confirm it is ticked first.
        with_roles_verifying_ends([profile])
        form = DecisionForm(request.POST if request.method == "POST" else None,
                            moving=bool(profile.held_elsewhere or profile.roles_ending))
        if request.method == "POST" and form.is_valid():
            try:
                services.join_request_decide(profile_id=profile.pk, decision=form.cleaned_data["decision"],
                                             reason=form.cleaned_data["reason"], actor=request.user, request=request,
                                             name=request.POST.get("shown_name"))  # the name the page showed
            except services.StatusChanged as exc:
                messages.info(request, _no_longer_waiting(exc.profile, request.user, request.POST.get("decision")))
                return redirect(reverse("verification:profile", args=[pk]) + (f"?{query}" if query else ""))
            except ValidationError as exc:
                form.add_error(None, exc)
            else:
                messages.success(request, _("Your decision was recorded and the person was told by email."))
                return redirect(_queue_url(kept))
    elif request.method == "POST":
        messages.info(request, _no_longer_waiting(profile, request.user, request.POST.get("decision")) if not own
                      else _("You cannot decide on your own verification: another administrator does."))
        return redirect(reverse("verification:profile", args=[pk]) + (f"?{query}" if query else ""))
    return render(request, "verification/profile.html",
                  {"profile": profile, "form": form, "own": own, "history": _history(profile), "queue_query": query})


@rule("administrator_of_organisation")
@require_http_methods(["GET"])
def members(request, pk):
    organisation = organisation_for_admin(request.user, pk)
    filters = MembersFilterForm(request.GET)
    # A search the field refuses (too short, over its limit) is said there, and lists
    # nobody: not everyone, as if they all matched it.
    refused = not filters.is_valid()
    query, verified_only = filters.cleaned_data.get("q", ""), filters.cleaned_data.get("verified_only", False)
    off_domain = filters.cleaned_data.get("off_domain", False)
    truncated_at = 0
    if refused:
        page = Paginator([], PAGE_SIZE).get_page(1)
    else:
        members = members_of(organisation, viewer=request.user, query=query, verified_only=verified_only,
                             off_domains=domains_no_longer_its(organisation) if off_domain else None)
        truncated_at = members.truncated_at
        page = CountedUpTo(members, PAGE_SIZE, MEMBERS_COUNT_MAX).get_page(request.GET.get("page"))
    page.object_list = mark_seen(page.object_list)  # (read once: the template lists them)
    kept = urlencode({key: value for key, value in (("q", query), ("verified_only", "on" if verified_only else ""),
                                                    ("off_domain", "on" if off_domain else "")) if value})
    return render(request, "verification/members.html", {
        "organisation": organisation, "page": page, "query": kept, "filters": filters,
        "filtered": bool(query or verified_only or off_domain or refused), "refused": refused,
        "search_truncated_at": truncated_at,
        # The rows' actions come back to this page of this list.
        "place": urlencode(_members_place(request.GET, page=page)),
    })


# Suspending, reinstating, revoking -------------------------------------------------------------

# The field a suspend, revoke or reinstate page sends the verification's decision back in, as
# it showed it (services.decision_shown); "shown_values" holds the admin roles it ends.
DECISION_SHOWN = "shown_decision"

ACTIONS = {
    "suspend": {
        "allowed": {VerificationStatus.VERIFIED},
        "title": gettext_lazy("Suspend the verification"),
        "confirm": gettext_lazy("Yes, suspend this verification"),
        "done": gettext_lazy("The verification was suspended and the person was told by email."),
    },
    "revoke": {
        "allowed": {VerificationStatus.VERIFIED, VerificationStatus.SUSPENDED},
        "title": gettext_lazy("Revoke the verification"),
        "confirm": gettext_lazy("Yes, revoke this verification: this cannot be undone"),
        "done": gettext_lazy("The verification was revoked and the person was told by email."),
    },
    "reinstate": {
        "allowed": {VerificationStatus.SUSPENDED},
        "title": gettext_lazy("Reinstate the verification"),
        "done": gettext_lazy("The suspension was lifted and the person was told by email."),
    },
}


def _act(request, pk, action):
    """The confirmation of ``action`` on a member, then the action. Opened from the
    members list, it comes with the list's place (_members_place): it posts with it, and
    leads back to that page of that list, as its Back and Cancel links do."""
    profile = profile_for_admin(request.user, pk)
    spec = ACTIONS[action]
    members = place_url(reverse("verification:members", args=[profile.organisation_id]), _members_place(request.GET))
    back = redirect(members)
    if profile.status not in spec["allowed"]:
        messages.info(request, _("This verification is no longer in a state that allows this."))
        return back
    if services.is_own(request.user, profile):
        messages.error(request, _("You cannot decide on your own verification: another administrator does."))
        return back
    data = request.POST if request.method == "POST" else None
    form = ReinstateForm(data) if action == "reinstate" else EndForm(data, confirm_label=spec["confirm"])
    waiting_request = None  # a request of the person waiting in the organisation, which the refusal links to
    if data is not None and form.is_valid():
        try:
            decision = shown_sent(request.POST, DECISION_SHOWN)
            if action == "reinstate":
                services.profile_reinstate(profile_id=profile.pk, reason=form.cleaned_data["reason"], actor=request.user,
                                           request=request, decision=decision)
            else:
                service = services.profile_suspend if action == "suspend" else services.profile_revoke
                service(profile_id=profile.pk, reason_code=form.cleaned_data["reason_code"], reason=form.cleaned_data["reason"],
                        actor=request.user, request=request, shown=shown_sent(request.POST), decision=decision)
        except services.StatusChanged:
            messages.info(request, _("This verification is no longer in a state that allows this."))
            return back
        except PermissionDenied:
            messages.error(request, _("You cannot decide on your own verification: another administrator does."))
            return back
        except services.DecisionChanged:
            form.add_error(None, ValidationError(
                _("Since this page was opened, this verification was changed by someone else or in another tab: "
                  "nothing was done. Read it as it is now, then confirm again."), code="changed_meanwhile"))
        except ChangedMeanwhile:
            form.add_error(None, ValidationError(
                _("Since this page was opened, the admin roles that end with this verification have changed: nothing "
                  "was done. Read what it ends now, then confirm again."), code="changed_meanwhile"))
        except ValidationError as exc:
            # A refusal naming the person names them, and their official address, as this page does.
            form.add_error(None, services.person_named(exc, profile.seen.name or profile.user.email,
                                                       official_email=profile.seen.official_email))
            waiting_request = next((error.params["request"] for error in exc.error_list
                                    if error.code == "request_waiting"), None)
        else:
            messages.success(request, spec["done"])
            return back
    # An admin role resting on the verification ends with it, and is not brought back by
    # reinstating it: the administrator is told which before confirming.
    ending_roles = [] if action == "reinstate" else admin_roles_ending_with(profile)
    # Refused while a role it would end leaves its organisation without an admin (the
    # services' last-admin rule): the page says so and offers nothing that would be refused.
    held_back = any(role.left_without_admin for role in ending_roles)
    return render(request, "verification/profile_action.html",
                  {"profile": profile, "form": form, "action": action, "title": spec["title"],
                   "ending_roles": ending_roles, "held_back": held_back, "waiting_request": waiting_request,
                   "members": members,
                   # Sent back with the decision: refused if the roles it ends are no longer those said here,
                   # or if the verification was decided on since (DECISION_SHOWN).
                   "shown_values": services.ending_roles_shown(ending_roles) if action != "reinstate" else "",
                   "decision_shown": services.decision_shown(profile)})


@rule("administrator_of_organisation")
@require_http_methods(["GET", "POST"])
def profile_suspend(request, pk):
    return _act(request, pk, "suspend")


@rule("administrator_of_organisation")
@require_http_methods(["GET", "POST"])
def profile_revoke(request, pk):
    return _act(request, pk, "revoke")


@rule("administrator_of_organisation")
@require_http_methods(["GET", "POST"])
def profile_reinstate(request, pk):
    return _act(request, pk, "reinstate")


@rule("administrator_of_organisation", return_to="verification:profile")
@require_http_methods(["POST"])
def profile_name_accept(request, pk):
    """Accept the name a verified (or suspended) person gave themselves as the name the
    organisation vouches for: offered on their page to its administrators who see their
    name (the name posted is the one the page showed them)."""
    profile = profile_for_admin(request.user, pk)
    back = redirect("verification:profile", pk=profile.pk)
    if profile.seen.name is None:  # a name kept from this administrator is not theirs to vouch for
        raise Http404
    try:
        services.verified_name_accept(profile_id=profile.pk, name=request.POST.get("name", ""), actor=request.user,
                                      request=request)
    except services.StatusChanged:
        messages.info(request, _("This verification is no longer in a state that allows this."))
    except services.OwnProfile:
        messages.error(request, _("You cannot decide on your own verification: another administrator does."))
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
    else:
        messages.success(request, _("The new name was accepted: it is the name others see of this person now."))
    return back


# Settings ------------------------------------------------------------------------------------

@rule("administrator_of_organisation")
@require_http_methods(["GET", "POST"])
def organisation_settings(request, pk):
    organisation = organisation_for_admin(request.user, pk)
    if request.method == "POST":
        form = AutoVerificationForm(request.POST)
        if form.is_valid():
            enabled = form.cleaned_data["auto_verify_official_domain"]
            services.auto_verification_set(organisation_id=organisation.pk, enabled=enabled, actor=request.user,
                                           request=request)
            messages.success(request, _("Automatic verification is now on.") if enabled
                             else _("Automatic verification is now off."))
            return redirect("verification:organisation_settings", pk=pk)
    else:
        form = AutoVerificationForm(initial={"auto_verify_official_domain": auto_verification_of(organisation)})
    domains = list(organisation.domains.filter(is_verified=True).values_list("domain", flat=True))
    return render(request, "verification/settings.html", {"organisation": organisation, "form": form, "domains": domains})
