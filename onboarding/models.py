from datetime import datetime

from django.conf import settings
from django.db import models
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from guardian.models import UserObjectPermissionBase

from portal.organisations.states import JURISDICTION_CHOICES

# Why the system withdrew an application (its audit row's "reason"): stable values. Its
# officer's account erased; returned for correction and not corrected in time.
WITHDRAWN_ACCOUNT_ERASED = "account_erased"
WITHDRAWN_NOT_CORRECTED = "not_corrected"


class ApplicationStatus(models.TextChoices):
    # Stored values are stable: they appear in audit rows and emails.
    DRAFT = "draft", _("Draft")
    WITH_AUTHORITY = "with_authority", _("With the competent authority")
    CHANGES_REQUESTED = "changes_requested", _("Returned for correction")
    WITH_STATE = "with_state", _("With the state administrators")
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Rejected")
    UNDER_APPEAL = "under_appeal", _("Under appeal")
    REJECTED_FINAL = "rejected_final", _("Rejected (final)")
    WITHDRAWN = "withdrawn", _("Withdrawn")


EDITABLE_STATUSES = {ApplicationStatus.DRAFT, ApplicationStatus.CHANGES_REQUESTED}
OPEN_STATUSES = {
    ApplicationStatus.DRAFT,
    ApplicationStatus.WITH_AUTHORITY,
    ApplicationStatus.CHANGES_REQUESTED,
    ApplicationStatus.WITH_STATE,
}


class Section(models.TextChoices):
    ORGANISATION = "organisation", _("Organisation details")
    HIERARCHY = "hierarchy", _("Place in the hierarchy")
    NODAL_OFFICER = "nodal_officer", _("Nodal officer")
    COMPETENT_AUTHORITY = "competent_authority", _("Competent authority")
    INTEGRATION = "integration", _("Integration with eGov applications")
    DECLARATIONS = "declarations", _("Data protection notice and undertakings")
    AUTHORISATION_LETTER = "authorisation_letter", _("Signed authorisation letter")


class SectionStatus(models.TextChoices):
    NOT_STARTED = "not_started", _("Not started")
    IN_PROGRESS = "in_progress", _("In progress")
    COMPLETE = "complete", _("Complete")
    HAS_ERRORS = "has_errors", _("Has errors")


class Application(models.Model):
    """An organisation's onboarding application, filled by its nodal officer."""

    reference = models.CharField(max_length=20, unique=True, null=True, blank=True)
    nodal_officer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="applications")
    status = models.CharField(max_length=20, choices=ApplicationStatus.choices, default=ApplicationStatus.DRAFT)
    # The draft: {section: {field: raw value}}; saved section by section.
    data = models.JSONField(default=dict, blank=True)
    section_status = models.JSONField(default=dict, blank=True)
    # Bumped on every change of content; the PDF is rendered once per version.
    version = models.PositiveIntegerField(default=1)
    # Denormalised from the organisation section, for lists, routing and scoping.
    organisation_name = models.CharField(max_length=200, blank=True)
    jurisdiction = models.CharField(max_length=10, choices=JURISDICTION_CHOICES, blank=True, db_index=True)
    organisation = models.ForeignKey(
        "organisations.Organisation", null=True, blank=True, on_delete=models.PROTECT, related_name="applications"
    )
    declarations_version = models.CharField(max_length=20, blank=True)
    declarations_accepted_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    # When the approval letter last could not be rendered (over the render limits): the beat
    # job tries such letters after those never tried (onboarding/approval/letters.py).
    approval_letter_failed_at = models.DateTimeField(null=True, blank=True)
    # Who acts for the organisation the office is to be placed under (its admins and those
    # above it, or the superadmins where it has none) told, once (onboarding/approval/placement.py):
    # which organisation, when, and whether that was the superadmins.
    placement_told_to = models.ForeignKey("organisations.Organisation", null=True, blank=True,
                                          on_delete=models.SET_NULL, related_name="+")
    placement_told_at = models.DateTimeField(null=True, blank=True)
    placement_told_superadmins = models.BooleanField(default=False, db_default=False)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["status", "jurisdiction"])]

    def __str__(self):
        # Also the audit log's snapshot of the target: always English.
        return self.reference or f"Draft #{self.pk}"

    @property
    def display_reference(self):
        """The reference, or "Draft #<id>" in the reader's language, for pages."""
        return self.reference or gettext("Draft #%(id)s") % {"id": self.pk}

    @property
    def is_editable(self):
        return self.status in EDITABLE_STATUSES

    @property
    def is_open(self):
        return self.status in OPEN_STATUSES

    def section_data(self, section):
        return (self.data or {}).get(str(section), {})

    def status_of(self, section):
        return (self.section_status or {}).get(str(section), SectionStatus.NOT_STARTED)

    @property
    def officer_name(self):
        """The nodal officer as the form names them (their account may carry no name)."""
        name = (self.section_data(Section.NODAL_OFFICER).get("name") or "").strip()
        return name or self.nodal_officer.full_name

    @property
    def officer_designation(self):
        return (self.section_data(Section.NODAL_OFFICER).get("designation") or "").strip()


class ApplicationVersion(models.Model):
    """A frozen copy of the application as it was sent for a decision."""

    application = models.ForeignKey(Application, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    data = models.JSONField()
    # Application.version as it was sent (a form PDF of that version is what the decision
    # was asked on); null for submissions made before it was recorded.
    form_version = models.PositiveIntegerField(null=True)
    # A version sent again after a return for correction: the nodal officer's answer to the
    # remarks it was returned with (what they changed and why), for whoever decides next.
    reply = models.TextField(blank=True, default="", db_default="")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["number"]
        constraints = [models.UniqueConstraint(fields=["application", "number"], name="uniq_application_version")]


class ReferenceCounter(models.Model):
    """Issues application reference numbers ONB-<year>-<number>, gap-free per year."""

    year = models.PositiveIntegerField(primary_key=True)
    last = models.PositiveIntegerField(default=0)


class Attachment(models.Model):
    """The authorisation letter signed by the competent authority."""

    application = models.ForeignKey(Application, on_delete=models.CASCADE, related_name="attachments")
    file = models.FileField(upload_to="letters/%Y/%m/")
    original_name = models.CharField(max_length=255)
    content_type = models.CharField(max_length=50)
    size = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)
    pages = models.PositiveSmallIntegerField(default=1)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    uploaded_at = models.DateTimeField(auto_now_add=True)
    is_current = models.BooleanField(default=True)

    class Meta:
        ordering = ["-uploaded_at"]

    def __str__(self):
        return self.original_name


class DocumentKind(models.TextChoices):
    FORM_PDF = "form_pdf", _("Filled onboarding form")
    APPROVAL_LETTER = "approval_letter", _("Approval letter")


class ApplicationDocument(models.Model):
    """A generated PDF, rendered once per application version and language and then
    served from storage: English, or the application's second language (Hindi, or
    Marathi for Maharashtra: notifications.mail_languages). Of a draft's versions since
    it was last sent for a decision, only the latest's form PDF is kept."""

    application = models.ForeignKey(Application, on_delete=models.CASCADE, related_name="documents")
    kind = models.CharField(max_length=20, choices=DocumentKind.choices)
    version = models.PositiveIntegerField()
    language = models.CharField(max_length=10, default="en", db_default="en")  # rows written by code before it
    file = models.FileField(upload_to="documents/%Y/%m/")
    sha256 = models.CharField(max_length=64)
    size = models.PositiveIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["application", "kind", "version", "language"],
                                               name="uniq_document_version_language")]


class ApplicationUserObjectPermission(UserObjectPermissionBase):
    """guardian: direct foreign-key permission table for applications."""

    content_object = models.ForeignKey(Application, on_delete=models.CASCADE)


class Stage(models.TextChoices):
    # Stored values are stable: they appear in audit rows.
    AUTHORITY = "authority", _("Competent authority")
    STATE = "state", _("State or central administrators")
    APPEAL = "appeal", _("Appeal to the superadmins")


class Decision(models.TextChoices):
    # Stored values are stable: they appear in audit rows.
    APPROVE = "approve", _("Approve")
    RETURN = "return", _("Return for correction")
    REJECT = "reject", _("Reject")
    OVERTURN = "overturn", _("Overturn the rejection")
    UPHOLD = "uphold", _("Uphold the rejection")
    CANCELLED = "cancelled", _("Closed: the application was withdrawn")


# A decision as what happened, where a past one is told (the approval letter, the earlier
# decisions, the timeline); Decision's labels are the actions offered on the decision form.
DECISION_OUTCOMES = {
    Decision.APPROVE: _("Approved"),
    Decision.RETURN: _("Returned for correction"),
    Decision.REJECT: _("Rejected"),
    Decision.OVERTURN: _("Rejection overturned"),
    Decision.UPHOLD: _("Rejection upheld"),
    Decision.CANCELLED: _("Closed: the application was withdrawn"),
}


class ApprovalStep(models.Model):
    """One stage of an application's approval (DESIGN §4): who must act, by when,
    and what they decided. At most one step of an application is open (no decision)."""

    application = models.ForeignKey(Application, on_delete=models.CASCADE, related_name="steps")
    stage = models.CharField(max_length=20, choices=Stage.choices)
    # The competent authority's official address (authority steps).
    assignee_email = models.EmailField(max_length=254, blank=True)
    assignee_name = models.CharField(max_length=150, blank=True)
    # State code or CENTRAL (state steps); blank for appeals (superadmins).
    jurisdiction = models.CharField(max_length=10, choices=JURISDICTION_CHOICES, blank=True)
    # The ApplicationVersion number this step decides on.
    version_number = models.PositiveIntegerField()
    # The nodal officer's grounds (appeal steps).
    grounds = models.TextField(blank=True)
    opened_at = models.DateTimeField()
    # Given a new due date as if it opened then (nobody could decide it until an administrator
    # was appointed): when; its due date, reminder day and link lifetime follow the timings in
    # force then. Null: those in force when it opened (``timed_since``).
    reopened_at = models.DateTimeField(null=True, blank=True)
    due_at = models.DateTimeField()
    decision = models.CharField(max_length=20, choices=Decision.choices, blank=True, default="")
    remarks = models.TextField(blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    # Null for the competent authority, who has no account (decided_by_email names them),
    # unless someone was signed in where its link decided: then that account.
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    decided_by_email = models.CharField(max_length=254, blank=True)
    # An authority step decided through its link: the accounts that held the link's address
    # (any of their addresses, any "+tag" form of it) when it decided or since the step opened,
    # ids (``accounts_holding``). They are refused
    # the next level and the appeal as that address is, even after removing it from their
    # account (``selectors.refused_deciders``). [] otherwise, and for a link decided before
    # they were recorded (the addresses the accounts hold now are compared, as before).
    link_holders = models.JSONField(default=list, blank=True,
                                    db_default=models.Value([], output_field=models.JSONField()))
    ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=400, blank=True)
    reminded_at = models.DateTimeField(null=True, blank=True)
    escalated_at = models.DateTimeField(null=True, blank=True)
    # A state step or an appeal that nobody may decide (no administrator of its jurisdiction,
    # and every superadmin one the decision refuses: ``selectors.deciders_to_tell``): since
    # when, for the officer's page and the monitoring; None while someone may. The deadline
    # sweep tells the first who may once one is appointed (``deadlines.undecided_steps_assign``).
    nobody_may_decide_since = models.DateTimeField(null=True, blank=True)
    # An authority step whose address the mail relay refused as one that does not exist
    # (portal/mail/refusals.py): when the nodal officer was told, once (a new link asked for
    # once the refusal is lifted lets a new refusal be told again). None otherwise.
    address_unknown_told_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["opened_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["application"], condition=models.Q(decision=""), name="uniq_open_step_per_application"
            ),
        ]
        indexes = [
            models.Index(fields=["due_at"], condition=models.Q(decision=""), name="open_step_due_idx"),
            models.Index(fields=["stage", "jurisdiction", "decision"], name="step_queue_idx"),
            # The state administrators' queue: one jurisdiction's open steps by age, as its pages
            # show them (overdue ones first, each part by age): a page is a walk along it, not a
            # sort (selectors.state_queue_page).
            models.Index(fields=["jurisdiction", "opened_at", "id", "due_at"],
                         condition=models.Q(stage="state", decision=""), name="state_queue_order_idx"),
            # The same for the administrators who decide every jurisdiction's steps (national
            # ones, superadmins): every open state step by age.
            models.Index(fields=["opened_at", "id", "due_at"], condition=models.Q(stage="state", decision=""),
                         name="state_queue_all_order_idx"),
            # How many of a jurisdiction's waiting steps are overdue: a range of it, not a read of
            # every waiting step (how many wait in all is StateQueueCount).
            models.Index(fields=["jurisdiction", "due_at"], condition=models.Q(stage="state", decision=""),
                         name="state_queue_due_idx"),
            # The open authority steps waiting on an address, found when the relay refuses it as
            # unknown (services.authority_address_unknown_tell): few, looked up by every such refusal.
            models.Index(fields=["assignee_email"], condition=models.Q(stage="authority", decision=""),
                         name="open_authority_step_email_idx"),
            # The open steps nobody may decide: few, looked at by every sweep and dashboard.
            models.Index(fields=["nobody_may_decide_since"],
                         condition=models.Q(decision="", nobody_may_decide_since__isnull=False),
                         name="open_step_no_decider_idx"),
        ]

    def __str__(self):
        return f"{self.application} · {self.get_stage_display()}"

    @property
    def is_open(self):
        return not self.decision

    @property
    def decision_outcome(self) -> str:
        """What the decision did ("Approved"), for a decision shown as history; "" while open."""
        return str(DECISION_OUTCOMES.get(self.decision, ""))

    @property
    def closed_by_portal(self) -> bool:
        """Whether the portal, not an administrator, decided this step: an appeal it closed,
        upholding the rejection, as its nodal officer's account was erased
        (approval.services.appeal_close_on_erasure). Every other decision records who made
        it (an account, or the address the link went to)."""
        return (self.stage == Stage.APPEAL and self.decision == Decision.UPHOLD
                and self.decided_by_id is None and not self.decided_by_email)

    @property
    def timed_since(self):
        """The moment whose approval timings the step follows (``ApprovalTimings.in_force_at``):
        when it was given a new due date as if it opened then, or when it opened."""
        return self.reopened_at or self.opened_at

    def is_overdue(self, now=None):
        from django.utils import timezone

        return self.is_open and self.due_at <= (now or timezone.now())


class StateQueueCount(models.Model):
    """How many state-stage steps wait for a decision in a jurisdiction, kept by a PostgreSQL
    trigger on the steps (migration 0009: every write, bulk ones included, in the writing
    transaction), so that a page of the state queue does not count every waiting step for
    its page numbers (3 ms at 10,000). Neither kept nor read on SQLite."""

    jurisdiction = models.CharField(max_length=10, primary_key=True)
    waiting = models.IntegerField(default=0)

    def __str__(self):
        return f"{self.jurisdiction}: {self.waiting}"


class AuthorityToken(models.Model):
    """A single-use link for the competent authority. Only the SHA-256 of the
    random token is stored; the token itself exists only in the email."""

    step = models.ForeignKey(ApprovalStep, on_delete=models.CASCADE, related_name="tokens")
    token_hash = models.CharField(max_length=64, unique=True)
    email = models.EmailField(max_length=254)
    # The mailbox the link was mailed to, however its address was written (accounts.mail_limits.mailbox_key:
    # no "+tag", in lower case): the requests for a decision one mailbox gets in a day are counted by it
    # (ONBOARDING_AUTHORITY_MAILS_PER_DAY). "" only in a row the release before it wrote.
    mailbox = models.CharField(max_length=254, db_default="")
    # Mailed by the deadline sweep as a reminder (the portal's own mail, one a step), not
    # asked for by a nodal officer's submission or request for a new link: not counted
    # against the mailbox's day nor the officer's share of it.
    reminder = models.BooleanField(default=False, db_default=False)
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
    superseded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["mailbox", "created_at"], name="authority_token_mailbox_idx")]

    def __str__(self):
        return f"link for {self.email} ({self.step_id})"


# The approval timings, in days, as ApprovalTimings stores them (and the audit log names them).
TIMING_FIELDS = (
    "authority_due_days", "state_due_days", "appeal_due_days",
    "reminder_days_before", "appeal_window_days", "token_ttl_days",
)
# What the superadmins set on the approval timings' row and page: the timings, and the most
# times one application may be returned for correction (a limit, not a timing: it applies to
# the decisions made after a change, so the periods of earlier timings do not keep it).
APPROVAL_SETTINGS = (*TIMING_FIELDS, "returns_max")


class ApprovalTimings(models.Model):
    """The platform's approval timings: one row (created by migration 0021 from the
    ``ONBOARDING_*_DAYS`` settings, which stay the initial values), changed by superadmins on
    their page (``approval.timings``), every change audited; with ``returns_max``, the most
    times one application may be returned for correction (migration 0024, from
    ONBOARDING_RETURNS_MAX), which applies to the decisions made after a change. A change applies to the stages
    opened, and the rejections decided, after it: ``earlier`` keeps the values each change
    replaced, with the moment it did (``until``), so that a step opened before keeps the
    reminder, the link lifetime and the appeal period it opened with (``in_force_at``);
    its due date is stored with it."""

    authority_due_days = models.PositiveSmallIntegerField(_("Days the competent authority has to decide"))
    state_due_days = models.PositiveSmallIntegerField(_("Days the state or central administrators have to decide"))
    appeal_due_days = models.PositiveSmallIntegerField(_("Days the superadmins have to decide an appeal"))
    reminder_days_before = models.PositiveSmallIntegerField(_("Days before the due date the reminder is sent"))
    appeal_window_days = models.PositiveSmallIntegerField(_("Days the nodal officer has to appeal a rejection"))
    token_ttl_days = models.PositiveSmallIntegerField(_("Days the competent authority's link works"))
    # db_default: a row the release before this field writes (it knows no such value) gets the
    # setting's own default; migration 0024 sets the existing row's from the setting.
    returns_max = models.PositiveSmallIntegerField(_("Times one application may be returned for correction"),
                                                   db_default=3)
    # [{"until": ISO moment, <TIMING_FIELDS>: days}, ...], oldest first.
    earlier = models.JSONField(default=list, db_default=models.Value([], output_field=models.JSONField()))
    changed_at = models.DateTimeField(null=True, blank=True)
    changed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")

    class Meta:
        constraints = [models.CheckConstraint(condition=models.Q(pk=1), name="approval_timings_one_row")]

    def __str__(self):
        # Also the audit log's snapshot of the target, stored in English (monitoring.auditlog.TARGET_LABELS).
        return "Approval timings"

    def values(self) -> dict[str, int]:
        """Every value the superadmins set (APPROVAL_SETTINGS)."""
        return {name: getattr(self, name) for name in APPROVAL_SETTINGS}

    def timing_values(self) -> dict[str, int]:
        """The timings only (TIMING_FIELDS), as ``earlier`` keeps each period's."""
        return {name: getattr(self, name) for name in TIMING_FIELDS}

    def in_force_at(self, moment: datetime) -> "ApprovalTimings":
        """The timings a step opened (a rejection decided) at ``moment`` keeps: those of the
        change in force then. No query."""
        for period in self.earlier:
            if moment < datetime.fromisoformat(period["until"]):
                return ApprovalTimings(**{name: period[name] for name in TIMING_FIELDS})
        return self

    def periods(self) -> list[tuple[datetime | None, datetime | None, "ApprovalTimings"]]:
        """(from, until, timings) of each period, oldest first; None for an open end."""
        result, start = [], None
        for period in self.earlier:
            until = datetime.fromisoformat(period["until"])
            result.append((start, until, ApprovalTimings(**{name: period[name] for name in TIMING_FIELDS})))
            start = until
        result.append((start, None, self))
        return result
