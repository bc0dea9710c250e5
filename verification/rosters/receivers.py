"""An invitation is accepted when its person confirms the invited address (allauth's
email_confirmed signal, sent by the core's account flows, which know nothing of
invitations). A failure here must not break the confirmation itself: it is logged,
and the person can still ask to be verified."""

import logging

from allauth.account.signals import email_confirmed
from django.dispatch import receiver

from verification.rosters.invitations import invitation_accept

logger = logging.getLogger(__name__)


@receiver(email_confirmed, dispatch_uid="rosters_invitation_accept")
def on_email_confirmed(sender, request, email_address, **kwargs):
    try:
        invitation_accept(user=email_address.user, email=email_address.email, request=request)
    except Exception:
        logger.exception("Accepting the invitation of a confirmed address failed")
