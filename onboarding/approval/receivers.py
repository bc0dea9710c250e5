"""The approval routing listens to the application form: a submitted application
goes (back) to its competent authority; a withdrawn one closes its open step."""

from django.dispatch import receiver

from onboarding.application.signals import application_submitted, application_withdrawn
from onboarding.approval.services import step_open_authority, steps_close_on_withdrawal


@receiver(application_submitted, dispatch_uid="approval.open_authority_step")
def open_authority_step(sender, *, application, actor, request=None, **kwargs):
    step_open_authority(application=application)


@receiver(application_withdrawn, dispatch_uid="approval.close_steps")
def close_steps(sender, *, application, actor, request=None, for_officer=False, **kwargs):
    steps_close_on_withdrawal(application=application, actor=actor, for_officer=for_officer)
