"""Reads of applications, always scoped to who is looking."""

from allauth.account.models import EmailAddress
from django.db.models import Q, QuerySet
from django.http import Http404
from django.utils.translation import gettext as _

from onboarding.models import Application
from portal import permissions
from portal.accounts.official_email import classify_email, explain_refusal
from portal.audit.models import AuditAction, AuditEvent
from portal.permissions import AnyUser, ObjectScope

# The nodal officer holds "change_application" on their application (given when it is
# started); platform roles and organisation admins see submitted applications only.
APPLICATION_SCOPE = ObjectScope(
    owner_perm="onboarding.change_application", jurisdiction="jurisdiction", organisation="organisation",
    official=Q(reference__isnull=False),
)


def applications_visible_to(viewer: AnyUser) -> QuerySet[Application]:
    """Applications a viewer may see: their own; the submitted ones of their
    jurisdictions (state admins, auditors) and organisations (their admins);
    everything (superadmins)."""
    return permissions.visible(viewer, Application.objects.all(), APPLICATION_SCOPE)


def application_for_viewer(viewer: AnyUser, pk: int) -> Application:
    try:
        return applications_visible_to(viewer).select_related("nodal_officer").get(pk=pk)
    except (Application.DoesNotExist, ValueError):
        raise Http404 from None


def application_for_officer(viewer: AnyUser, pk: int) -> Application:
    """An application the viewer is the nodal officer of, or 404 (never 403: do not confirm it exists)."""
    try:
        return applications_of_officer(viewer).get(pk=pk)
    except (Application.DoesNotExist, ValueError):
        raise Http404 from None


def applications_of_officer(viewer: AnyUser) -> QuerySet[Application]:
    return permissions.owned(viewer, Application.objects.all(), APPLICATION_SCOPE).order_by("-created_at", "-id")


def is_officer_of(user: AnyUser, application: Application) -> bool:
    return permissions.is_owner(user, application, APPLICATION_SCOPE)


def officer_eligibility(user: AnyUser) -> str | None:
    """None if the user may act as a nodal officer, else a message saying why not."""
    verdict = classify_email(user.email)
    if not verdict.eligible_as_officer:
        return explain_refusal(verdict, for_officer=True)
    verified = EmailAddress.objects.filter(user=user, email__iexact=user.email, verified=True).exists()
    if not verified:
        return _("Verify your email address first: we sent a code to %(email)s.") % {"email": user.email}
    return None


def application_timeline(application: Application) -> QuerySet[AuditEvent]:
    """What happened to an application, oldest first, from the audit log (one query);
    section saves are left out."""
    return (
        AuditEvent.objects.filter(target_type="onboarding.application", target_id=str(application.pk))
        .exclude(action=AuditAction.APPLICATION_SECTION_SAVED)
        .only("created_at", "action", "actor_email")
        .order_by("id")
    )
