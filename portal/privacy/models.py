"""Data protection: retention policies (rows edited by superadmins), legal holds,
and what each retention run did (counts, never contents)."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class RetentionKind(models.TextChoices):
    # Stored values are stable: they appear in audit rows and run reports.
    DRAFT_APPLICATION = "draft_application", _("Draft applications left untouched")
    CLOSED_APPLICATION = "closed_application", _("Withdrawn and finally rejected applications")
    # Withdrawn (not erased) after the reminder: they have a reference and decisions. The
    # closed applications' policy reduces them later, as any withdrawn one.
    RETURNED_APPLICATION = "returned_application", _("Applications returned for correction and left uncorrected")
    REVOKED_VERIFICATION = "revoked_verification", _("Verification records of revoked people")
    CLOSED_VERIFICATION_REQUEST = "closed_verification_request", _("Verification requests rejected or withdrawn")
    UNUSED_ACCOUNT = "unused_account", _("Accounts never verified and unused")


# The defaults of issue 13: days after which the rule acts, and for drafts the days
# between the reminder and the erasure; an application returned for correction is given
# the drafts' days, then withdrawn instead of erased. Closed applications are kept for the
# three years the data protection notice promises every nodal officer (privacy 0007 raised the row).
DEFAULT_POLICIES = {
    RetentionKind.DRAFT_APPLICATION: {"days": 180, "grace_days": 30},
    RetentionKind.CLOSED_APPLICATION: {"days": 3 * 365, "grace_days": 0},
    RetentionKind.RETURNED_APPLICATION: {"days": 180, "grace_days": 30},
    RetentionKind.REVOKED_VERIFICATION: {"days": 365, "grace_days": 0},
    RetentionKind.CLOSED_VERIFICATION_REQUEST: {"days": 365, "grace_days": 0},
    RetentionKind.UNUSED_ACCOUNT: {"days": 365, "grace_days": 0},
}
# The kinds whose records get a reminder before the run acts on them (drafts are erased,
# returned applications withdrawn), and the fewest days between the reminder and the
# action: with none, the run that mails the reminder would act straight after.
REMINDED_KINDS = (RetentionKind.DRAFT_APPLICATION, RetentionKind.RETURNED_APPLICATION)
GRACE_DAYS_MIN = 1


class RetentionPolicy(models.Model):
    """How long one kind of record is kept. Edited by superadmins (audited)."""

    kind = models.CharField(max_length=40, choices=RetentionKind.choices, unique=True)
    days = models.PositiveIntegerField(_("days kept"))
    grace_days = models.PositiveIntegerField(_("days between the reminder and the erasure"), default=0)
    enabled = models.BooleanField(_("applied by the daily run"), default=True)
    changed_at = models.DateTimeField(null=True, blank=True)
    changed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")

    class Meta:
        ordering = ["kind"]

    def __str__(self):
        # Also the audit log's snapshot of the target, stored in English (audit _target_fields)
        # and said in the reader's language from the kind (monitoring.auditlog.TARGET_LABELS).
        return str(self.get_kind_display())

    @property
    def days_after_reminder(self) -> int:
        """The days the run leaves between a record's reminder and acting on it: ``grace_days``,
        and a day at least (a policy stored with none counts as one)."""
        return max(self.grace_days, GRACE_DAYS_MIN)


class HoldTarget(models.TextChoices):
    # A hold on a person covers every record of theirs.
    PERSON = "accounts.user", _("Person (account)")
    APPLICATION = "onboarding.application", _("Onboarding application")
    VERIFICATION = "verification.governmentprofile", _("Verification record")


class LegalHold(models.Model):
    """A record (or a person) retention must not touch while the hold is active.
    Set and released by superadmins, with a reason; both audited."""

    target_type = models.CharField(_("held record"), max_length=64, choices=HoldTarget.choices)
    target_id = models.BigIntegerField(_("record number"))
    reason = models.CharField(_("reason"), max_length=500)
    set_at = models.DateTimeField()
    set_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    released_at = models.DateTimeField(null=True, blank=True)
    released_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+")
    release_reason = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["-set_at"]
        constraints = [
            models.UniqueConstraint(fields=["target_type", "target_id"], condition=Q(released_at__isnull=True),
                                    name="privacy_one_active_hold_per_record"),
        ]

    def __str__(self):
        # Also the audit log's snapshot of the target, stored in English (audit _target_fields)
        # and said in the reader's language from the kind and number (monitoring.auditlog.TARGET_LABELS).
        return f"{self.get_target_type_display()} {self.target_id}"


class RetentionMark(models.Model):
    """What retention did to one record: when its reminder went and when it was
    reduced, so that a second run does nothing again."""

    kind = models.CharField(max_length=40, choices=RetentionKind.choices)
    target_id = models.BigIntegerField()
    reminded_at = models.DateTimeField(null=True, blank=True)
    # The day (India's) its last reminder named, from which the run may act on it: a
    # policy changed after the reminder never brings that day forward.
    due_on = models.DateField(null=True, blank=True)
    done_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["kind", "target_id"], name="privacy_one_mark_per_record")]


class RetentionRun(models.Model):
    """One run of the retention rules and its counts per kind (never contents), saved with
    each batch it commits: a run cut short (its worker killed) keeps what it did, with no
    ``finished_at``. One stopped before its end (its time limit) is ``stopped``; the kinds
    whose rule failed with an error, the others applied, are ``failed``."""

    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    counts = models.JSONField(default=dict, blank=True)
    stopped = models.BooleanField(default=False, db_default=False)
    failed = models.JSONField(default=list, blank=True, db_default=[])

    class Meta:
        ordering = ["-started_at"]

    def kind_rows(self) -> list[tuple[str, dict, bool]]:
        """(the kind's name, in the active language; its counts; whether its rule failed) of
        each kind the run applied, as the superadmins' page lists them. A kind no longer
        known keeps its stored code."""
        names = dict(RetentionKind.choices)
        return [(names.get(kind, kind), counts, kind in self.failed) for kind, counts in self.counts.items()]


class FileToRemove(models.Model):
    """A stored file (in the default storage, where every file of the portal is) whose row
    went (replaced, withdrawn, erased, reduced by retention) but whose removal from storage
    failed (portal.stored_files): no row leads to it any more, and it may name a person, so
    the beat job (tasks.files_left_remove) removes it once the storage lets it: those it
    has not tried yet first, then the one it tried longest ago (``tried_at``), so files the
    storage refuses for good keep none of the others waiting."""

    name = models.CharField(max_length=1024)
    recorded_at = models.DateTimeField()
    attempts = models.PositiveIntegerField(default=1)
    last_error = models.CharField(max_length=300, blank=True)
    tried_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]

    def __str__(self):
        return f"File to remove #{self.pk}"


class PrivacyNotice(models.Model):
    """One published version of the data protection notice. A published version is
    never edited: a change is a new version, which everyone accepts again at their
    next sign-in. The text in Hindi and Marathi is optional (English is shown then)."""

    version = models.CharField(_("version"), max_length=20, unique=True)
    body_en = models.TextField(_("notice in English"), max_length=20000)
    body_hi = models.TextField(_("notice in Hindi"), max_length=20000, blank=True)
    body_mr = models.TextField(_("notice in Marathi"), max_length=20000, blank=True)
    published_at = models.DateTimeField()
    published_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["-published_at", "-id"]
        get_latest_by = ["published_at", "id"]

    def __str__(self):
        return self.version

    def body_in(self, language: str) -> str:
        return {"hi": self.body_hi, "mr": self.body_mr}.get(language[:2], "") or self.body_en

    def paragraphs_in(self, language: str) -> list[str]:
        return [part.strip() for part in self.body_in(language).split("\n\n") if part.strip()]


class NoticeAcceptance(models.Model):
    """A person's acceptance of one version of the notice, and when."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notice_acceptances")
    notice = models.ForeignKey(PrivacyNotice, on_delete=models.PROTECT, related_name="acceptances")
    accepted_at = models.DateTimeField()

    class Meta:
        ordering = ["-accepted_at"]
        constraints = [models.UniqueConstraint(fields=["user", "notice"], name="privacy_accept_each_version_once")]


class PrivacyRequestKind(models.TextChoices):
    # Stored values are stable.
    ERASURE = "erasure", _("Erase my personal data")
    CORRECTION = "correction", _("Correct my personal data (needs an administrator)")


class PrivacyRequestStatus(models.TextChoices):
    OPEN = "open", _("Waiting for a decision")
    GRANTED = "granted", _("Granted")
    REFUSED = "refused", _("Refused")
    # Still waiting when the person's erasure was granted: nobody is left to decide it for.
    CLOSED = "closed", _("Closed: the account was erased")


class PrivacyRequest(models.Model):
    """A person's request under the data protection law, tracked to its decision:
    due date (settings.PRIVACY_REQUEST_DUE_DAYS), decision and reason, reminder and
    escalation (beat), each step audited and shown to the person."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL,
                             related_name="privacy_requests")
    kind = models.CharField(_("what you ask"), max_length=20, choices=PrivacyRequestKind.choices)
    details = models.TextField(_("details"), max_length=2000)
    status = models.CharField(max_length=20, choices=PrivacyRequestStatus.choices,
                              default=PrivacyRequestStatus.OPEN)
    made_at = models.DateTimeField()
    due_at = models.DateTimeField()
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    decision_reason = models.TextField(blank=True, max_length=2000)
    reminded_at = models.DateTimeField(null=True, blank=True)
    escalated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-made_at", "-id"]
        indexes = [models.Index(fields=["status", "due_at"])]


class Nominee(models.Model):
    """The person a user names to exercise their rights if they die or cannot (DPDP Act s. 14)."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="privacy_nominee")
    name = models.CharField(_("nominee's name"), max_length=150)
    email = models.EmailField(_("nominee's email address"), max_length=254)
    relationship = models.CharField(_("relationship to you"), max_length=100)
    recorded_at = models.DateTimeField()
