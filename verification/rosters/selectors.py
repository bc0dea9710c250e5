"""Reads of rosters and invitations, scoped to the viewer: an organisation's admins
(of it or of an organisation above it) and superadmins; anyone else gets 404."""

from allauth.account.models import EmailAddress
from django.db.models import Q, QuerySet
from django.http import Http404

from portal.organisations.models import Organisation
from portal.permissions import AnyUser
from verification.rosters.models import MAIL_HELD, Invitation, InvitationStatus, RosterImport, RosterRow, RowOutcome
from verification.selectors import organisations_administered_by


def rosters_of(organisation: Organisation) -> QuerySet[RosterImport]:
    return RosterImport.objects.filter(organisation=organisation).select_related("uploaded_by").order_by(
        "-uploaded_at", "-id")


def roster_for_admin(viewer: AnyUser, pk: int) -> RosterImport:
    """A roster of an organisation the viewer administers, with its organisation, or 404."""
    try:
        return RosterImport.objects.select_related("organisation", "uploaded_by").get(
            pk=pk, organisation__in=organisations_administered_by(viewer))
    except (RosterImport.DoesNotExist, ValueError):
        raise Http404 from None


def refused_rows(roster: RosterImport) -> QuerySet[RosterRow]:
    """The rows the roster's page lists: refused at the preview, and those applying skipped
    or invited without a mail, whose reason it kept on them (a row to apply has none until then)."""
    applicable = [RowOutcome.VERIFY, RowOutcome.INVITE, RowOutcome.CHANGE]
    return RosterRow.objects.filter(
        Q(outcome=RowOutcome.REFUSED) | (Q(outcome__in=applicable) & ~Q(problems="")), roster=roster).order_by("line")


def rows_to_correct(roster: RosterImport) -> QuerySet[RosterRow]:
    """The rows left out (RosterImport.left_out_count of them), which the download of refused
    rows holds for the admin to correct and upload again: ``refused_rows`` but those invited
    without a mail (applied: nothing to correct; the invitation is mailed later)."""
    return refused_rows(roster).exclude(problems=MAIL_HELD)


def invitations_of(organisation: Organisation, *, status: str = InvitationStatus.PENDING) -> QuerySet[Invitation]:
    return Invitation.objects.filter(organisation=organisation, status=status).order_by("-created_at", "-id")


def invitation_for_admin(viewer: AnyUser, pk: int) -> Invitation:
    try:
        return Invitation.objects.select_related("organisation").get(
            pk=pk, organisation__in=organisations_administered_by(viewer))
    except (Invitation.DoesNotExist, ValueError):
        raise Http404 from None


def invitation_by_token_hash(digest: str) -> Invitation | None:
    return Invitation.objects.select_related("organisation").filter(token_hash=digest).first()


def address_confirmed_by(viewer: AnyUser, email: str) -> bool:
    """Whether ``viewer`` (signed in) has ``email`` confirmed on their account: they accept
    an invitation to it on its page, having no address left to confirm."""
    return viewer.is_authenticated and EmailAddress.objects.filter(user_id=viewer.pk, email__iexact=email,
                                                                   verified=True).exists()
