"""Roster imports and invitations.

A ``RosterImport`` is one uploaded file: its rows are checked and staged in
``RosterRow`` (one row a line of the spreadsheet, with what applying it would do),
and the counts the preview shows are kept on the import, so that reloading the
preview neither reads the file again nor recomputes anything. Applying it (a Celery
task) records its progress on the same row.

An ``Invitation`` asks a person who has no account with a confirmed address yet to
sign up with the address on the roster: confirming that address verifies them in
the organisation. Its link's token is stored only as a hash.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from portal.accounts.official_email import normalise_address

# The longest value each column keeps (the government profile's own limits; the name
# as the user model keeps it). Longer values are refused, not cut.
NAME_MAX = 150
EMAIL_MAX = 254
DESIGNATION_MAX = 150
OFFICE_MAX = 200
EMPLOYEE_CODE_MAX = 50
MOBILE_MAX = 13  # stored normalised: "+91" and ten digits
RAW_MAX = 300  # what a refused row keeps of each cell, for the list of refusals


# Why an import stopped when the admin who asked for it no longer administers the
# organisation, or it is not active (RosterImport.error; its page says so).
NOT_ALLOWED = "not_allowed"


class RosterStatus(models.TextChoices):
    # Stored values are stable: they appear in audit rows.
    PREVIEWED = "previewed", _("Checked, waiting to be applied")
    QUEUED = "queued", _("Waiting to be applied")
    APPLYING = "applying", _("Being applied")
    APPLIED = "applied", _("Applied")
    FAILED = "failed", _("Stopped by an error")


# Why a roster's row was invited but not mailed (RosterRow.problems; refusals.REASONS says it):
# applied, not refused, so not among the rows to correct (selectors.rows_to_correct).
MAIL_HELD = "mail_held"


class RowOutcome(models.TextChoices):
    """What applying a row does."""

    # Stored values are stable.
    VERIFY = "verify", _("Verified at once (has an account with this confirmed address)")
    INVITE = "invite", _("Invited to sign up")
    CHANGE = "change", _("Details changed")
    UNCHANGED = "unchanged", _("Unchanged")
    REFUSED = "refused", _("Refused")


class RosterImport(models.Model):
    organisation = models.ForeignKey("organisations.Organisation", on_delete=models.PROTECT, related_name="roster_imports")
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    uploaded_at = models.DateTimeField()
    file_name = models.CharField(max_length=200)
    file_sha256 = models.CharField(max_length=64)
    file_format = models.CharField(max_length=4)  # "csv" or "xlsx"
    row_count = models.PositiveIntegerField(default=0)
    status = models.CharField(max_length=20, choices=RosterStatus.choices, default=RosterStatus.PREVIEWED)
    # The preview: rows per outcome, and refused rows per kind of problem {kind: count}.
    verify_count = models.PositiveIntegerField(default=0)
    invite_count = models.PositiveIntegerField(default=0)
    change_count = models.PositiveIntegerField(default=0)
    unchanged_count = models.PositiveIntegerField(default=0)
    refused_count = models.PositiveIntegerField(default=0)
    problems = models.JSONField(default=dict, blank=True)
    # Applying: who asked, when, and how far it got (rows done of rows to do).
    apply_requested_at = models.DateTimeField(null=True, blank=True)
    apply_requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                           related_name="+")
    progress_done = models.PositiveIntegerField(default=0)
    progress_total = models.PositiveIntegerField(default=0)
    # When the apply was last queued or made progress (a row verified, a batch applied): one
    # queued or being applied with neither for rosters.apply.APPLY_IDLE_AFTER lost its task
    # (the broker down when it was queued, a worker that died), and the beat job queues it
    # again (tasks.roster_applies_resume).
    progressed_at = models.DateTimeField(null=True, blank=True)
    # Runs of the apply task in a row begun since its last progress (a batch rolled back by
    # a transient database error or cut at the time limit, a worker killed): past
    # rosters.apply.APPLY_RUNS_WITHOUT_PROGRESS the import is stopped; any progress starts
    # the count again.
    runs_without_progress = models.PositiveSmallIntegerField(default=0, db_default=0)
    applied_at = models.DateTimeField(null=True, blank=True)
    # What applying did: {"verified": n, "invited": n, "changed": n, "skipped": n}
    outcome = models.JSONField(default=dict, blank=True)
    error = models.CharField(max_length=500, blank=True)
    # When its rows (the people's details, as uploaded) were removed, ROSTER_ROWS_KEEP_DAYS
    # after it was applied or, never applied, uploaded: it cannot be applied after that.
    rows_removed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-uploaded_at", "-id"]
        indexes = [models.Index(fields=["organisation", "uploaded_at"])]

    def __str__(self):
        # Also the audit log's snapshot of the target: no personal data.
        return f"Roster import #{self.pk}"

    @property
    def added_count(self):
        return self.verify_count + self.invite_count

    @property
    def to_apply(self):
        return self.verify_count + self.invite_count + self.change_count

    @property
    def skipped_count(self):
        """Rows that applying skipped, each with its reason kept on it (rosters.apply)."""
        return (self.outcome or {}).get("skipped", 0)

    @property
    def mail_held_count(self):
        """Rows that applying invited without a mail (MAIL_HELD), listed with the others."""
        return (self.outcome or {}).get("mail_held", 0)

    @property
    def left_out_count(self):
        """The rows of the list of refusals: refused at the preview, or skipped when applied."""
        return self.refused_count + self.skipped_count

    @property
    def progress_percent(self):
        if not self.progress_total:
            return 100 if self.status == RosterStatus.APPLIED else 0
        return min(100, self.progress_done * 100 // self.progress_total)

    @property
    def is_running(self):
        return self.status in (RosterStatus.QUEUED, RosterStatus.APPLYING)

    @property
    def may_carry_on(self):
        """Stopped because the admin who asked for it might no longer decide here (their
        role ended, or the organisation was not active), its rows still kept: asked for
        again (rosters.services.roster_apply_request), it carries on from the rows not done."""
        return self.status == RosterStatus.FAILED and self.error == NOT_ALLOWED and self.rows_removed_at is None


class RosterRow(models.Model):
    """One line of an uploaded roster (line 1 is the header, so the first person is
    line 2), as checked; the staging table the import is applied from."""

    roster = models.ForeignKey(RosterImport, on_delete=models.CASCADE, related_name="rows")
    line = models.PositiveIntegerField()
    name = models.CharField(max_length=RAW_MAX, blank=True)
    email = models.CharField(max_length=RAW_MAX, blank=True)  # normalised (lower case) when valid
    # The mailbox the address reaches, as people are compared (official_email.normalise_address:
    # no "+tag", Gmail's dots ignored); "" when the address is not valid. Worked out once a row
    # when it is staged: duplicates, and invitations waiting here, are found by it.
    mailbox = models.CharField(max_length=RAW_MAX, blank=True)
    mobile = models.CharField(max_length=RAW_MAX, blank=True)  # normalised (+91...) when valid
    designation = models.CharField(max_length=RAW_MAX, blank=True)
    employee_code = models.CharField(max_length=RAW_MAX, blank=True)
    office = models.CharField(max_length=RAW_MAX, blank=True)
    superannuation_date = models.DateField(null=True, blank=True)
    superannuation_raw = models.CharField(max_length=RAW_MAX, blank=True)
    outcome = models.CharField(max_length=10, choices=RowOutcome.choices)
    # Problems of a refused row, separated by spaces: a kind (rosters.checks.PROBLEMS),
    # with the columns concerned after a colon when it names them ("required:mobile,office").
    problems = models.CharField(max_length=300, blank=True)
    duplicate_of = models.PositiveIntegerField(null=True, blank=True)  # the earlier line with the same mailbox (or mobile)
    done = models.BooleanField(default=False)

    @property
    def skipped(self):
        """Whether a row of the list of refusals is one the preview let through, skipped
        when applied (its reason kept on it), rather than refused at the preview."""
        return self.outcome != RowOutcome.REFUSED and not self.mail_held

    @property
    def mail_held(self):
        """Whether applying the row invited the person without mailing them: their mailbox
        had the day's invitation mails already (MAIL_HELD)."""
        return self.problems == "mail_held"

    class Meta:
        ordering = ["roster", "line"]
        constraints = [models.UniqueConstraint(fields=["roster", "line"], name="rosters_one_row_per_line")]
        indexes = [
            models.Index(fields=["roster", "email"]),
            models.Index(fields=["roster", "outcome", "line"]),
        ]

    def __str__(self):
        return f"Roster row {self.roster_id}:{self.line}"


class InvitationStatus(models.TextChoices):
    # Stored values are stable: they appear in audit rows.
    PENDING = "pending", _("Waiting for the person to sign up")
    ACCEPTED = "accepted", _("Accepted")
    CANCELLED = "cancelled", _("Cancelled")


class Invitation(models.Model):
    """An organisation invites a person on its roster to sign up with their official
    address; confirming that address verifies them there (method: roster)."""

    # No index of its own: the (organisation, status) index serves it (a roster adds
    # thousands of rows at once, and each index costs every one of them).
    organisation = models.ForeignKey("organisations.Organisation", on_delete=models.PROTECT, related_name="invitations",
                                     db_index=False)
    roster = models.ForeignKey(RosterImport, null=True, blank=True, on_delete=models.SET_NULL, related_name="invitations")
    email = models.CharField(max_length=EMAIL_MAX)  # normalised: lower case
    # The mailbox it reaches (official_email.normalise_address): one invitation waits per
    # mailbox in an organisation, however its address is written ("a+1@", "a+2@" are "a@").
    mailbox = models.CharField(max_length=EMAIL_MAX)
    name = models.CharField(max_length=NAME_MAX, blank=True)
    designation = models.CharField(max_length=DESIGNATION_MAX)
    office = models.CharField(max_length=OFFICE_MAX)
    employee_code = models.CharField(max_length=EMPLOYEE_CODE_MAX)
    mobile = models.CharField(max_length=MOBILE_MAX)
    superannuation_date = models.DateField(null=True, blank=True)
    status = models.CharField(max_length=20, choices=InvitationStatus.choices, default=InvitationStatus.PENDING)
    # Unique by a constraint (one index): unique=True would add a second index for
    # LIKE queries, which a hash never needs.
    token_hash = models.CharField(max_length=64)
    invited_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField()
    sent_at = models.DateTimeField()
    send_count = models.PositiveSmallIntegerField(default=1)
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    # Indexed only where set (below): a new invitation adds nothing to that index.
    accepted_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+", db_index=False)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["email", "status"]), models.Index(fields=["organisation", "status"]),
                   models.Index(fields=["accepted_by"], condition=Q(accepted_by__isnull=False), name="rosters_inv_accepted_by"),
                   # Those made but not mailed, which the hourly job mails (invitations.held_invitations_send):
                   # a new invitation, mailed, adds nothing to it.
                   models.Index(fields=["id"], condition=Q(status=InvitationStatus.PENDING, send_count=0),
                                name="rosters_inv_held")]
        constraints = [
            models.UniqueConstraint(fields=["organisation", "mailbox"], condition=Q(status=InvitationStatus.PENDING),
                                    name="rosters_one_pending_invitation_per_mailbox"),
            models.UniqueConstraint(fields=["token_hash"], name="rosters_one_invitation_per_token"),
        ]

    def __str__(self):
        return f"Invitation #{self.pk}"

    def save(self, *args, **kwargs):
        if not self.mailbox:
            self.mailbox = mailbox_of(self.email)
        super().save(*args, **kwargs)


def mailbox_of(email: str) -> str:
    """The mailbox a valid address reaches, as people are compared (the address itself
    should it not normalise)."""
    return normalise_address(email) or email


class InvitationMail(models.Model):
    """An invitation mail the portal sent to a mailbox (by a roster, or sent again), by any
    organisation: at most INVITATION_MAILS_PER_ADDRESS_PER_DAY go to one mailbox in 24
    hours (rosters.invitations), however many organisations invite it and however often
    an invitation is cancelled and the address uploaded again. Kept a day or two (the
    roster job removes older rows), and with the person's other records on erasure."""

    # The mailbox, as Invitation.mailbox (official_email.normalise_address).
    mailbox = models.CharField(max_length=EMAIL_MAX)
    sent_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["mailbox", "sent_at"], name="rosters_inv_mail_mailbox_at")]

    def __str__(self):
        return f"Invitation mail #{self.pk}"
