"""Reads of applications, always scoped to who is looking."""

from allauth.account.models import EmailAddress
from django.db.models import Q
from django.http import Http404
from django.utils.translation import gettext as _

from onboarding.models import Application
from portal.accounts.official_email import classify_email, explain_refusal
from portal.audit.models import AuditAction, AuditEvent
from portal.organisations.selectors import is_superadmin, platform_roles_of
from portal.organisations.models import PlatformRole


def applications_visible_to(viewer):
    """Applications a viewer may see: their own; their jurisdiction's (state admins,
    scoped auditors); everything (superadmins, unscoped auditors)."""
    if not viewer.is_authenticated:
        return Application.objects.none()
    if is_superadmin(viewer):
        return Application.objects.all()
    query = Q(nodal_officer=viewer)
    for role, jurisdiction in platform_roles_of(viewer):
        if role in (PlatformRole.STATE_ADMIN, PlatformRole.AUDITOR):
            if not jurisdiction:
                return Application.objects.all()
            query |= Q(jurisdiction=jurisdiction, reference__isnull=False)
    return Application.objects.filter(query)


def application_for_viewer(viewer, pk):
    try:
        return applications_visible_to(viewer).select_related("nodal_officer").get(pk=pk)
    except (Application.DoesNotExist, ValueError):
        raise Http404


def application_for_officer(viewer, pk):
    """An application the viewer is the nodal officer of, or 404 (never 403: do not confirm it exists)."""
    try:
        return Application.objects.get(pk=pk, nodal_officer=viewer)
    except (Application.DoesNotExist, ValueError):
        raise Http404


def applications_of_officer(viewer):
    return Application.objects.filter(nodal_officer=viewer).order_by("-created_at", "-id")


def officer_eligibility(user):
    """None if the user may act as a nodal officer, else a message saying why not."""
    verdict = classify_email(user.email)
    if not verdict.eligible_as_officer:
        return explain_refusal(verdict, for_officer=True)
    verified = EmailAddress.objects.filter(user=user, email__iexact=user.email, verified=True).exists()
    if not verified:
        return _("Verify your email address first: we sent a code to %(email)s.") % {"email": user.email}
    return None


def application_timeline(application):
    """What happened to an application, oldest first, from the audit log (one query);
    section saves are left out."""
    return (
        AuditEvent.objects.filter(target_type="onboarding.application", target_id=str(application.pk))
        .exclude(action=AuditAction.APPLICATION_SECTION_SAVED)
        .only("created_at", "action", "actor_email")
        .order_by("id")
    )
