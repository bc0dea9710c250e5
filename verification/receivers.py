"""What the core's account flows mean for verifications: an official address that
leaves an account no longer vouches for its old holder. It leaves when allauth removes
it (or replaces it when the primary address is changed, without always sending
``email_removed``), and when an administrator deletes it, marks it unconfirmed, changes
it or moves it to another account in the Django admin. And what an organisation's
suspension and reactivation mean for the confirmations of its people's official addresses,
and the removal of one of its domains for what rested on it alone."""

from allauth.account.models import EmailAddress
from django.db import transaction
from django.db.models.signals import post_delete, post_save, pre_save
from django.dispatch import receiver

from portal.organisations.models import OrganisationStatus
from portal.organisations.signals import (
    organisation_domain_removed,
    organisation_domain_weighed,
    organisation_members_off_domains,
    organisation_status_changed,
    verifications_at_addresses,
)
from verification.lifecycle import (
    confirmations_pause_in,
    domain_removal_weighed,
    domain_removed_consequences,
    profiles_suspend_address_removed,
    verified_by_hand_at_domain,
)
from verification.selectors import members_at_domains, resting_at_addresses
from verification.tasks import confirmations_resume_dispatch


@receiver(post_delete, sender=EmailAddress, dispatch_uid="verification_official_address_removed")
def on_address_deleted(sender, instance, **kwargs):
    # (An account holding verifications is never deleted: they protect it.)
    if instance.verified:
        profiles_suspend_address_removed(user_id=instance.user_id, email=instance.email)


@receiver(pre_save, sender=EmailAddress, dispatch_uid="verification_official_address_changing")
def on_address_changing(sender, instance, raw=False, **kwargs):
    instance._address_left = None
    if raw or instance.pk is None:
        return
    before = EmailAddress.objects.filter(pk=instance.pk).values("user_id", "email", "verified").first()
    if before and before["verified"] and (
            not instance.verified or instance.user_id != before["user_id"]
            or instance.email.lower() != before["email"].lower()):
        instance._address_left = (before["user_id"], before["email"])


@receiver(post_save, sender=EmailAddress, dispatch_uid="verification_official_address_changed")
def on_address_changed(sender, instance, **kwargs):
    left = getattr(instance, "_address_left", None)
    if left:
        instance._address_left = None
        profiles_suspend_address_removed(user_id=left[0], email=left[1])


@receiver(organisation_status_changed, dispatch_uid="verification_confirmations_follow_the_organisation")
def on_organisation_status_changed(sender, *, organisation, old, new, at, **kwargs):
    # Suspended: the grace periods of its people asked to confirm stop counting now, in the
    # suspension's transaction. Active again: they are given back what they did not count,
    # by a task once that commits (there may be thousands; the hourly job does it otherwise).
    if new != OrganisationStatus.ACTIVE:
        confirmations_pause_in(organisation_id=organisation.pk, now=at)
    elif old != OrganisationStatus.ACTIVE:
        organisation_id = organisation.pk
        transaction.on_commit(lambda: confirmations_resume_dispatch(organisation_id))


@receiver(organisation_domain_removed, dispatch_uid="verification_domain_removed")
def on_organisation_domain_removed(sender, *, organisation, domain, at, **kwargs):
    # In the removal's transaction: what rested on the domain alone ends with it. What stands
    # (the verifications an administrator decided at it) is counted for its admins to check.
    withdrawn, suspended = domain_removed_consequences(organisation_id=organisation.pk, domain=domain, now=at)
    return {"invitations_withdrawn": withdrawn, "verifications_suspended": suspended,
            **verified_by_hand_at_domain(organisation=organisation, domain=domain)}


@receiver(organisation_domain_weighed, dispatch_uid="verification_domain_weighed")
def on_organisation_domain_weighed(sender, *, organisation, domain, **kwargs):
    return domain_removal_weighed(organisation=organisation, domain=domain)


@receiver(organisation_members_off_domains, dispatch_uid="verification_members_off_domains")
def on_organisation_members_off_domains(sender, *, organisation, domains, **kwargs):
    return members_at_domains(organisation, domains).count()


@receiver(verifications_at_addresses, dispatch_uid="verification_verifications_at_addresses")
def on_verifications_at_addresses(sender, *, user_id, addresses, **kwargs):
    return resting_at_addresses(user_id, addresses)
