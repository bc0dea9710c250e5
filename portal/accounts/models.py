from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from portal.text import ComposedCharField


class UserManager(BaseUserManager):
    use_in_migrations = True

    def _create_user(self, email, password, **extra):
        if not email:
            raise ValueError("An email address is required.")
        email = self.normalize_email(email).lower()
        user = self.model(email=email, **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email, password=None, **extra):
        extra.setdefault("is_staff", False)
        extra.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra)

    def create_superuser(self, email, password=None, **extra):
        extra.setdefault("is_staff", True)
        extra.setdefault("is_superuser", True)
        return self._create_user(email, password, **extra)


# The domain of the address an account is given when its erasure is granted
# (portal/privacy/requests.py person_erase), or when a superadmin releases a closed
# account's address (portal/accounts/services.py account_address_release). ".invalid"
# never receives mail (RFC 2606), and the outbox writes none to it (portal/mail/services.py).
ERASED_EMAIL_DOMAIN = "erased.invalid"


def erased_email(user_id: int) -> str:
    """The address of an erased account: unique, naming nobody."""
    return f"erased-{user_id}@{ERASED_EMAIL_DOMAIN}"


def address_naming(user) -> str:
    """The address that names ``user`` on a page or in a message: theirs, or "" for no one
    and for an erased account, whose placeholder (``erased_email``) names nobody."""
    return user.email if user is not None and user.email != erased_email(user.pk) else ""


def released_email(user_id: int) -> str:
    """The address of a closed account whose own was released for its next holder (the
    successor in a post whose official mailbox it is): unique, naming nobody, as
    ``erased_email``; the account keeps its name and records."""
    return f"released-{user_id}@{ERASED_EMAIL_DOMAIN}"


class User(AbstractBaseUser, PermissionsMixin):
    """A person with an account. The email address is the login."""

    email = models.EmailField(_("email address"), unique=True, max_length=254)
    full_name = ComposedCharField(_("full name"), max_length=150, blank=True)
    is_staff = models.BooleanField(_("staff status"), default=False)
    is_active = models.BooleanField(_("active"), default=True)
    date_joined = models.DateTimeField(_("date joined"), default=timezone.now)
    # The language the person last chose on the portal's pages while signed in: the one
    # mail to them is written in (portal.organisations.notifications.people_known_languages).
    # Empty: never chosen.
    language = models.CharField(_("language of the emails"), max_length=10, blank=True, default="", db_default="",
                                choices=settings.LANGUAGES)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS = []

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")

    def __str__(self):
        return self.email

    def get_full_name(self):
        return self.full_name or self.email

    def get_short_name(self):
        return self.full_name or self.email


class SuffixKind(models.TextChoices):
    # Stored values are stable: they appear in audit rows.
    OFFICIAL = "official", _("Official")
    CONTRACTOR = "contractor", _("Official, contractor (not eligible as nodal officer or authority)")
    MANUAL_REVIEW = "manual_review", _("Needs manual review")
    CONSUMER = "consumer", _("Consumer mail (never official)")


class EmailSuffixRule(models.Model):
    """One entry of the official-email list (DESIGN §3), edited by superadmins.

    ``suffix`` is a domain suffix compared label by label (``gov.in`` matches
    ``mha.gov.in``). A suffix that starts with ``-`` matches a label ending
    (``-external.gov.in`` matches ``acme-external.gov.in``).
    """

    suffix = models.CharField(_("domain suffix"), max_length=253, unique=True)
    kind = models.CharField(_("kind"), max_length=20, choices=SuffixKind.choices)
    note = models.CharField(_("note"), max_length=200, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["kind", "suffix"]
        verbose_name = _("email suffix rule")

    def __str__(self):
        # Also the audit log's snapshot of the target, stored in English (audit _target_fields)
        # and said in the reader's language from the kind, the suffix as stored
        # (monitoring.auditlog.TARGET_LABELS).
        return f"{self.suffix} ({self.get_kind_display()})"
