"""The approval routing listens to the application form: a submitted application
goes (back) to its competent authority; a withdrawn one closes its open step. And to the
outbox: an authority's address the mail relay refused as unknown is told to the officer."""

from django.dispatch import receiver

from onboarding.application.signals import application_submitted, application_withdrawn
from onboarding.approval.services import (
    authority_address_unknown_tell,
    step_open_authority,
    steps_close_on_withdrawal,
)
from portal.mail.signals import mailboxes_unknown


@receiver(application_submitted, dispatch_uid="approval.open_authority_step")
def open_authority_step(sender, *, application, actor, request=None, **kwargs):
    step_open_authority(application=application)


@receiver(application_withdrawn, dispatch_uid="approval.close_steps")
def close_steps(sender, *, application, actor, request=None, **kwargs):
    steps_close_on_withdrawal(application=application, actor=actor)


@receiver(mailboxes_unknown, dispatch_uid="approval.authority_address_unknown")
def authority_address_unknown(sender, *, mailboxes, **kwargs):
    authority_address_unknown_tell(mailboxes=mailboxes)
