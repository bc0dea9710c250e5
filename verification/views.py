"""Pages of a person asking to be verified: their verifications, finding an
organisation, the request itself, withdrawing it."""

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import NON_FIELD_ERRORS, PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import BooleanField, ExpressionWrapper
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from portal.access import pop_pending_input, rule
from portal.organisations.models import Organisation, OrganisationStatus
from portal.organisations.selectors import first_found
from portal.permissions import RULES, is_superadmin
from portal.shown import ChangedMeanwhile, shown_on_page, shown_sent
from verification import services
from verification.forms import JoinRequestForm, OrganisationSearchForm, WithdrawForm
from verification.models import STANDING, VerificationStatus, verified_in_force
from verification.selectors import (
    SEARCH_LIMIT,
    administered_with_pending,
    ends_elsewhere,
    may_administer_verification,
    on_official_domain,
    organisation_searched,
    organisation_to_join,
    organisations_to_join,
    own_profile,
    profiles_of,
    verified_at_once,
    verifies_automatically,
    waiting_requests_count,
)

MINE_LIMIT = 100  # the verification held, then the newest requests
ADMINISTERED_PAGE_SIZE = 50
DETAIL_FIELDS = ("designation", "office", "employee_code", "official_email", "mobile", "superannuation_date")


@rule("authenticated")
@require_http_methods(["GET"])
def mine(request):
    """The person's verifications and requests; for admins, where to decide."""
    today = timezone.localdate()
    # Whether each verification counts as the API, the directory and verified viewers count it.
    profiles = list(profiles_of(request.user).annotate(
        in_force=ExpressionWrapper(verified_in_force(today), output_field=BooleanField()))[:MINE_LIMIT])
    for profile in profiles:
        if profile.status == VerificationStatus.VERIFIED and not profile.in_force:
            profile.not_in_force = (
                _("%(organisation)s is not active: while it is not, it vouches for nobody, and you are not counted as "
                  "a verified government user.") % {"organisation": profile.organisation.name}
                if profile.organisation.status != OrganisationStatus.ACTIVE else
                _("Your date of superannuation has passed: this verification no longer counts, and the portal "
                  "revokes it within the hour."))
    decider = may_administer_verification(request.user)
    all_organisations = decider and is_superadmin(request.user)
    # Every organisation administered, a page at a time (the settings, members and
    # visibility of each are reached from here).
    administered = (Paginator(administered_with_pending(request.user), ADMINISTERED_PAGE_SIZE).get_page(
        request.GET.get("page")) if decider and not all_organisations else None)
    context = {
        "profiles": profiles,
        "verified": any(profile.in_force for profile in profiles),
        # This year's confirmation of the official address, while it is awaited: the link
        # went to that address (perhaps one that no longer reaches the person).
        "awaiting": next((profile for profile in profiles if profile.in_force and profile.confirmation_requested_at),
                         None),
        "decider": decider,
        "all_organisations": all_organisations, "administered": administered,
        # A suspended organisation's own admins decide there, but monitor nothing.
        "may_monitor": decider and RULES["monitoring"](request.user),
    }
    return render(request, "verification/mine.html", context)


@rule("authenticated")
@require_http_methods(["GET"])
def organisation_search(request):
    """Organisations found by name or short code, or of a state or UT, the first
    SEARCH_LIMIT by name: more than that is said, with how to narrow the search."""
    form = OrganisationSearchForm(request.GET or None)
    results, searched, more = [], False, False
    if form.is_bound and form.is_valid():
        query, state = form.cleaned_data["q"], form.cleaned_data["state"]
        searched = organisation_searched(query=query, state=state)
        if searched:
            results, more = first_found(organisations_to_join(query=query, state=state, limit=SEARCH_LIMIT + 1),
                                        SEARCH_LIMIT)
    asked = {}
    if results:
        asked = dict(
            profiles_of(request.user).filter(STANDING, organisation__in=results).values_list("organisation_id", "status")
        )
    for organisation in results:
        organisation.my_status = VerificationStatus(asked[organisation.pk]) if organisation.pk in asked else None
    return render(request, "verification/search.html",
                  {"form": form, "results": results, "searched": searched, "more": more, "limit": SEARCH_LIMIT})


def _initial_details(user):
    """What the person gave last time (in any organisation), else their account's address."""
    latest = profiles_of(user).first()
    if latest is None:
        return {"official_email": user.email}
    return {name: getattr(latest, name) for name in DETAIL_FIELDS}


def _waiting_max_note(user, form, organisation, on_domain):
    """What the join page says when the person has VERIFICATION_WAITING_MAX requests
    waiting already and one sent with the official address the form holds (``on_domain``:
    on one of the organisation's verified domains) would wait too (it is refused), unless
    its form's refusal says it; else None. One the organisation verifies at once waits in
    no queue: no bar."""
    most = settings.VERIFICATION_WAITING_MAX
    if form.has_error(NON_FIELD_ERRORS, "too_many_waiting") or waiting_requests_count(user) < most:
        return None
    if verified_at_once(user, organisation, on_domain=on_domain):
        return None
    return services.too_many_waiting(most)


@rule("authenticated")
@require_http_methods(["GET", "POST"])
def join(request, pk):
    organisation = organisation_to_join(pk)
    refusal = services.join_refusal(request.user)
    context = {"organisation": organisation, "refusal": refusal}
    if refusal:
        return render(request, "verification/join.html", context, status=403)
    current = profiles_of(request.user).filter(STANDING, organisation=organisation).first()
    if current is not None:
        return render(request, "verification/join.html", {**context, "current": current})
    # What being verified here ends, told before asking; confirmed first where that may be at once,
    # the box bound to what the page named (its digest, checked under the person's lock).
    ends = ends_elsewhere(request.user, organisation)
    automatic = bool(ends) and verifies_automatically(request.user, organisation)
    changed = False
    if request.method == "POST":
        form = JoinRequestForm(request.POST, organisation=organisation, ends=ends, automatic=automatic)
        if form.is_valid():
            try:
                profile = services.join_request_create(
                    organisation_id=organisation.pk, details=form.cleaned_data, language=translation.get_language(),
                    actor=request.user, request=request, shown=shown_sent(request.POST) if automatic else None,
                )
            except Organisation.DoesNotExist:  # no longer active
                raise Http404 from None
            except ChangedMeanwhile:
                # Being verified here would end something else by now: named as it is, the box again.
                changed = True
                ends = ends_elsewhere(request.user, organisation)
                automatic = bool(ends) and verifies_automatically(request.user, organisation)
                form = JoinRequestForm(request.POST, organisation=organisation, ends=ends, automatic=automatic)
                form.is_valid()
                form.confirm_again(_("Nothing was sent: since this page was opened, what being verified here ends "
                                     "elsewhere has changed. Read what it ends now, then send the request again."))
            except ValidationError as exc:
                form.add_error(None, exc)
            else:
                if profile.status == VerificationStatus.VERIFIED:
                    messages.success(request, _("%(organisation)s verified you automatically: your confirmed address is on "
                                                "its official domain.") % {"organisation": organisation.name})
                else:
                    messages.success(request, _("Your request was sent to the administrators of %(organisation)s. "
                                                "We will email you their decision.") % {"organisation": organisation.name})
                return redirect("verification:mine")
    else:
        pending = pop_pending_input(request)
        form = JoinRequestForm(pending, organisation=organisation, ends=ends, automatic=automatic,
                               initial=_initial_details(request.user))
        if form.is_bound:
            form.is_valid()
    # A request waiting elsewhere is withdrawn when this one is verified: said where that may be at once.
    context.update({"ending": ends.ending, "roles_ending": ends.roles_ending, "waiting": ends.waiting if automatic else [],
                    "automatic": automatic,
                    "shown_values": ends.shown() if changed else shown_on_page(request, ends.shown())})
    # The official address the form holds (as typed, once valid; else the one it offers).
    address = (form.cleaned_data.get("official_email") if form.is_bound else form.initial.get("official_email")) or ""
    on_domain = bool(address) and on_official_domain(request.user, address, organisation)
    context.update({"form": form, "official_address": address, "on_official_domain": on_domain,
                    "waiting_max": _waiting_max_note(request.user, form, organisation, on_domain)})
    return render(request, "verification/join.html", context)


def _no_longer_waiting(profile) -> str:
    """Why one's own request cannot be withdrawn: withdrawn already (the confirmation sent
    again: a double click, Back and send again), or decided."""
    if profile.is_withdrawn:
        return _("You withdrew this request already: it stays withdrawn.")
    return _("This request was already decided.")


@rule("person_of_profile")
@require_http_methods(["GET", "POST"])
def request_withdraw(request, pk):
    """Confirm, then withdraw one's own waiting request: it cannot be taken back, and it
    counts against the requests one may make in a day."""
    profile = own_profile(request.user, pk)
    if not profile.is_pending:
        messages.info(request, _no_longer_waiting(profile))
        return redirect("verification:mine")
    form = WithdrawForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            services.join_request_withdraw(profile_id=profile.pk, actor=request.user, request=request)
        except services.StatusChanged as exc:
            messages.info(request, _no_longer_waiting(exc.profile))
        except PermissionDenied:
            raise Http404 from None
        else:
            messages.success(request, _("Your request to %(organisation)s was withdrawn.")
                             % {"organisation": profile.organisation.name})
        return redirect("verification:mine")
    return render(request, "verification/withdraw.html",
                  {"profile": profile, "form": form, "per_day": settings.VERIFICATION_REQUESTS_PER_DAY},
                  status=400 if request.method == "POST" else 200)
