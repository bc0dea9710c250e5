from django.db import models
from django.db.models import Q
from django.utils.translation import gettext, gettext_noop
from django.utils.translation import gettext_lazy as _

from portal.redaction import LINK_REMOVED


class OutboxStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    SENDING = "sending", _("Being sent")
    SENT = "sent", _("Sent")
    FAILED = "failed", _("Failed (gave up)")


class OutboxPriority(models.IntegerChoices):
    """Which mail a sender takes first (portal/mail/delivery.py): lower goes sooner.
    Stored in every row: never renumber (new values go in the gaps)."""

    # A person waits for it on a page or against an expiry: a sign-in or sign-up code,
    # a password reset, an address to confirm, the competent authority's link.
    URGENT = 10, _("Urgent")
    # Any other mail one action causes (what is not marked is this).
    NORMAL = 20, _("Normal")
    # Mass mail a batch job writes: a roster's invitations, adoption reminders, the
    # deadline, retention and verification jobs' reminders. Sent after the others (their
    # tasks in a queue of their own: portal.mail.tasks.BULK_QUEUE).
    BULK = 30, _("Bulk")


def with_priority(message, priority: OutboxPriority, *, asked_for: bool = False):
    """``message`` (an EmailMessage to send through the outbox), marked to be stored with
    ``priority``; a message not marked is stored as NORMAL. ``asked_for``: its recipient
    asked for it on a page (OutboxMessage.asked_for)."""
    message.outbox_priority = OutboxPriority(priority)
    message.outbox_asked_for = asked_for
    return message


def with_topic(message, topic: str):
    """``message``, marked to be stored under ``topic`` (OutboxMessage.topic)."""
    message.outbox_topic = topic
    return message


# What a message left unsent by services.outbox_drop says (its page reads it, translated).
NOT_SENT_NO_LONGER_HOLDS = gettext_noop(
    "Not sent: what it said no longer held before the mail server could take it (its link was replaced, or what it "
    "asked for was decided or closed).")
PORTAL_OUTCOMES = frozenset({NOT_SENT_NO_LONGER_HOLDS})


class OutboxMessage(models.Model):
    """An email the portal sends, written in the transaction that caused it (DESIGN §5)."""

    message_id = models.CharField(max_length=200, unique=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    # Stored whole, however long: it is sent from here. The longest the portal builds names
    # organisations in two languages (placement_made: two in each), each of 200 characters
    # typed and up to four times that once its addresses are made inert (portal/text.py).
    subject = models.TextField()
    from_email = models.CharField(max_length=300)
    to = models.JSONField(default=list)
    cc = models.JSONField(default=list)
    bcc = models.JSONField(default=list)
    reply_to = models.JSONField(default=list)
    body = models.TextField()
    html_body = models.TextField(blank=True)
    # [{"filename": ..., "mimetype": ..., "content_b64": ...}]
    attachments = models.JSONField(default=list)
    headers = models.JSONField(default=dict)
    status = models.CharField(max_length=10, choices=OutboxStatus.choices, default=OutboxStatus.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    # Attempts the mail server refused for good (5xx, portal/mail/delivery.py): at
    # OUTBOX_MAX_ATTEMPTS the message is given up. A relay that cannot be reached or says
    # "later" (4xx) is not counted: it is waited out for OUTBOX_GIVE_UP_HOURS from the
    # first failure (``failing_since``; both start again when a superadmin queues it again).
    refusals = models.PositiveSmallIntegerField(default=0, db_default=0)  # rows written by code before it
    failing_since = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    # While SENDING: which claim took the row (the key of the lock its sender holds,
    # portal/mail/claims.py), when, and until when the claim stands if that sender
    # cannot be asked whether it is still alive (then the sweep takes the row again).
    claim_key = models.IntegerField(null=True, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    claimed_until = models.DateTimeField(null=True, blank=True)
    # A database default too: rows written by code before it (during an upgrade) are NORMAL.
    priority = models.PositiveSmallIntegerField(choices=OutboxPriority.choices, default=OutboxPriority.NORMAL,
                                                db_default=OutboxPriority.NORMAL)
    # Mail its recipient has just asked for on a page (allauth's: a code, a reset, an address
    # to confirm), not mail the portal sends them of its own accord (a competent authority's
    # link, urgent as it is, nor an invitation): offered to the relay even when their mailbox
    # was refused as unknown before they asked (UnknownMailbox: created since, a new joiner's).
    # A database default too, as priority's.
    asked_for = models.BooleanField(default=False, db_default=False)
    # What the message is about when a later event may make it wrong to send: a competent
    # authority's link (replaced by a new one, or its application decided or withdrawn).
    # outbox_drop removes the messages under it still waiting to be sent; "" for most.
    topic = models.CharField(max_length=100, blank=True, default="", db_default="")

    class Meta:
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["status", "next_attempt_at"]),
            # The senders' claim (portal/mail/delivery.py): the open rows in the order they
            # are taken, so that a claim reads its batch from the front of the index.
            models.Index(fields=["priority", "next_attempt_at", "id"], name="outbox_claim_order",
                         condition=Q(status__in=[OutboxStatus.PENDING, OutboxStatus.SENDING])),
            models.Index(fields=["topic"], name="outbox_topic_pending",
                         condition=Q(status=OutboxStatus.PENDING) & ~Q(topic="")),
        ]

    def __str__(self):
        # Also the audit log's snapshot of the target (a message queued again): no personal
        # data, always English. The recipients' addresses there outlived their erasure.
        return f"Outbox message #{self.pk}"

    @property
    def outcome_said(self) -> str | None:
        """What the portal itself wrote as the outcome (``last_error``), in the page's
        language; None for a delivery record (the mail server's replies, as they came,
        and what was done of them: English, as written)."""
        return gettext(self.last_error) if self.last_error in PORTAL_OUTCOMES else None

    @property
    def links_removed(self) -> bool:
        """Whether links that worked as a key (the competent authority's) were taken out
        of this copy once it was sent or given up (portal/mail/delivery.py)."""
        return LINK_REMOVED in self.body or LINK_REMOVED in self.html_body


class UnknownMailbox(models.Model):
    """A mailbox the mail relay refused for good as one that does not exist ("550 5.1.1
    User unknown": portal/mail/refusals.py). While it stands (not lifted by a superadmin,
    and refused again within OUTBOX_KEEP_DAYS), no message is offered to the relay for it:
    each is recorded as failed for that recipient at once (portal/mail/delivery.py), the
    relay not asked again and again for an address it does not know (its reputation).
    Mail the person asked for since its last refusal (OutboxMessage.asked_for) is offered
    all the same: refused again, the record is renewed; taken, it is removed (the mailbox
    exists now)."""

    # normalise_mailbox's form of the address (portal/accounts/official_email.py).
    mailbox = models.CharField(max_length=320, unique=True)
    first_refused_at = models.DateTimeField()
    last_refused_at = models.DateTimeField(db_index=True)
    # How many times the relay refused it (a message offered to it before it was recorded,
    # or after a superadmin lifted the refusal).
    refusals = models.PositiveIntegerField(default=1)
    # The relay's last answer: its code and text ("550 5.1.1 <...>: Recipient address rejected: User unknown").
    reply = models.CharField(max_length=1000)
    # When a superadmin lifted the refusal (the next message is offered to the relay again);
    # a new refusal puts it back.
    lifted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-last_refused_at", "-id"]

    def __str__(self):
        # The audit log's snapshot of the target (a refusal lifted): no address, always English.
        return f"Unknown mailbox #{self.pk}"
