"""Verification of government users: a person's government profile within an
organisation, and each organisation's verification settings.

A join request is a profile in status "pending": the person gives their details
and asks one organisation to verify them. The organisation's admins verify or
reject it; later they may suspend (reversibly) or revoke (finally) a verified
profile. Rows are never deleted: a rejected, cancelled or revoked profile stays as
history, and asking again makes a new row. The audit log holds every change.
"""

from datetime import date

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from portal.deadlines import end_of_local_day
from portal.organisations.models import OrganisationStatus
from portal.text import ComposedCharField


class VerificationStatus(models.TextChoices):
    # Stored values are stable: they appear in audit rows. Never rename or reuse one.
    PENDING = "pending", _("Waiting for a decision")
    VERIFIED = "verified", _("Verified")
    REJECTED = "rejected", _("Rejected")
    REVOKED = "revoked", _("Revoked")
    SUSPENDED = "suspended", _("Suspended")
    # Stored as "cancelled": a request closed while it waited, withdrawn by the person (or closed
    # as they were verified elsewhere, or their account erased: its note says which).
    CANCELLED = "cancelled", pgettext_lazy("verification request", "Withdrawn")


# A profile in one of these holds the person's one place as a verified member: a
# suspended profile keeps it, so that reinstating it never makes two.
HELD_STATUSES = (VerificationStatus.VERIFIED, VerificationStatus.SUSPENDED)


def verified_in_force(today: date) -> Q:
    """Verified profiles whose verification has not lapsed by ``today`` (the date in the
    portal's time zone): the day after superannuation a verification is over, whether or
    not the hourly job (``verification.lifecycle``) has written it down yet; only in an
    active organisation (one suspended vouches for nobody while it is); and only of an
    active account (one deactivated, which can no longer sign in, is vouched for by
    nobody while it is: its profile stays as it was, and counts again if it is activated)."""
    return Q(organisation__status=OrganisationStatus.ACTIVE) & person_verified_in_force(today)


def person_verified_in_force(today: date) -> Q:
    """verified_in_force but for the organisation's status: what the person's own
    verification says, whatever their organisation's state (its figures count them)."""
    return Q(status=VerificationStatus.VERIFIED, user__is_active=True) & not_superannuated_q(today)


def not_superannuated_q(today: date) -> Q:
    """Profiles whose date of superannuation has not passed by ``today`` (the portal's time
    zone): the day after it a verification is over, whether or not the hourly job
    (``verification.lifecycle``) has written it down yet."""
    return Q(superannuation_date__isnull=True) | Q(superannuation_date__gte=today)


def resting_on_address_q() -> Q:
    """The verifications that rest on their official address, and end when it leaves the
    person's account (lifecycle.profiles_suspend_address_removed): verified, or suspended by
    the system because the address was not confirmed in time (its reason becomes the
    address's removal, so that asking again is open to them)."""
    return Q(status=VerificationStatus.VERIFIED) | Q(status=VerificationStatus.SUSPENDED,
                                                     reason_code=EndReason.UNCONFIRMED)


class VerificationMethod(models.TextChoices):
    # Stored values are stable: they appear in audit rows.
    MANUAL = "manual", _("By hand, by an administrator")
    OFFICIAL_EMAIL = "official_email", _("Automatically, by the official email address")
    ROSTER = "roster", _("From the organisation's roster")


class EndReason(models.TextChoices):
    """Why a verified profile was suspended or revoked."""

    # Stored values are stable: they appear in audit rows.
    TRANSFER = "transfer", _("Transferred")
    RETIREMENT = "retirement", _("Retired")
    LEFT_SERVICE = "left_service", _("Left government service")
    MISUSE = "misuse", _("Misuse")
    # Set by the system only (the yearly confirmation of the official address was not
    # made in time); an administrator chooses one of the reasons above.
    UNCONFIRMED = "unconfirmed", _("Official address not confirmed in time")
    ERASED = "erased", _("The person's data was erased at their request")
    # Set by the system when the official address leaves the person's account.
    ADDRESS_REMOVED = "address_removed", _("Official address removed from the account")
    # Set by the system when a superadmin removes the organisation's domain an automatic
    # verification rested on (nobody else vouched for the person).
    DOMAIN_REMOVED = "domain_removed", _("Official domain removed from the organisation")


class SystemNote(models.TextChoices):
    """What the system writes as the reason of a request or verification it ends on its
    own (the person withdrew it, or was verified elsewhere or again): pages show its
    sentence (GovernmentProfile.decision_note), never the value."""

    # Stored values are stable: they are in profiles' reason and in audit rows.
    WITHDRAWN = "withdrawn", _("The person withdrew their request.")
    VERIFIED_ELSEWHERE = "verified_elsewhere", _("Ended when the person was verified in another organisation.")
    VERIFIED_AGAIN = "verified_again", _("Replaced when the person was verified again in this organisation.")


# The statuses the system ends a profile in with one of its notes: on a rejection, a
# suspension or a reinstatement the reason is always an administrator's words, whatever they are.
SYSTEM_NOTE_STATUSES = (VerificationStatus.CANCELLED, VerificationStatus.REVOKED)


# Revocations for a reason of the person's own: being verified again after one is an
# administrator's decision, never the system's (automatic verification).
CAUSED_REVOCATIONS = (EndReason.MISUSE, EndReason.RETIREMENT, EndReason.LEFT_SERVICE)

# A person's request or verification that stands in its organisation: waiting, or held,
# but for a verification suspended because its official address left the account, or because
# the organisation's domain it rested on was removed (the person asks again there with their
# new address, and verifying that ends the suspended one).
STANDING = Q(status__in=[VerificationStatus.PENDING, *HELD_STATUSES]) & ~Q(
    status=VerificationStatus.SUSPENDED, reason_code__in=[EndReason.ADDRESS_REMOVED, EndReason.DOMAIN_REMOVED])


# The reasons only the system gives; an administrator gives one of the others.
SYSTEM_END_REASONS = (EndReason.UNCONFIRMED, EndReason.ERASED, EndReason.ADDRESS_REMOVED, EndReason.DOMAIN_REMOVED)
ADMIN_END_REASONS = [(value, label) for value, label in EndReason.choices if value not in SYSTEM_END_REASONS]


# Why an admin role ends when the person's verification in that organisation ends: the
# reason the audit row of that ending carries (a stable value).
VERIFICATION_ENDED = "verification_ended"
# ... and why an organisation's first admin role (resting on its approved application, on no
# verification) ends when the person is verified in an organisation outside its line.
VERIFIED_ELSEWHERE = "verified_elsewhere"


class GovernmentProfile(models.Model):
    """A person as a government user of one organisation, and where their
    verification stands: who decided last, when, how (for a verification) and why."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="government_profiles",
                             verbose_name=_("account"))
    organisation = models.ForeignKey("organisations.Organisation", on_delete=models.PROTECT,
                                     related_name="government_profiles", verbose_name=_("organisation"))
    designation = ComposedCharField(_("designation"), max_length=150)
    office = ComposedCharField(_("office or unit"), max_length=200)
    employee_code = models.CharField(_("employee code"), max_length=50)
    official_email = models.EmailField(_("official email address"), max_length=254)
    mobile = models.CharField(_("mobile number"), max_length=13)
    superannuation_date = models.DateField(_("date of superannuation"), null=True, blank=True)
    # The name the organisation vouched for: the account's name when the profile was
    # verified (the name its roster gives, when verified or updated from one), and then
    # only as its administrators accept a new one (services.verified_name_accept). What
    # anyone but the person sees of a held profile's name (visibility.rules): a name the
    # person changes themselves is vouched for by nobody. Personal data: in the person's
    # download (personal_data.py), blanked by an erasure and by retention (retention.py).
    # Empty by default in the database too: profiles written by the code before it.
    verified_name = ComposedCharField(_("verified name"), max_length=150, blank=True, default="", db_default="")

    status = models.CharField(_("status"), max_length=20, choices=VerificationStatus.choices,
                              default=VerificationStatus.PENDING)
    requested_at = models.DateTimeField(_("requested at"))
    # The language the person asked in: what they are told about the decision in.
    request_language = models.CharField(_("language of the request"), max_length=10, default="en")
    # How and by whom it was verified (kept while suspended, and after revocation).
    method = models.CharField(_("method"), max_length=20, choices=VerificationMethod.choices, blank=True)
    verified_at = models.DateTimeField(_("verified at"), null=True, blank=True)
    verified_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+", verbose_name=_("verified by"))
    # The latest decision (verify, reject, suspend, reinstate, revoke, cancel): who, when, why.
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+", verbose_name=_("decided by"))
    decided_by_email = models.CharField(_("decided by (address)"), max_length=254, blank=True)  # a snapshot; "" for the system
    reason_code = models.CharField(_("reason code"), max_length=20, choices=EndReason.choices, blank=True)
    reason = models.TextField(_("reason"), blank=True)
    # The yearly confirmation that the official address still reaches the person
    # (verification/lifecycle.py): when it was last confirmed (verifying and reinstating
    # count as confirming), and when this year's request and its one reminder were
    # mailed (both cleared by a confirmation).
    # The grace period counts only while the verification is in force (verified_in_force):
    # the hourly job marks when it stopped counting (``confirmation_paused_at``) and, once it
    # counts again, moves ``confirmation_requested_at`` (from which the deadline is counted)
    # on by the time it did not; ``confirmation_mailed_at`` keeps the moment the request
    # was really mailed, which the pages give.
    address_confirmed_at = models.DateTimeField(_("official address confirmed at"), null=True, blank=True)
    confirmation_requested_at = models.DateTimeField(_("confirmation asked at"), null=True, blank=True)
    confirmation_mailed_at = models.DateTimeField(_("confirmation mailed at"), null=True, blank=True)
    confirmation_reminded_at = models.DateTimeField(_("confirmation reminder mailed at"), null=True, blank=True)
    confirmation_paused_at = models.DateTimeField(_("confirmation paused at"), null=True, blank=True)

    class Meta:
        verbose_name = _("government profile")
        verbose_name_plural = _("government profiles")
        ordering = ["requested_at", "id"]
        indexes = [
            models.Index(fields=["organisation", "status", "requested_at"]),
            models.Index(fields=["user", "status"]),
            # The members page: an organisation's members by name, whatever its case
            # (verification.selectors.MembersSlice walks it down to a page's last row).
            models.Index(models.F("organisation"), Lower("verified_name"), models.F("id"),
                         condition=Q(status__in=HELD_STATUSES), name="verification_members_order_idx"),
            # The verification API looks up verified people by official address or mobile number.
            models.Index(fields=["official_email"], condition=Q(status=VerificationStatus.VERIFIED),
                         name="verification_verified_email"),
            models.Index(fields=["mobile"], condition=Q(status=VerificationStatus.VERIFIED),
                         name="verification_verified_mobile"),
            # The beat jobs: held profiles past their superannuation, verified ones due to confirm.
            models.Index(fields=["superannuation_date"], condition=Q(status__in=HELD_STATUSES),
                         name="verification_held_superann_idx"),
            models.Index(fields=["address_confirmed_at"], condition=Q(status=VerificationStatus.VERIFIED),
                         name="verification_confirm_due_idx"),
            # ... and those asked to confirm, due for the reminder or for suspension (few: the
            # others' NULL is left out).
            models.Index(fields=["confirmation_requested_at"],
                         condition=Q(status=VerificationStatus.VERIFIED, confirmation_requested_at__isnull=False),
                         name="verification_confirm_asked_idx"),
        ]
        constraints = [
            # A person is a verified member of one organisation at most at a time.
            models.UniqueConstraint(fields=["user"], condition=Q(status__in=HELD_STATUSES),
                                    name="verification_one_organisation_per_user"),
            # One open request per person and organisation.
            models.UniqueConstraint(fields=["user", "organisation"], condition=Q(status=VerificationStatus.PENDING),
                                    name="verification_one_pending_request"),
            models.CheckConstraint(
                condition=~Q(status__in=HELD_STATUSES) | Q(verified_at__isnull=False, method__gt=""),
                name="verification_verified_has_when_and_how",
            ),
        ]

    def __str__(self):
        # Also the audit log's snapshot of the target: no personal data, always English.
        return f"Government profile #{self.pk}"

    @property
    def is_pending(self):
        return self.status == VerificationStatus.PENDING

    @property
    def is_withdrawn(self):
        """Withdrawn by the person while it waited (not cancelled by anything else)."""
        return self.status == VerificationStatus.CANCELLED and self.reason == SystemNote.WITHDRAWN

    @property
    def is_held(self):
        return self.status in HELD_STATUSES

    @property
    def confirmation_deadline(self):
        """When this year's request to confirm the official address runs out, or None when
        none is open: the end of the day (India's time) VERIFICATION_RECONFIRM_GRACE_DAYS
        after the request (moved on by the time the verification was not in force). The
        mails and pages give that date, so the whole of it is the person's: the links work,
        and the verification stands, until it ends (verification/lifecycle.py)."""
        if self.confirmation_requested_at is None:
            return None
        return end_of_local_day(self.confirmation_requested_at, settings.VERIFICATION_RECONFIRM_GRACE_DAYS)

    @property
    def confirmation_deadline_moved(self) -> bool:
        """Whether this year's deadline is no longer the day the request's mail gave: the
        grace the verification did not have while it was not in force was given back since
        (verification/lifecycle.py confirmations_resume), and its reminder goes again."""
        if self.confirmation_requested_at is None or self.confirmation_mailed_at is None:
            return False
        mailed = end_of_local_day(self.confirmation_mailed_at, settings.VERIFICATION_RECONFIRM_GRACE_DAYS)
        return timezone.localdate(self.confirmation_deadline) != timezone.localdate(mailed)

    @property
    def name_changed(self) -> bool:
        """Whether the person changed their account's name since their organisation vouched
        for one (a held profile): the administrators see both, and may accept the new one."""
        return self.is_held and self.user.full_name != self.verified_name

    @property
    def decision_note(self) -> str:
        """The reason of the latest decision as pages and mail show it: an administrator's
        words, or the sentence of the note the system wrote (SystemNote), in the active
        language; "" when none was given."""
        if self.status in SYSTEM_NOTE_STATUSES and self.reason in SystemNote.values and self._note_by_system():
            return str(SystemNote(self.reason).label)
        return self.reason

    def _note_by_system(self) -> bool:
        """Whether the reason (one of SystemNote's values) is the system's note, not an
        administrator's words that read the same ("withdrawn", typed when revoking): no
        administrator withdraws a request (cancelled: the person's or the system's own); a
        revocation is the system's when it names nobody as its decider (a transfer), or when
        its reason is one only the system gives (an address, or a domain, that left)."""
        if self.status == VerificationStatus.CANCELLED:
            return True
        if self.reason == SystemNote.VERIFIED_AGAIN:
            return self.reason_code in (EndReason.ADDRESS_REMOVED, EndReason.DOMAIN_REMOVED)
        return self.reason == SystemNote.VERIFIED_ELSEWHERE and self.decided_by_id is None

    @property
    def suspended_elsewhere_label(self) -> str:
        """Why the person's verification in another organisation is suspended (on a
        profile from ``selectors._with_badges``), or ""."""
        code = getattr(self, "suspended_elsewhere", None)
        return str(EndReason(code).label) if code in EndReason.values else ""


class VerificationSettings(models.Model):
    """How an organisation verifies people. Absent means the defaults (all off)."""

    organisation = models.OneToOneField("organisations.Organisation", on_delete=models.PROTECT, primary_key=True,
                                        related_name="verification_settings", verbose_name=_("organisation"))
    # Verify at once whoever asks with a verified primary address on one of the
    # organisation's own verified domains.
    auto_verify_official_domain = models.BooleanField(_("verify official addresses automatically"), default=False)
    changed_at = models.DateTimeField(_("changed at"), null=True, blank=True)
    changed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+", verbose_name=_("changed by"))

    class Meta:
        # One organisation's settings is one row: the plural is the same words.
        verbose_name = _("verification settings")
        verbose_name_plural = _("verification settings")


class AddressConfirmation(models.Model):
    """A single-use link mailed to a verified person's official address, to confirm
    that it still reaches them. Only the SHA-256 of its random token is stored
    (portal/tokens.py); it expires when the profile would be suspended for want of a
    confirmation, and confirming uses every open link of the profile."""

    profile = models.ForeignKey(GovernmentProfile, on_delete=models.PROTECT, related_name="address_confirmations",
                                verbose_name=_("government profile"))
    token_hash = models.CharField(max_length=64, unique=True)
    email = models.EmailField(_("address"), max_length=254)  # the address it was sent to
    created_at = models.DateTimeField(_("created at"))
    expires_at = models.DateTimeField(_("expires at"))
    used_at = models.DateTimeField(_("used at"), null=True, blank=True)

    class Meta:
        verbose_name = _("address confirmation")
        verbose_name_plural = _("address confirmations")
        indexes = [models.Index(fields=["profile", "used_at"])]

    def __str__(self):
        return f"Address confirmation #{self.pk}"
