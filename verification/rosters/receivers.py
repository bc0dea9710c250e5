"""An invitation is accepted when its person confirms the invited address (allauth's
email_confirmed signal, sent by the core's account flows, which know nothing of
invitations). A failure here must not break the confirmation itself: it is logged,
and the person can still ask to be verified. Accepting that would end anything the
person holds elsewhere is left to the invitation's page, which names it and asks them to
confirm (invitations.invitation_accept). The person is told on the next page what came
of the invitation: verified, or why not and what to do."""

import logging

from allauth.account.signals import email_confirmed
from django.contrib import messages
from django.dispatch import receiver
from django.utils.translation import gettext as _

from verification.rosters.invitations import invitation_accept

logger = logging.getLogger(__name__)


@receiver(email_confirmed, dispatch_uid="rosters_invitation_accept")
def on_email_confirmed(sender, request, email_address, **kwargs):
    try:
        invitation = invitation_accept(user=email_address.user, email=email_address.email, request=request)
    except Exception:
        logger.exception("Accepting the invitation of a confirmed address failed")
        return
    if invitation is not None and request is not None:
        outcome_tell(request, invitation)


def outcome_tell(request, invitation) -> None:
    """Tell the person on their next page what came of the invitation they accepted (here,
    by confirming its address, and on the invitation's page, with the address confirmed
    already), or why confirming its address did not accept it, in the language of the
    request; nothing where there is nothing to add."""
    told = _told(invitation.outcome)
    if told is not None:
        level, text = told
        messages.add_message(request, level, text % {"organisation": invitation.organisation.name},
                             fail_silently=True)


def _told(outcome: str) -> tuple[int, str] | None:
    """What the person who accepted an invitation (or confirmed its address: "ends_elsewhere",
    left for its page) is told; None where there is nothing to add."""
    if outcome == "verified":
        return messages.SUCCESS, _("%(organisation)s invited you: you are now one of its verified users.")
    if outcome == "verified_elsewhere":
        return messages.WARNING, _(
            "%(organisation)s invited you, but you are a verified user of another organisation, so nothing was "
            "changed. If you are moving to %(organisation)s, ask it to verify you from the Verification page.")
    if outcome == "auditor":
        return messages.WARNING, _(
            "%(organisation)s invited you, but an auditor's account is read-only: it cannot be verified by an "
            "organisation, so nothing was changed.")
    if outcome == "holds_role_elsewhere":
        return messages.WARNING, _(
            "%(organisation)s invited you, but you hold a role in another organisation or on the platform, so the "
            "invitation did not make you one of its verified users. If you need to be, ask it from the "
            "Verification page.")
    if outcome == "mobile_taken":
        return messages.WARNING, _(
            "%(organisation)s invited you, but another verified person now has the mobile number it gave for you, "
            "so you were not verified. Ask %(organisation)s to verify you from the Verification page: its "
            "administrators will check the number.")
    if outcome == "ends_elsewhere":
        return messages.WARNING, _(
            "%(organisation)s invited you, but accepting its invitation would end your verification, an admin role or "
            "a waiting request in another organisation, so it was not accepted yet. To accept it, open the link in "
            "the invitation email: its page names what ends and asks you to confirm.")
    if outcome == "waiting":
        return messages.INFO, _(
            "%(organisation)s invited you: your request to be verified waits for its administrators.")
    return None
