"""The approval routing listens to the application form: a submitted application
goes (back) to its competent authority, and whoever acts for the organisation it places
the office under is told; a withdrawn one closes its open step; one under
appeal as its officer's account is erased has its appeal closed. To the
outbox: an authority's address the mail relay refused as unknown is told to the officer.
And to the core's roles: when a platform role ends, whoever then decides the steps it
decided is told."""

from django.dispatch import receiver

from onboarding.application.signals import appeal_left_by_erasure, application_submitted, application_withdrawn
from onboarding.approval.deadlines import RoleEnding, steps_deciders_watch
from onboarding.approval.placement import placement_asked_tell
from onboarding.approval.services import (
    appeal_close_on_erasure,
    authority_address_unknown_tell,
    step_open_authority,
    steps_close_on_withdrawal,
)
from portal.mail.signals import mailboxes_unknown
from portal.organisations.signals import platform_role_ending


@receiver(application_submitted, dispatch_uid="approval.open_authority_step")
def open_authority_step(sender, *, application, actor, request=None, **kwargs):
    step_open_authority(application=application)


@receiver(application_submitted, dispatch_uid="approval.tell_placement")
def tell_placement(sender, *, application, actor, request=None, **kwargs):
    placement_asked_tell(application=application, actor=actor, request=request)


@receiver(application_withdrawn, dispatch_uid="approval.close_steps")
def close_steps(sender, *, application, actor, request=None, for_officer=False, **kwargs):
    steps_close_on_withdrawal(application=application, actor=actor, for_officer=for_officer)


@receiver(appeal_left_by_erasure, dispatch_uid="approval.close_appeal_on_erasure")
def close_appeal_on_erasure(sender, *, application, **kwargs):
    appeal_close_on_erasure(application=application)


@receiver(platform_role_ending, dispatch_uid="approval.tell_new_deciders")
def tell_new_deciders(sender, *, endings, **kwargs):
    # Read before the roles end; the function returned tells the new deciders once they all have.
    return steps_deciders_watch(endings=[RoleEnding(grant.role, grant.jurisdiction, grant.user_id, counted_until)
                                         for grant, counted_until in endings])


@receiver(mailboxes_unknown, dispatch_uid="approval.authority_address_unknown")
def authority_address_unknown(sender, *, mailboxes, **kwargs):
    authority_address_unknown_tell(mailboxes=mailboxes)
