from django.db import models
from django.utils.translation import gettext_lazy as _


class AuditAction(models.TextChoices):
    # Stored values are stable: never rename or reuse one.
    USER_SIGNED_UP = "user.signed_up", _("User signed up")
    USER_LOGGED_IN = "user.logged_in", _("User logged in")
    USER_EMAIL_CONFIRMED = "user.email_confirmed", _("Email address confirmed")
    USER_PASSWORD_CHANGED = "user.password_changed", _("Password changed")
    USER_PASSWORD_RESET = "user.password_reset", _("Password reset")
    USER_EMAIL_CHANGED = "user.email_changed", _("Primary email changed")
    USER_EMAIL_REMOVED = "user.email_removed", _("Email address removed")
    USER_AUTHENTICATOR_ADDED = "user.authenticator_added", _("Second factor set up")
    USER_AUTHENTICATOR_RESET = "user.authenticator_reset", _("New recovery codes generated")
    USER_AUTHENTICATOR_REMOVED = "user.authenticator_removed", _("Second factor removed")
    EMAIL_RULE_CREATED = "email_rule.created", _("Official email rule created")
    EMAIL_RULE_CHANGED = "email_rule.changed", _("Official email rule changed")
    EMAIL_RULE_DELETED = "email_rule.deleted", _("Official email rule deleted")
    APPLICATION_CREATED = "application.created", _("Application started")
    APPLICATION_SECTION_SAVED = "application.section_saved", _("Application section saved")
    APPLICATION_ATTACHMENT_UPLOADED = "application.attachment_uploaded", _("Authorisation letter uploaded")
    APPLICATION_SUBMITTED = "application.submitted", _("Application submitted")
    APPLICATION_RESUBMITTED = "application.resubmitted", _("Application resubmitted")
    APPLICATION_WITHDRAWN = "application.withdrawn", _("Application withdrawn")
    APPLICATION_PDF_RENDERED = "application.pdf_rendered", _("PDF of the form generated")
    STEP_DECIDED = "step.decided", _("Decision recorded")
    STEP_REMINDED = "step.reminded", _("Approval step reminder sent")
    STEP_ESCALATED = "step.escalated", _("Approval step escalated")
    STEP_ASSIGNED = "step.assigned", _("Approval step sent to an administrator appointed since, with a new due date")
    STEP_AUTHORITY_ADDRESS_UNKNOWN = "step.authority_address_unknown", _(
        "Competent authority's address refused by the mail server as one that does not exist")
    APPLICATION_APPEALED = "application.appealed", _("Rejection appealed")
    APPLICATION_REJECTION_FINAL = "application.rejection_final", _("Appeal period ended: rejection final")
    APPLICATION_OFFICER_CHANGED = "application.officer_changed", _("Application handed over to another nodal officer")
    ORGANISATION_ACTIVATED = "organisation.activated", _("Organisation activated")
    MEMBERSHIP_GRANTED = "membership.granted", _("Organisation role granted")
    PLATFORM_ROLE_GRANTED = "platform_role.granted", _("Platform role granted")
    PLATFORM_ROLE_REVOKED = "platform_role.revoked", _("Platform role revoked")
    DOMAIN_CLAIMED = "organisation_domain.claimed", _("Email domain claimed for an organisation")
    DOMAIN_ACCEPTED = "organisation_domain.accepted", _("Email domain accepted as official")
    OFFICIAL_POWERS_ENDED = "user.official_powers_ended", _("Powers ended: the address is no longer official")
    OUTBOX_REQUEUED = "outbox.requeued", _("Outbox message re-queued")
    OUTBOX_UNKNOWN_MAILBOX_LIFTED = "outbox.unknown_mailbox_lifted", _("Refusal of an address as unknown lifted")
    USER_ACCESS_CHANGED = "user.access_changed", _("Account access changed in the Django admin")
    GROUP_PERMISSIONS_CHANGED = "group.permissions_changed", _("Group permissions changed in the Django admin")
    VERIFICATION_REQUESTED = "verification.requested", _("Verification as a government user requested")
    VERIFICATION_VERIFIED = "verification.verified", _("Government user verified")
    VERIFICATION_REJECTED = "verification.rejected", _("Verification request rejected")
    VERIFICATION_CANCELLED = "verification.cancelled", _("Verification request withdrawn")
    VERIFICATION_SUSPENDED = "verification.suspended", _("Verification suspended")
    VERIFICATION_REINSTATED = "verification.reinstated", _("Verification reinstated")
    VERIFICATION_REVOKED = "verification.revoked", _("Verification revoked")
    VERIFICATION_ENDED = "verification.ended", _("Verification ended: verified in another organisation")
    AUTO_VERIFICATION_CHANGED = "organisation.auto_verification_changed", _("Automatic verification switched on or off")
    MONITORING_EXPORTED = "monitoring.exported", _("Monitoring figures exported")
    ADOPTION_LIST_CHANGED = "adoption.list_changed", _("List of offices expected to join changed")
    ADOPTION_REMINDER_SENT = "adoption.reminder_sent", _("Reminder sent to an office expected to join")
    API_CLIENT_CREATED = "api_client.created", _("Verification API client registered")
    API_CLIENT_REVOKED = "api_client.revoked", _("Verification API client revoked")
    VERIFICATION_ADDRESS_CONFIRMED = "verification.address_confirmed", _("Official address confirmed")
    AUDIT_REDACTED = "audit.redacted", _("Personal part of audit events erased")
    RETENTION_POLICY_CHANGED = "retention.policy_changed", _("Retention policy changed")
    RETENTION_RUN = "retention.run", _("Retention run")
    LEGAL_HOLD_SET = "legal_hold.set", _("Legal hold set")
    LEGAL_HOLD_RELEASED = "legal_hold.released", _("Legal hold released")
    PRIVACY_NOTICE_PUBLISHED = "privacy_notice.published", _("Data protection notice published")
    PRIVACY_NOTICE_ACCEPTED = "privacy_notice.accepted", _("Data protection notice accepted")
    PERSONAL_DATA_EXPORTED = "personal_data.exported", _("Personal data downloaded by the person")
    PERSONAL_DATA_CORRECTED = "personal_data.corrected", _("Personal data corrected by the person")
    PRIVACY_REQUEST_MADE = "privacy_request.made", _("Data protection request made")
    PRIVACY_REQUEST_DECIDED = "privacy_request.decided", _("Data protection request decided")
    PRIVACY_REQUEST_REMINDED = "privacy_request.reminded", _("Data protection request reminder sent")
    PRIVACY_REQUEST_ESCALATED = "privacy_request.escalated", _("Data protection request escalated")
    NOMINEE_RECORDED = "privacy.nominee_recorded", _("Nominee recorded")
    BREACH_REPORT_DRAFTED = "breach_report.drafted", _("Breach report drafted")
    VISIBILITY_POLICY_CHANGED = "visibility.policy_changed", _("Profile visibility of an organisation changed")
    PERSONAL_VISIBILITY_CHANGED = "visibility.personal_changed", _("A person narrowed who sees their details")
    DIRECTORY_EXPORTED = "directory.exported", _("Directory of people exported")
    MEMBERSHIP_REVOKED = "membership.revoked", _("Organisation role revoked")
    MEMBERSHIP_EXPIRED = "membership.expired", _("Organisation role ended: its end date passed")
    PLATFORM_ROLE_EXPIRED = "platform_role.expired", _("Platform role ended: its end date passed")
    ROLE_REPORT_EXPORTED = "roles.report_exported", _("Report of who holds which role downloaded")
    ROSTER_UPLOADED = "roster.uploaded", _("Roster uploaded and checked")
    ROSTER_REFUSED = "roster.refused", _("Roster file refused when checked")
    ROSTER_APPLY_REQUESTED = "roster.apply_requested", _("Roster import started")
    ROSTER_APPLIED = "roster.applied", _("Roster import finished")
    ROSTER_APPLY_FAILED = "roster.apply_failed", _("Roster import stopped by an error")
    ROSTER_DETAILS_CHANGED = "roster.details_changed", _("Details changed from a roster")
    INVITATION_SENT = "invitation.sent", _("Invitation to sign up sent")
    INVITATION_RESENT = "invitation.resent", _("Invitation sent again")
    INVITATION_ACCEPTED = "invitation.accepted", _("Invitation accepted")
    INVITATION_CANCELLED = "invitation.cancelled", _("Invitation cancelled")
    USER_EMAIL_ADDRESS_SAVED_IN_ADMIN = "user.email_address_admin_saved", _(
        "Email address added or changed in the Django admin")
    ROSTER_ROWS_REMOVED = "roster.rows_removed", _("Roster rows removed")
    USER_EMAIL_ADDED = "user.email_added", _("Email address added")
    USER_NAME_CHANGED_IN_ADMIN = "user.name_admin_changed", _("Name changed in the Django admin")
    VERIFICATION_NAME_ACCEPTED = "verification.name_accepted", _("Name changed by the person accepted as verified")
    USER_LOGGED_OUT = "user.logged_out", _("User logged out")
    USER_RECOVERY_CODE_USED = "user.recovery_code_used", _("Recovery code used instead of the second factor")
    USER_LOGIN_FAILED = "user.login_failed", _("Wrong password refused")
    USER_SECOND_FACTOR_FAILED = "user.second_factor_failed", _("Wrong second-factor code refused")
    VERIFICATION_CONFIRMATION_REQUESTED = "verification.confirmation_requested", _(
        "Official address asked to be confirmed")
    VERIFICATION_CONFIRMATION_REMINDED = "verification.confirmation_reminded", _(
        "Reminder to confirm the official address sent")
    APPLICATION_CORRECTION_REMINDED = "application.correction_reminded", _(
        "Reminder sent to submit the returned application again before it is withdrawn")
    VERIFICATION_CONFIRMATION_RESUMED = "verification.confirmation_resumed", _(
        "Deadline to confirm the official address extended: the verification was on hold for a while")
    ORGANISATION_SUSPENDED = "organisation.suspended", _("Organisation suspended")
    ORGANISATION_REACTIVATED = "organisation.reactivated", _("Organisation reactivated")
    ROSTER_REFUSALS_EXPORTED = "roster.refusals_exported", _("Refused rows of a roster downloaded")
    APPLICATION_PLACEMENT_TOLD = "application.placement_told", _(
        "Those who act for the organisation an office is to be placed under told of its application")
    ORGANISATION_PLACEMENT_TOLD = "organisation.placement_told", _(
        "Those who act for an organisation told that an office now sits under it")
    APPROVAL_TIMINGS_CHANGED = "approval_timings.changed", _(
        "Approval timings changed (due dates, reminder, appeal period, link lifetime)")
    ORGANISATION_DETAILS_CHANGED = "organisation.details_changed", _(
        "Organisation's name, short code or district changed")
    DOMAIN_REMOVED = "organisation_domain.removed", _("Email domain removed from an organisation")
    ORGANISATION_MOVED = "organisation.moved", _(
        "Organisation moved to another state or UT, or under another organisation")


class AuditEvent(models.Model):
    """One append-only, hash-chained audit row (DESIGN §5).

    No code path updates or deletes rows; on PostgreSQL a trigger refuses it.
    The actor is a plain id plus a snapshot (not a foreign key) so that no
    cascade ever touches this table.
    """

    created_at = models.DateTimeField(db_index=True)
    actor_id = models.BigIntegerField(null=True, blank=True)
    actor_email = models.CharField(max_length=254, blank=True)
    actor_role = models.CharField(max_length=100, blank=True)
    # Where the actor acts as an organisation's admin (actor_role names "organisation_admin"):
    # the organisations they administer, [{"id": 17, "name": "..."}], as they were then. Empty
    # for every other actor, and in the events written before organisations were named.
    actor_organisations = models.JSONField(default=list, blank=True, db_default=[])  # rows written by code before it
    action = models.CharField(max_length=64, choices=AuditAction.choices, db_index=True)
    target_type = models.CharField(max_length=64, blank=True)
    target_id = models.CharField(max_length=64, blank=True)
    target_repr = models.CharField(max_length=300, blank=True)
    old_values = models.JSONField(default=dict, blank=True)
    new_values = models.JSONField(default=dict, blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=400, blank=True)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64, unique=True)
    # The personal part (actor_email, ip, user_agent, target_repr and the values under
    # personal_keys in old_values/new_values) is hashed into the chain only as its
    # keyed digest, so that it can be erased (redacted) without breaking the chain:
    # redaction empties it and stores the digest here (see portal/audit/erasure.py).
    personal_keys = models.JSONField(default=list, blank=True)
    personal_digest = models.CharField(max_length=64, blank=True)
    redacted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["target_type", "target_id"]), models.Index(fields=["actor_id"])]

    def __str__(self):
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.action} {self.target_repr}"


class AuditChainHead(models.Model):
    """The newest event of the chain (one row), moved forward with every append in
    the same transaction. ``verify_audit`` compares it with the last row and its
    count with the rows, so rows deleted from the end of the log are detected too.

    ``seal`` is an HMAC of the other fields under the audit key, so the head cannot
    be moved back without the key. Events up to ``keyed_after_id`` were written
    before the chain was keyed (plain SHA-256); every later one is HMAC-SHA256."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    last_event_id = models.BigIntegerField(default=0)
    last_hash = models.CharField(max_length=64)
    count = models.BigIntegerField(default=0)
    keyed_after_id = models.BigIntegerField(default=0)
    # Events up to split_after_id hash their personal part whole (they cannot be
    # redacted); later ones hash its digest. ``redacted`` counts the redacted events.
    split_after_id = models.BigIntegerField(default=0)
    redacted = models.BigIntegerField(default=0)
    seal = models.CharField(max_length=64, blank=True)
