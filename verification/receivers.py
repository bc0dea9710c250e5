"""What the core's account flows mean for verifications: an official address that
leaves an account (allauth removes it, or replaces it when the primary address is
changed, without always sending ``email_removed``) no longer vouches for its old holder."""

from allauth.account.models import EmailAddress
from django.db.models.signals import post_delete
from django.dispatch import receiver

from verification.lifecycle import profiles_suspend_address_removed


@receiver(post_delete, sender=EmailAddress, dispatch_uid="verification_official_address_removed")
def on_address_deleted(sender, instance, **kwargs):
    # (An account holding verifications is never deleted: they protect it.)
    if instance.verified:
        profiles_suspend_address_removed(user_id=instance.user_id, email=instance.email)
