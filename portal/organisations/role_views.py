"""The role pages: superadmins grant and revoke platform roles; organisation admins
(and superadmins) grant and revoke the admin role of the organisations they
administer; a report of who holds which role where, as a page and a CSV download.

Every grant is confirmed on a second page before it is made, every revocation on
its own page with a reason. Who may do what is decided by portal.permissions and
checked again by the services, which refuse (PermissionDenied, ValidationError)
what the pages would not offer."""

from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from portal.access import asked_on_this_site, rule
from portal.accounts.mail_limits import own_account
from portal.audit.models import AuditAction
from portal.downloads import kept_out_of_caches
from portal.limits import next_hourly, shown, shown_from
from portal.organisations import role_report
from portal.organisations import role_selectors as selectors
from portal.organisations.models import OrganisationStatus, PlatformRole
from portal.organisations.role_forms import AdminGrantForm, EmailSearchForm, PlatformGrantForm, RevokeForm
from portal.organisations.role_report import jurisdiction_label, report_download_lines
from portal.organisations.selectors import first_found
from portal.organisations.services import (
    LastAdmin,
    LastSuperadmin,
    OutlastsGranter,
    admin_role_shown,
    organisation_admin_grant,
    organisation_admin_revoke,
    platform_role_grant,
    platform_role_revoke,
    platform_roles_shown,
    role_grant_end_check,
    role_report_export_record,
)
from portal.permissions import is_superadmin, may_change_organisation_status, platform_roles_of
from portal.shown import ChangedMeanwhile, shown_on_page, shown_sent

PAGE_SIZE = 50


def _refusal(form, exc):
    """A service's refusal, shown above the form (nothing typed is lost)."""
    if isinstance(exc, PermissionDenied):
        form.add_error(None, str(exc) or _("You may not make this change."))
    else:
        form.add_error(None, exc)


def _search(request):
    form = EmailSearchForm(request.GET if "email" in request.GET else None)
    return form, (form.cleaned_data["email"] if form.is_valid() else "")


# Overview --------------------------------------------------------------------------------------

@rule("role_manager")
@require_http_methods(["GET"])
def home(request):
    """Superadmins: the platform roles in force, and a search for an organisation whose
    admins to manage. Organisation admins: the organisations whose admins they manage."""
    superadmin = is_superadmin(request.user)
    query = (request.GET.get("q") or "").strip()[:100]
    # The platform roles' pages keep the search for an organisation shown beside them.
    context = {"superadmin": superadmin, "q": query, "query": urlencode({"q": query}) if superadmin and query else ""}
    if superadmin:
        context["grants"] = Paginator(selectors.platform_grants_in_force(request.user), PAGE_SIZE).get_page(
            request.GET.get("page"))
        context["superusers"] = selectors.superusers(request.user)
        if len(query) >= 2:
            context["organisations"], context["more"] = first_found(
                selectors.organisations_managed(request.user, query=query), selectors.SEARCH_LIMIT)
        else:
            context["organisations"] = None
    else:
        context["page"] = Paginator(selectors.organisations_managed(request.user), PAGE_SIZE).get_page(
            request.GET.get("page"))
    return render(request, "portal/roles/home.html", context)


# Platform roles (superadmins) ----------------------------------------------------------------

def _grant_flow(request, *, form_class, template, context, make, check, initial=None):
    """The grant pages' steps: the form; "review" shows what will happen and asks to
    confirm, unless ``check(form)`` refuses the end date already (OutlastsGranter: the
    role would outlast the granter's own), shown at the last day; "edit" goes back to the
    form with what was typed; "confirm" makes the grant (``make(form)``) and returns None,
    or shows the refusal on the form: at the last day when it is the end date that would
    leave nobody whose role does not end, or that would outlast the granter's own role."""
    step = request.POST.get("step") if request.method == "POST" else None
    if step is None:
        form = form_class(initial=initial)
    elif step == "edit":
        form = form_class(initial=request.POST.dict())
    else:
        form = form_class(request.POST)
        if form.is_valid():
            if step != "confirm":
                try:
                    check(form)
                except OutlastsGranter as exc:
                    form.add_error("ends_on", exc)
                else:
                    return render(request, template, {**context, "form": form, "review": True})
            else:
                try:
                    make(form)
                except (LastAdmin, LastSuperadmin, OutlastsGranter) as exc:
                    form.add_error("ends_on", exc)
                except (PermissionDenied, ValidationError) as exc:
                    _refusal(form, exc)
                else:
                    return None
    return render(request, template, {**context, "form": form, "review": False})


@rule("superadmin")
@require_http_methods(["GET", "POST"])
def platform_grant(request):
    """Find the person by address, then the role, where, until when and why; confirm."""
    chosen = request.POST.get("user") or request.GET.get("user")
    if not chosen:
        search, email = _search(request)
        people = list(selectors.people_by_email(email, viewer=request.user)) if email else None
        return render(request, "portal/roles/platform_search.html", {"search": search, "people": people})
    person = selectors.person(chosen, viewer=request.user)
    context = {"person": person, "own": own_account(person, request.user),
               "held": [grant for grant in selectors.platform_grants_in_force().filter(user=person)]}
    context["shown_values"] = shown_on_page(request, platform_roles_shown(context["held"]))
    if context["own"]:
        return render(request, "portal/roles/platform_grant.html", {**context, "form": None})

    def make(form):
        try:
            platform_role_grant(user=person, role=form.cleaned_data["role"],
                                jurisdiction=form.cleaned_data["jurisdiction"] or "", ends_at=form.ends_at,
                                reason=form.cleaned_data["reason"], actor=request.user, request=request,
                                shown_values=shown_sent(request.POST))
        except ChangedMeanwhile:
            # Their roles were granted, changed or ended since: the page shows them as they are now.
            context["held"] = list(selectors.platform_grants_in_force().filter(user=person))
            context["shown_values"] = platform_roles_shown(context["held"])
            raise ValidationError(_("Nothing was changed: since this page was opened, the platform roles of %(email)s "
                                    "were granted, changed or ended by someone else. They are shown above as they are "
                                    "now: check them, then confirm again.") % {"email": person.email},
                                  code="changed_meanwhile") from None
        messages.success(request, _("%(email)s is now %(role)s (%(where)s).") % {
            "email": person.email, "role": PlatformRole(form.cleaned_data["role"]).label,
            "where": jurisdiction_label(form.cleaned_data["jurisdiction"] or "")})

    def check(form):
        role_grant_end_check(actor=request.user, ends_at=form.ends_at)

    response = _grant_flow(request, form_class=PlatformGrantForm, template="portal/roles/platform_grant.html",
                           context=context, make=make, check=check)
    return response or redirect("roles:home")


def _already_ended(request, ended, *, by_text, text, **values):
    """Say that the role to revoke had already ended (revoked meanwhile by someone else,
    or past its end date): whose, when and, if known, by whom. Nothing is changed."""
    values.update(email=ended.holder_email, when=shown(ended.ended_at), by=ended.ended_by)
    messages.info(request, (by_text if ended.ended_by else text) % values)


@rule("superadmin")
@require_http_methods(["GET", "POST"])
def platform_revoke(request, pk):
    try:
        grant = selectors.platform_grant_in_force(pk, viewer=request.user)
    except Http404:
        found = selectors.platform_grant_ended(pk)
        if found is None:  # never existed
            raise
        grant, ended = found
        _already_ended(request, ended, role=grant.get_role_display(), where=jurisdiction_label(grant.jurisdiction),
                       by_text=_("This role had already ended: %(email)s was %(role)s (%(where)s) until %(when)s, "
                                 "when %(by)s revoked it. Nothing was changed."),
                       text=_("This role had already ended: %(email)s was %(role)s (%(where)s) until %(when)s. "
                              "Nothing was changed."))
        return redirect("roles:home")
    own = own_account(grant.user, request.user)
    form = None if own else RevokeForm(request.POST if request.method == "POST" else None)
    if form is not None and form.is_bound and form.is_valid():
        try:
            platform_role_revoke(grant_id=grant.pk, reason=form.cleaned_data["reason"], actor=request.user, request=request)
        except (PermissionDenied, ValidationError) as exc:
            _refusal(form, exc)
        else:
            messages.success(request, _("%(email)s is no longer %(role)s (%(where)s).") % {
                "email": grant.user.email, "role": grant.get_role_display(), "where": jurisdiction_label(grant.jurisdiction)})
            return redirect("roles:home")
    return render(request, "portal/roles/platform_revoke.html",
                  {"grant": grant, "form": form, "own": own, "where": jurisdiction_label(grant.jurisdiction)})


# An organisation's admins ---------------------------------------------------------------------

@rule("administrator_of_organisation")
@require_http_methods(["GET"])
def organisation(request, pk):
    """The organisation's admins, and a search among its members (and those of the
    offices below it) for someone to make admin."""
    organisation = selectors.organisation_for_role_admin(request.user, pk)
    search, email = _search(request)
    # Nobody is made admin of one not active (organisation_admin_grant): no search offered.
    active = organisation.status == OrganisationStatus.ACTIVE
    candidates = list(selectors.candidates_for_admin(organisation, email, viewer=request.user)) if email and active else None
    page = Paginator(selectors.admins_of(organisation, viewer=request.user), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "portal/roles/organisation.html", {
        "organisation": organisation, "page": page, "search": search, "candidates": candidates, "active": active,
        "may_change_status": may_change_organisation_status(request.user, organisation),
        # The admins' pages keep the search shown beside them (as the form takes it).
        "query": urlencode({"email": email} if email else {}),
    })


@rule("administrator_of_organisation")
@require_http_methods(["GET", "POST"])
def organisation_grant(request, pk):
    organisation = selectors.organisation_for_role_admin(request.user, pk)
    person = selectors.candidate_for_admin(organisation, request.POST.get("user") or request.GET.get("user"),
                                        viewer=request.user)
    current = selectors.admins_of(organisation).filter(user=person).first()
    context = {"organisation": organisation, "person": person, "current": current, "own": own_account(person, request.user),
               "not_active": current is None and organisation.status != OrganisationStatus.ACTIVE,
               "shown_values": shown_on_page(request, admin_role_shown(current))}
    if context["own"] or context["not_active"]:
        return render(request, "portal/roles/organisation_grant.html", {**context, "form": None})

    def make(form):
        try:
            organisation_admin_grant(organisation_id=organisation.pk, user_id=person.pk, ends_at=form.ends_at,
                                     reason=form.cleaned_data["reason"], actor=request.user, request=request,
                                     shown_values=shown_sent(request.POST))
        except ChangedMeanwhile:
            # Their role was granted, changed or ended since: the page shows it as it is now.
            context["current"] = selectors.admins_of(organisation).filter(user=person).first()
            context["shown_values"] = admin_role_shown(context["current"])
            raise ValidationError(_("Nothing was changed: since this page was opened, the admin role of %(email)s was "
                                    "granted, changed or ended by someone else. It is shown above as it is now: check "
                                    "it, then confirm again.") % {"email": person.email}, code="changed_meanwhile") from None
        messages.success(request, _("%(email)s is now an admin of %(organisation)s.") % {
            "email": person.email, "organisation": organisation.name})

    def check(form):
        role_grant_end_check(actor=request.user, ends_at=form.ends_at, organisation=organisation)

    response = _grant_flow(request, form_class=AdminGrantForm, template="portal/roles/organisation_grant.html",
                           context=context, make=make, check=check,
                           initial={"ends_on": current.last_day} if current else None)
    return response or redirect("roles:organisation", pk=organisation.pk)


@rule("administrator_of_organisation")
@require_http_methods(["GET", "POST"])
def organisation_revoke(request, pk):
    organisation = selectors.organisation_for_role_admin(request.user, pk)
    chosen = request.POST.get("user") or request.GET.get("user")
    try:
        membership = selectors.admin_of(organisation, chosen, viewer=request.user)
    except Http404:
        ended = selectors.admin_role_ended(organisation, chosen)
        if ended is None:  # never an admin of it
            raise
        _already_ended(request, ended, organisation=organisation.name,
                       by_text=_("This role had already ended: %(email)s was an admin of %(organisation)s until "
                                 "%(when)s, when %(by)s removed it. Nothing was changed."),
                       text=_("This role had already ended: %(email)s was an admin of %(organisation)s until "
                              "%(when)s. Nothing was changed."))
        return redirect("roles:organisation", pk=organisation.pk)
    own = own_account(membership.user, request.user)
    form = None if own else RevokeForm(request.POST if request.method == "POST" else None)
    if form is not None and form.is_bound and form.is_valid():
        try:
            organisation_admin_revoke(organisation_id=organisation.pk, user_id=membership.user_id,
                                      reason=form.cleaned_data["reason"], actor=request.user, request=request)
        except (PermissionDenied, ValidationError) as exc:
            _refusal(form, exc)
        else:
            messages.success(request, _("%(email)s is no longer an admin of %(organisation)s.") % {
                "email": membership.user.email, "organisation": organisation.name})
            return redirect("roles:organisation", pk=organisation.pk)
    return render(request, "portal/roles/organisation_revoke.html",
                  {"organisation": organisation, "membership": membership, "form": form, "own": own})


# The report ------------------------------------------------------------------------------------

def _sees_platform_roles(user):
    return is_superadmin(user) or bool(platform_roles_of(user))


@rule("role_report")
@require_http_methods(["GET"])
def report(request):
    """Who holds which role where, in the viewer's scope: the organisations' admins, or
    (for superadmins, state administrators and auditors) the platform roles."""
    platform = request.GET.get("kind") == "platform" and _sees_platform_roles(request.user)
    rows = selectors.report_platform_grants(request.user) if platform else selectors.report_admins(request.user)
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "portal/roles/report.html", {
        "page": page, "platform": platform, "sees_platform": _sees_platform_roles(request.user),
        "superusers": selectors.superusers(request.user) if platform else [],
        "query": "kind=platform" if platform else "", "most": role_report.REPORT_MAX_ROWS,
    })


@rule("role_report")
@require_http_methods(["GET"])
@asked_on_this_site("roles:report")
def report_download(request):
    """The whole report as CSV (platform roles the viewer may see, then the admins; at
    most REPORT_MAX_ROWS roles), streamed; the download itself is audited. Each one reads
    the whole scope again: at most MONITORING_EXPORTS_PER_HOUR an hour per account, as
    monitoring's exports, then a page says when the next is possible (429)."""
    limit = settings.MONITORING_EXPORTS_PER_HOUR
    sees_platform = _sees_platform_roles(request.user)
    # Refused before reading the report; role_report_export_record counts again under
    # the account's lock, which holds for downloads asked at the same moment.
    allowed = next_hourly(request.user, AuditAction.ROLE_REPORT_EXPORTED, limit)
    if allowed is None:
        allowed = role_report_export_record(actor=request.user, platform_roles=sees_platform, limit=limit,
                                            request=request)
    if allowed is not None:
        return render(request, "portal/roles/report_limited.html", {"limit": limit, "when": shown_from(allowed)},
                      status=429)
    grants = selectors.report_platform_grants(request.user) if sees_platform else None
    # The language is the request's, said here: the lines are written after the view returns.
    lines = report_download_lines(grants, selectors.report_admins(request.user), language=translation.get_language(),
                                  superusers=selectors.superusers(request.user) if sees_platform else [])
    response = StreamingHttpResponse(lines, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="roles-{timezone.localdate():%Y-%m-%d}.csv"'
    response["X-Content-Type-Options"] = "nosniff"
    return kept_out_of_caches(response)
