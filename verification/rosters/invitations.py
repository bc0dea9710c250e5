"""What applying a roster does to one person, and the invitations' own life: made
from a roster (set-based on PostgreSQL: INSERT ... SELECT from the staging table),
sent again by an admin, accepted when the person confirms the invited address
(rosters.receivers)."""

import logging
from datetime import datetime, timedelta

from allauth.account.models import EmailAddress
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.db.models import Count, Q, QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from portal.accounts.mail_limits import own_account
from portal.accounts.official_email import classify_email, classify_emails_within, email_rules
from portal.advisory import advisory_locks
from portal.among import among
from portal.audit.models import AuditAction
from portal.audit.services import audit_record, audit_record_many
from portal.deadlines import end_of_local_day
from portal.limits import WINDOW, refuse_over, refuse_over_actions, shown, shown_from
from portal.mail.models import OutboxPriority, with_topic
from portal.mail.services import outbox_drop, outbox_enqueue, outbox_enqueue_each
from portal.organisations.models import OrganisationStatus
from portal.organisations.services import LastAdmin
from portal.permissions import AnyUser
from portal.shown import check_shown
from verification import services as verification_services
from verification.models import HELD_STATUSES, STANDING, GovernmentProfile, VerificationMethod, VerificationStatus
from verification.notifications import mail_language
from verification.rosters.checks import EmailJudge, email_problem
from verification.rosters.models import (
    MAIL_HELD,
    Invitation,
    InvitationMail,
    InvitationStatus,
    RosterImport,
    RosterRow,
    RowOutcome,
)
from verification.rosters.notifications import (
    build_invitation_mails,
    invitation_link_topic,
    invitation_text,
    invitee_fills,
)
from verification.rosters.staging import holds_power_elsewhere, mobile_taken, moves_from_elsewhere, request_differs
from verification.rosters.tokens import token_new, tokens_new
from verification.selectors import (
    EndsElsewhere,
    automatic_verification_withheld,
    ends_elsewhere,
    person_request_language,
)

logger = logging.getLogger(__name__)
DETAILS = ("designation", "office", "employee_code", "mobile", "superannuation_date")
SYSTEM = "system:roster_import"
MAX_SENDS = 5  # an invitation is sent at most this many times (the first and four more)
# Least time between two sendings of one invitation while its link still works: a double
# click, or a script, sends it once an hour at most.
RESEND_GAP = timedelta(hours=1)


def expiry(now: datetime) -> datetime:
    """When the link of an invitation sent at ``now`` stops working: at the end of the day
    (India's time) ROSTER_INVITATION_TTL_DAYS days later, the day its mail names."""
    return end_of_local_day(now, settings.ROSTER_INVITATION_TTL_DAYS)


def _person_language(user) -> str:
    """The language to tell ``user`` in when they are not on a page: the one they last
    asked to be verified in, else the default."""
    return mail_language(person_request_language(user.pk))


def people_lock(emails: list[str]) -> None:
    """Lock the accounts that have one of ``emails`` confirmed, in the order of their ids
    (so that two batches naming the same people wait for each other, not deadlock)."""
    if emails:
        user_ids = EmailAddress.objects.filter(email__in=emails, verified=True).values("user_id")
        list(get_user_model().objects.select_for_update().filter(pk__in=user_ids).order_by("pk").values_list("pk", flat=True))


def _holds_standing(*, user, organisation) -> bool:
    """Whether the person is verified (or suspended) in ``organisation`` already."""
    return GovernmentProfile.objects.filter(STANDING, user=user, organisation=organisation,
                                            status__in=HELD_STATUSES).exists()


def _waiting_of(*, organisation, user_id: int) -> GovernmentProfile | None:
    """The person's waiting request in ``organisation`` (the person is locked), or None: what
    verifying them there decides (``_waiting_request``), with its own details."""
    return (GovernmentProfile.objects.filter(user_id=user_id, organisation=organisation,
                                             status=VerificationStatus.PENDING).order_by("pk").first())


def _waiting_request(*, organisation, user, details: dict, language: str | None,
                     waiting: GovernmentProfile | None) -> tuple[GovernmentProfile, bool]:
    """The person's waiting request in ``organisation`` (``waiting``, as ``_waiting_of`` read
    it), or a new one made from the roster's details (the person is locked); and whether it
    was made now."""
    if waiting is not None:
        return waiting, False
    profile = GovernmentProfile.objects.create(
        user=user, organisation=organisation, status=VerificationStatus.PENDING, requested_at=timezone.now(),
        request_language=mail_language(language) if language else _person_language(user), **details,
    )
    return profile, True


def details_given(old: dict, given: dict) -> dict:
    """The details a roster's row or invitation gives (``given``) over those stored (``old``,
    the same keys): a date of superannuation it leaves out keeps the stored one."""
    new = dict(given)
    if new["superannuation_date"] is None:
        new["superannuation_date"] = old["superannuation_date"]
    return new


def details_changed_event(target, old: dict, new: dict, source: dict) -> dict:
    """The audit event (for audit_record_many) of ``target``'s details changed from ``old`` to
    ``new`` by a roster or an invitation (``source``): the values that differ, as text."""
    return {"action": AuditAction.ROSTER_DETAILS_CHANGED, "target": target, "actor_role": SYSTEM,
            "old": {key: str(value) for key, value in old.items() if new[key] != value},
            "new": {**source, **{key: str(value) for key, value in new.items() if old[key] != value}}}


def _details_vouched(profile: GovernmentProfile, details: dict, *, source: dict) -> None:
    """The roster's or invitation's details (``details``, from ``source``) on the person's own
    waiting request (``profile``), in the transaction that verifies it: the admin vouches for
    what their roster says (a designation, an office, a date of superannuation, which ends the
    verification); the address, number and employee code are the request's already
    (request_differs), as the roster writes them. A date the roster leaves out keeps the
    request's. Audited as a roster's change of details is, when one changes."""
    old = {name: getattr(profile, name) for name in DETAILS}
    new = details_given(old, {name: details[name] for name in DETAILS})
    if new == old:
        return
    GovernmentProfile.objects.filter(pk=profile.pk).update(**{name: value for name, value in new.items()
                                                              if value != old[name]})
    audit_record_many([details_changed_event(profile, old, new, source)])


def _request_audit(profile: GovernmentProfile, *, source: dict, asked_by: AnyUser | None,
                   request: HttpRequest | None, details: dict) -> None:
    """Audit a request made in the person's name that waits (every change is an audit row,
    and its page's history reads them), as one they make is: asked by ``asked_by`` (who
    confirmed the invited address), else by the roster's import; naming where it came
    from (``source``: the invitation, or the roster)."""
    audit_record(actor=asked_by, action=AuditAction.VERIFICATION_REQUESTED, target=profile, request=request,
                 actor_role="" if asked_by is not None else SYSTEM, old={"status": ""},
                 new={"status": profile.status, "user": profile.user.email, "organisation": profile.organisation_id,
                      "language": profile.request_language, "details": details, **source})


def _verify_person(*, organisation, user, details: dict, actor: AnyUser, source: dict,
                   waiting: GovernmentProfile | None, asked_by: AnyUser | None = None,
                   asked_from: HttpRequest | None = None, request: HttpRequest | None = None,
                   language: str | None = None, name: str = "") -> str:
    """Verify ``user`` in ``organisation`` for the roster of ``actor`` (the person is
    locked), under the ``name`` the roster gives (the admin vouches for it; none given:
    the account's): their waiting request there (``waiting``, given the roster's details first:
    _details_vouched), or a new one made from the roster's details,
    is decided as a decision by hand would be (one organisation at a time, other
    requests cancelled, audited, the person told: in ``language``, the page's when they
    confirm an invited address, else in the one they last asked in). "verified",
    "unchanged" (verified here already) or "skipped" (the admin's own, or not allowed).
    A request made here that is left waiting (the decision refused: raised on) is
    audited then (``_request_audit``: ``source``, ``asked_by`` from ``asked_from``);
    one verified has the decision's audit event, which comes after every row it locks."""
    if _holds_standing(user=user, organisation=organisation):
        return "unchanged"
    if own_account(user, actor):
        # Nobody verifies themselves, nor another account of their mailbox (join_request_decide
        # refuses it: OwnProfile), and no request is made in its name either: they ask another
        # administrator themselves.
        return "skipped"
    profile, made = _waiting_request(organisation=organisation, user=user, details=details, language=language,
                                     waiting=waiting)
    try:
        with transaction.atomic():
            if not made:  # their own request: what the admin vouches for is the roster's
                _details_vouched(profile, details, source=source)
            verification_services.join_request_decide(
                profile_id=profile.pk, decision=verification_services.JoinDecision.VERIFY, actor=actor, request=request,
                method=VerificationMethod.ROSTER, name=name or None,
            )
    except verification_services.OwnProfile:
        return "skipped"
    except verification_services.StatusChanged:
        return "unchanged"
    except Exception:
        if made:
            _request_audit(profile, source=source, asked_by=asked_by, request=asked_from, details=details)
        raise
    return "verified"


def _details(row) -> dict:
    return {"official_email": row.email, **{name: getattr(row, name) for name in DETAILS}}


def unofficial_rows(roster: RosterImport, rows: list) -> dict[str, list[int]]:
    """Of ``rows`` to invite (anything with their ``pk`` and ``email``, as the preview
    normalised it), those whose address is not official mail for the roster's
    organisation now, by the preview's reason ({reason: row ids}): the rules may have
    changed since the preview (a domain marked a personal mail service, a domain accepted
    for the organisation gone), and no invitation goes to such an address
    (invitation_resend refuses it too). Each domain judged once, as the preview judges
    them (checks.EmailJudge: the rules and the accepted domains read once)."""
    domain_of = {row.pk: row.email.rpartition("@")[2] for row in rows}
    judge = EmailJudge(roster.organisation)
    judge.prepare(domain_of.values())
    refused = {"email_consumer": [], "email_not_official": []}
    for pk, domain in domain_of.items():
        problem = email_problem(judge.kind(domain))
        if problem:
            refused[problem].append(pk)
    return refused


def _verify_refusal(roster: RosterImport, row: RosterRow, *, user: AnyUser, waiting: GovernmentProfile | None) -> str:
    """Why the row of ``user`` (locked) is not verified now ("" when it may be): an auditor
    (made one since the preview, say: an auditor's account is read-only, and no request is
    made in their name); verified in another organisation since the preview, at an address
    not on the roster's domains (not moved: staging.classify refuses such a row; the person
    asks themselves); holding a role elsewhere; a decision about them an admin undoes
    (automatic_verification_withheld); a mobile number another verified person holds now
    (an earlier row of the roster, say; or that of the person's own waiting request, which
    is what is verified); their own waiting request naming another address, number or
    employee code than the row (request_differs): an admin decides it."""
    if verification_services.join_refusal(user):
        return "auditor"
    if moves_from_elsewhere(roster.organisation, user_id=user.pk, email=row.email):
        return "verified_elsewhere"
    if holds_power_elsewhere(roster.organisation, user_id=user.pk, email=row.email):
        return "holds_role_elsewhere"
    if automatic_verification_withheld(user, roster.organisation):  # since the preview (staging.classify)
        return "decided_by_hand"
    if mobile_taken(waiting.mobile if waiting is not None else row.mobile, user_id=user.pk):
        return "mobile_taken"
    if request_differs(waiting, _details(row)):
        return "request_differs"
    return ""


def verify_row(roster: RosterImport, row: RosterRow, *, actor: AnyUser) -> dict[str, int]:
    """A row of someone who has an account with the address confirmed: what applying it did,
    counted ({"verified": 1}, {"skipped": 1}...; invited instead: what inviting did)."""
    user_id = EmailAddress.objects.filter(email=row.email, verified=True).values_list("user_id", flat=True).first()
    if user_id is None:  # the address was removed meanwhile: invite them instead, if it is still official
        refusal = next((reason for reason, pks in unofficial_rows(roster, [row]).items() if pks), "")
        if refusal:
            RosterRow.objects.filter(pk=row.pk).update(problems=refusal)
            return {"skipped": 1}
        invited = {key: n for key, n in invite_rows(roster, [row], actor=actor).items() if n}
        return invited or {"skipped": 1}
    verification_services.person_lock(user_id)
    user = get_user_model().objects.get(pk=user_id)
    waiting = _waiting_of(organisation=roster.organisation, user_id=user_id)
    refusal = _verify_refusal(roster, row, user=user, waiting=waiting)
    if refusal:
        RosterRow.objects.filter(pk=row.pk).update(problems=refusal)
        return {"skipped": 1}
    try:
        done = _verify_person(organisation=roster.organisation, user=user, details=_details(row), actor=actor,
                              source={"roster": roster.pk}, waiting=waiting, name=row.name)
    except LastAdmin:
        # The last admin of another organisation, which verifying them here would leave
        # without one: skipped with that reason kept on the row; the request waits here
        # while they hand the role over.
        RosterRow.objects.filter(pk=row.pk).update(problems="last_admin_elsewhere")
        return {"skipped": 1}
    except ValidationError:
        # Not verifiable now (a date of superannuation already past, an address no longer
        # official): the row is skipped, the request waits for an admin, who is told why on
        # its page; the rest of the roster is applied. The row says so.
        RosterRow.objects.filter(pk=row.pk).update(problems="not_verifiable")
        return {"skipped": 1}
    if done == "skipped":  # the admin's own address (confirmed since the preview)
        RosterRow.objects.filter(pk=row.pk).update(problems="own_address")
    return {done: 1}


# Making invitations -----------------------------------------------------------------------------

_INSERT = """
INSERT INTO {invitation} (organisation_id, roster_id, email, mailbox, name, designation, office, employee_code,
                          mobile, superannuation_date, status, token_hash, invited_by_id, created_at, sent_at,
                          send_count, expires_at)
SELECT %s, r.roster_id, r.email, r.mailbox, left(r.name, {name_max}), r.designation, r.office, r.employee_code,
       r.mobile, r.superannuation_date, 'pending', t.token_hash, %s, %s, %s, 1, %s
FROM {row} r JOIN unnest(%s::bigint[], %s::text[]) AS t(row_id, token_hash) ON r.id = t.row_id
ON CONFLICT (organisation_id, mailbox) WHERE status = 'pending' DO NOTHING
RETURNING id, email, name, token_hash, mailbox
"""


def _insert_set_based(roster, rows, hashes, *, actor, now, expires) -> list[tuple[int, str, str, str, str]]:
    sql = _INSERT.format(invitation=Invitation._meta.db_table, row=RosterRow._meta.db_table,
                         name_max=Invitation._meta.get_field("name").max_length)
    with connection.cursor() as cursor:
        cursor.execute(sql, [roster.organisation_id, actor.pk, now, now, expires, [row.pk for row in rows], hashes])
        return list(cursor.fetchall())


def _insert_each(roster, rows, hashes, *, actor, now, expires) -> list[tuple[int, str, str, str, str]]:
    staged = RosterRow.objects.in_bulk([row.pk for row in rows])
    taken = set(Invitation.objects.filter(organisation_id=roster.organisation_id, status=InvitationStatus.PENDING,
                                          mailbox__in=[staged[row.pk].mailbox for row in rows])
                .values_list("mailbox", flat=True))
    invitations = []
    for row, digest in zip(rows, hashes, strict=True):
        mailbox = staged[row.pk].mailbox
        if mailbox in taken:
            continue
        taken.add(mailbox)
        invitations.append(Invitation(
            organisation_id=roster.organisation_id, roster=roster, email=row.email, mailbox=mailbox,
            name=row.name[:150], invited_by=actor, created_at=now, sent_at=now, expires_at=expires,
            token_hash=digest, **{name: getattr(staged[row.pk], name) for name in DETAILS}))
    made = Invitation.objects.bulk_create(invitations)
    return [(inv.pk, inv.email, inv.name, inv.token_hash, inv.mailbox) for inv in made]


# The preview's count of such rows (RosterImport.problems; refusals.PROBLEMS says it).
MAIL_HELD_PREVIEW = "invite_mail_held"


# The lock of a mailbox's invitation mails of the day, held from counting them to committing
# the one recorded (advisory_locks): two organisations inviting one person at the same moment
# cannot both pass its last mail of the day.
INVITATION_MAILBOX_LOCK_NAMESPACE = 0x494E564D


def mailboxes_lock(mailboxes) -> None:
    """Hold until the transaction ends the lock of ``mailboxes``' invitation mails of the
    day (advisory_locks), from before their count is read to the commit that records the
    mails sent. Taken before any row lock and before the audit log's lock (a roster batch
    audits before it invites): every path that mails invitations takes the locks in that
    order, so that none waits for another the other way round."""
    advisory_locks(INVITATION_MAILBOX_LOCK_NAMESPACE, mailboxes)


def _mailboxes_at_limit(mailboxes, now: datetime):
    """Those of ``mailboxes`` (a collection, or a query of them) sent
    INVITATION_MAILS_PER_ADDRESS_PER_DAY invitation mails in the 24 hours before ``now``, by
    any organisation: a further invitation to one is made but not mailed. One query."""
    chosen = Q(mailbox__in=mailboxes) if isinstance(mailboxes, QuerySet) else among("mailbox", mailboxes, "text")
    return (InvitationMail.objects.filter(chosen, sent_at__gt=now - WINDOW).order_by()
            .values("mailbox").annotate(n=Count("pk")).filter(n__gte=settings.INVITATION_MAILS_PER_ADDRESS_PER_DAY)
            .values_list("mailbox", flat=True))


def mails_record(mailboxes: list[str], now: datetime) -> None:
    """Record an invitation mail sent to each of ``mailboxes`` now (one statement: on
    PostgreSQL the rows made from the list by the database, not a model object each)."""
    if not mailboxes:
        return
    if connection.vendor != "postgresql":
        InvitationMail.objects.bulk_create([InvitationMail(mailbox=mailbox, sent_at=now) for mailbox in mailboxes])
        return
    with connection.cursor() as cursor:
        cursor.execute(f"INSERT INTO {InvitationMail._meta.db_table} (mailbox, sent_at) SELECT unnest(%s::text[]), %s",
                       [list(mailboxes), now])


def mails_forget(now: datetime | None = None) -> int:
    """Remove the records of invitation mails older than the limit's 24 hours (the daily
    roster job): nothing counts them any more, and each names a person's mailbox."""
    now = now or timezone.now()
    return InvitationMail.objects.filter(sent_at__lte=now - WINDOW).delete()[0]


def mail_held_count(roster: RosterImport, now: datetime | None = None) -> int:
    """The preview's count of the roster's rows to invite whose mailbox was sent
    INVITATION_MAILS_PER_ADDRESS_PER_DAY invitation mails in the last 24 hours: applied now,
    each would be invited but not mailed (one query)."""
    now = now or timezone.now()
    to_invite = RosterRow.objects.filter(roster=roster, outcome=RowOutcome.INVITE).values("mailbox")
    return _mailboxes_at_limit(to_invite, now).count()


def invite_rows(roster: RosterImport, rows: list, *, actor: AnyUser) -> dict[str, int]:
    """Invite the people of ``rows`` (staged rows, or anything with their ``pk``,
    ``email``, ``name`` and ``mailbox``; none of them with an account that confirmed an
    address on the organisation's domains: such a person is verified): one invitation each
    unless one is waiting already for that mailbox, however its address was written (an
    expired one is cancelled and replaced), mailed
    through the outbox, audited. A mailbox sent INVITATION_MAILS_PER_ADDRESS_PER_DAY
    invitation mails in the last 24 hours (by any organisation) is invited but not mailed
    (``send_count`` 0: the hourly job mails it once the mailbox is under the limit,
    held_invitations_send, or an administrator from the invitations page), its row marked
    MAIL_HELD.
    {"invited": n, "unchanged": n, "mail_held": n}.

    The caller holds the rows' mailboxes' lock (mailboxes_lock), taken at the start of its
    transaction: no other organisation's invitation passes the day's limit meanwhile.

    Set-based whatever the number: the tokens made at once, the mailboxes' mails of the day
    counted by one query, the invitations by one statement, their emails (the message rendered once) by
    another, the mails recorded by another, one audit event; those held back marked by two
    more."""
    if not rows:
        return {}
    now = timezone.now()
    expires = expiry(now)
    tokens = tokens_new(len(rows))
    raw_by_hash = dict((digest, raw) for raw, digest in tokens)
    # An invitation of these people here that expired waits no longer: it is closed
    # (cancelled), and a new one made in its place.
    expired = list(Invitation.objects.filter(
        among("mailbox", [row.mailbox for row in rows], "text"),
        organisation_id=roster.organisation_id, status=InvitationStatus.PENDING, expires_at__lte=now,
    ).values_list("pk", flat=True))
    if expired:
        Invitation.objects.filter(pk__in=expired).update(status=InvitationStatus.CANCELLED)
        outbox_drop(topics=[invitation_link_topic(pk) for pk in expired])
    at_limit = set(_mailboxes_at_limit({row.mailbox for row in rows}, now))
    insert = _insert_set_based if connection.vendor == "postgresql" else _insert_each
    made = insert(roster, rows, [digest for _raw, digest in tokens], actor=actor, now=now, expires=expires)
    # A roster lists a mailbox once (a later row of it is refused as a duplicate): each of
    # ``made`` is the batch's only invitation to its mailbox.
    held = {pk: mailbox for pk, _email, _name, _digest, mailbox in made if mailbox in at_limit}
    mailed = [invitation for invitation in made if invitation[0] not in held]
    subject, body = invitation_text(organisation=roster.organisation, expires_at=expires)
    invitees = [(email, name, raw_by_hash[digest]) for _pk, email, name, digest, _mailbox in mailed]
    # Mass mail: sent after any other (a sign-up code does not wait behind a roster).
    outbox_enqueue_each(subject=subject, body=body, to=[email for email, _n, _r in invitees],
                        fills=invitee_fills(invitees), priority=OutboxPriority.BULK,
                        topics=[invitation_link_topic(pk) for pk, *_rest in mailed])
    if mailed:
        mails_record([mailbox for *_rest, mailbox in mailed], now)
    if held:
        Invitation.objects.filter(pk__in=held).update(send_count=0)
        held_mailboxes = set(held.values())
        RosterRow.objects.filter(pk__in=[row.pk for row in rows if row.mailbox in held_mailboxes]).update(
            problems=MAIL_HELD)
    # One audit event for the batch (at most ROSTER_APPLY_BATCH invitations), naming each.
    if made:
        audit_record_many([
            {"action": AuditAction.INVITATION_SENT, "target": roster, "actor_role": SYSTEM,
             "new": {"organisation": roster.organisation_id, "invited_by": actor.email,
                     "expires_at": expires.isoformat(), "invitations": [[pk, email] for pk, email, *_rest in made],
                     **({"expired_cancelled": expired} if expired else {}),
                     **({"mail_held": sorted(held)} if held else {})}}
        ])
    return {"invited": len(made), "unchanged": len(rows) - len(made), MAIL_HELD: len(held)}


# Sending again --------------------------------------------------------------------------------

def _waiting_invitation_lock(invitation_id: int, actor: AnyUser, not_waiting: str) -> Invitation:
    """The invitation locked, for someone who may decide in its organisation (else
    PermissionDenied), still waiting (else ValidationError ``not_waiting``)."""
    invitation = Invitation.objects.select_for_update(of=("self",)).select_related("organisation").get(pk=invitation_id)
    verification_services.check_decider(actor, invitation.organisation)
    if invitation.status != InvitationStatus.PENDING:
        raise ValidationError(not_waiting, code="not_pending")
    return invitation


def _resends_within_limit(actor: AnyUser, now: datetime) -> None:
    """Refuse (ValidationError "too_many") when ``actor`` sent INVITATION_RESENDS_PER_DAY
    invitations again in the 24 hours before ``now``, whichever: each is bounded on its own
    (RESEND_GAP, MAX_SENDS), but an organisation may have thousands waiting, and each
    sending mails a person. Counted from the audit log; the caller holds the actor's lock."""
    limit = settings.INVITATION_RESENDS_PER_DAY
    refuse_over_actions(actor=actor, action=AuditAction.INVITATION_RESENT, limit=limit, now=now, message=ngettext(
        "You have sent %(n)s invitation again in the last 24 hours, the most one administrator may: this "
        "one was not sent. You can send it again from %(when)s.",
        "You have sent %(n)s invitations again in the last 24 hours, the most one administrator may: "
        "this one was not sent. You can send it again from %(when)s.", limit))


def _mails_to_address_within_limit(invitation: Invitation, now: datetime) -> None:
    """Refuse (ValidationError "address_too_many") when the invitation's mailbox was sent
    INVITATION_MAILS_PER_ADDRESS_PER_DAY invitation mails in the 24 hours before ``now``, by
    any organisation."""
    limit = settings.INVITATION_MAILS_PER_ADDRESS_PER_DAY
    message = ngettext(
        "%(email)s was sent %(n)s invitation mail in the last 24 hours, the most one address may receive: this one "
        "was not sent. You can send it from %(when)s.",
        "%(email)s was sent %(n)s invitation mails in the last 24 hours, the most one address may receive: this one "
        "was not sent. You can send it from %(when)s.", limit)
    refuse_over(InvitationMail.objects.filter(mailbox=invitation.mailbox), "sent_at", limit, now,
                message, code="address_too_many", values={"email": invitation.email})


def invitation_resend(*, invitation_id: int, actor: AnyUser, request: HttpRequest | None = None) -> Invitation:
    """Send a waiting invitation again (or, made but not mailed, for the first time) with
    a new link (the old one stops working) and
    a new expiry, ``actor`` its inviter from now on. Refused while the organisation is not active, to a personal mail
    address (the rules may have changed since it was sent), after MAX_SENDS sendings,
    within RESEND_GAP of the last one while its link works, past the actor's
    INVITATION_RESENDS_PER_DAY, and past the mailbox's INVITATION_MAILS_PER_ADDRESS_PER_DAY.
    Raises ValidationError or PermissionDenied."""
    with transaction.atomic():
        # The mailbox's lock first (mailboxes_lock: before any row lock); a mailbox never changes.
        mailboxes_lock(Invitation.objects.filter(pk=invitation_id).values_list("mailbox", flat=True))
        verification_services.person_lock(actor.pk)  # two sent at once cannot both pass the day's last
        invitation = _waiting_invitation_lock(invitation_id, actor, _(
            "This invitation was accepted or cancelled: there is nothing to send."))
        if invitation.organisation.status != OrganisationStatus.ACTIVE:
            # Nobody is verified in it now: a new link would invite the person to nothing.
            raise ValidationError(_("%(organisation)s is not active: its invitations are not sent.")
                                  % {"organisation": invitation.organisation.name}, code="inactive")
        if not classify_email(invitation.email, organisation=invitation.organisation).is_official_mail:
            raise ValidationError(_("%(email)s is not an official address (it may be a personal mail service): the "
                                    "invitation is not sent.") % {"email": invitation.email}, code="not_official")
        if invitation.send_count >= MAX_SENDS:
            raise ValidationError(ngettext("This invitation was sent %(n)s time already: it is not sent again.",
                                           "This invitation was sent %(n)s times already: it is not sent again.",
                                           invitation.send_count) % {"n": invitation.send_count}, code="too_many")
        now = timezone.now()
        if invitation.send_count and invitation.expires_at > now and now - invitation.sent_at < RESEND_GAP:
            raise ValidationError(
                _("This invitation was sent at %(at)s and its link works: it can be sent again from %(from)s.")
                % {"at": shown(invitation.sent_at), "from": shown_from(invitation.sent_at + RESEND_GAP)}, code="too_soon")
        _resends_within_limit(actor, now)
        _mails_to_address_within_limit(invitation, now)
        raw, digest = token_new()
        invitation.token_hash, invitation.sent_at, invitation.expires_at = digest, now, expiry(now)
        invitation.send_count += 1
        # The admin who sends it vouches for the person now: confirming the address verifies
        # them in this admin's name (invitation_accept), not in that of one who may have left.
        # By id in the audit row: it is this admin's, and the one replaced may be erased later.
        old = {"invited_by_id": invitation.invited_by_id} if invitation.invited_by_id != actor.pk else {}
        invitation.invited_by = actor
        invitation.save(update_fields=["token_hash", "sent_at", "expires_at", "send_count", "invited_by"])
        # A mail of the link replaced still waiting for the relay would be delivered after
        # this one (mass mail goes last), its link opening nothing.
        topic = invitation_link_topic(invitation.pk)
        outbox_drop(topics=[topic])
        outbox_enqueue(messages=[with_topic(message, topic) for message in build_invitation_mails(
            organisation=invitation.organisation, expires_at=invitation.expires_at,
            invitees=[(invitation.email, invitation.name, raw)])])
        mails_record([invitation.mailbox], now)
        audit_record(actor=actor, action=AuditAction.INVITATION_RESENT, target=invitation, request=request, old=old,
                     new={"email": invitation.email, "send_count": invitation.send_count,
                          "expires_at": invitation.expires_at.isoformat(), "invited_by_id": actor.pk})
    return invitation


# The invitations made but not mailed that one run of the hourly job mails, at most.
HELD_SENT_PER_RUN = 500


# The held invitations one statement of the hourly job reads, at most, looking for those it may mail.
HELD_READ_PAGE = 2000


def _held_to_mail(held: QuerySet[Invitation], now: datetime, limit: int) -> dict[int, str]:
    """{id: mailbox} of the oldest ``limit`` of ``held`` the run may mail: one a mailbox, its
    mailbox under the day's limit, its address still official for its organisation. Read a
    page at a time in the order of their ids until ``limit`` are found, so that those that
    may not be mailed (they wait for an administrator) do not take the places of those
    after them: else as many of them as a run mails would fill every run."""
    rules = email_rules()
    unsent = held.exclude(mailbox__in=_mailboxes_at_limit(held.values("mailbox"), now)).order_by("pk")
    chosen: dict[int, str] = {}
    mailboxes: set[str] = set()
    after = 0
    while len(chosen) < limit:
        rows = list(unsent.filter(pk__gt=after).values_list("pk", "mailbox", "email", "organisation_id")[:HELD_READ_PAGE])
        if not rows:
            break
        after = rows[-1][0]
        verdicts = classify_emails_within({(email, organisation) for _pk, _mailbox, email, organisation in rows},
                                          lambda organisations: {pk: pk for pk in organisations}, rules=rules)
        for pk, mailbox, email, organisation in rows:
            if len(chosen) < limit and mailbox not in mailboxes and verdicts[email, organisation].is_official_mail:
                chosen[pk] = mailbox
                mailboxes.add(mailbox)
    return chosen


def held_invitations_send(*, now: datetime | None = None, limit: int = HELD_SENT_PER_RUN) -> int:
    """Mail the waiting invitations made but not mailed (MAIL_HELD: their mailbox had been
    sent INVITATION_MAILS_PER_ADDRESS_PER_DAY invitation mails in 24 hours) whose mailbox is
    under that limit now (the hourly job): each with a new link and expiry, still in the name
    of the administrator who invited the person, recorded as the system's sending
    (INVITATION_RESENT), one a mailbox a run. One expired, of an organisation not active, or
    to an address no longer official waits for an administrator (invitation_resend says why);
    one an administrator is sending now (its row locked) is left to them. Returns how many
    were mailed."""
    now = now or timezone.now()
    held = Invitation.objects.filter(status=InvitationStatus.PENDING, send_count=0, expires_at__gt=now,
                                     organisation__status=OrganisationStatus.ACTIVE)
    with transaction.atomic():
        candidates = _held_to_mail(held, now, limit)
        if not candidates:
            return 0
        # Their mailboxes locked before any row (mailboxes_lock), then the rows, one an
        # administrator sends now left, and the mailboxes' limit asked again under the lock.
        mailboxes_lock(set(candidates.values()))
        waiting = list(held.select_for_update(skip_locked=True, of=("self",)).select_related("organisation")
                       .filter(pk__in=candidates).order_by("pk"))
        at_limit = set(_mailboxes_at_limit({invitation.mailbox for invitation in waiting}, now))
        chosen = {invitation.mailbox: invitation for invitation in waiting if invitation.mailbox not in at_limit}
        if not chosen:
            return 0
        sending, expires = list(chosen.values()), expiry(now)
        tokens = tokens_new(len(sending))
        for invitation, (_raw, digest) in zip(sending, tokens, strict=True):
            invitation.token_hash, invitation.sent_at, invitation.expires_at = digest, now, expires
            invitation.send_count = 1
        Invitation.objects.bulk_update(sending, ["token_hash", "sent_at", "expires_at", "send_count"])
        by_organisation: dict[int, list[tuple[Invitation, str]]] = {}
        for invitation, (raw, _digest) in zip(sending, tokens, strict=True):
            by_organisation.setdefault(invitation.organisation_id, []).append((invitation, raw))
        for pairs in by_organisation.values():
            # As a roster's batch mails them (invite_rows): the message rendered once, mass mail.
            subject, body = invitation_text(organisation=pairs[0][0].organisation, expires_at=expires)
            invitees = [(invitation.email, invitation.name, raw) for invitation, raw in pairs]
            outbox_enqueue_each(subject=subject, body=body, to=[email for email, _n, _r in invitees],
                                fills=invitee_fills(invitees), priority=OutboxPriority.BULK,
                                topics=[invitation_link_topic(invitation.pk) for invitation, _raw in pairs])
        mails_record([invitation.mailbox for invitation in sending], now)
        audit_record_many([
            {"action": AuditAction.INVITATION_RESENT, "target": invitation, "actor_role": SYSTEM,
             "new": {"email": invitation.email, "send_count": 1, "expires_at": expires.isoformat(),
                     "held_until_under_the_limit": True}}
            for invitation in sending])
    return len(sending)


def invitation_cancel(*, invitation_id: int, actor: AnyUser, request: HttpRequest | None = None) -> Invitation:
    """Cancel a waiting invitation (sent by mistake, or to someone a corrected roster leaves
    out): its link stops working at once and confirming the address verifies nobody through
    it; a later roster may invite the person again. Audited. Raises ValidationError when it
    is no longer waiting, PermissionDenied for someone who may not decide (an auditor)."""
    with transaction.atomic():
        invitation = _waiting_invitation_lock(invitation_id, actor, _(
            "This invitation was accepted or cancelled already: there is nothing to cancel."))
        invitation.status = InvitationStatus.CANCELLED
        invitation.save(update_fields=["status"])
        outbox_drop(topics=[invitation_link_topic(invitation.pk)])  # its link opens nothing now
        audit_record(actor=actor, action=AuditAction.INVITATION_CANCELLED, target=invitation, request=request,
                     old={"status": InvitationStatus.PENDING}, new={"status": InvitationStatus.CANCELLED,
                                                                    "email": invitation.email})
    return invitation


# Accepting --------------------------------------------------------------------------------------

def _short_of_verifying(invitation: Invitation, *, user: AnyUser, waiting: GovernmentProfile | None) -> str:
    """What accepting ``invitation`` comes to for ``user`` (their roles and requests as they
    are now; ``waiting``: their request waiting in its organisation, _waiting_of) when it
    does not verify them at once; "" when it does (_verify_person, which may yet be refused).
    An auditor: the account is read-only, nobody's verified member, and asks nothing; the
    roster's row would have been refused too. Verified in another organisation, and the
    invited address not on this one's domains: the roster's row would have been refused
    (staging.classify), and confirming an address is no request to move; nothing is asked
    for them, they ask the organisation themselves if they are moving. An admin of another
    organisation, or someone holding a platform role, the invited address not on this one's
    domains: likewise (staging.classify, verify_row). Another verified person holding the
    invitation's mobile number now: not verified (the verification API answers for a number
    only when one verified person holds it); the person asks, and an admin checks the
    number. Verified here already: "unchanged". Otherwise "waiting": the organisation is
    suspended (or otherwise not active) meanwhile, and nobody verifies anyone in it now; or
    verifying the person would undo a decision about them (automatic_verification_withheld:
    a suspension elsewhere, a revocation or refusal here, for a reason of theirs), which an
    administrator makes; or their own request waiting there gives other details than the
    invitation (request_differs): the request waits in its queue for an administrator."""
    email = invitation.email
    if verification_services.join_refusal(user):
        return "auditor"
    if moves_from_elsewhere(invitation.organisation, user_id=user.pk, email=email):
        return "verified_elsewhere"
    if holds_power_elsewhere(invitation.organisation, user_id=user.pk, email=email):
        return "holds_role_elsewhere"
    if mobile_taken(waiting.mobile if waiting is not None else invitation.mobile, user_id=user.pk):
        return "mobile_taken"
    if _holds_standing(user=user, organisation=invitation.organisation):
        return "unchanged"
    if (invitation.organisation.status == OrganisationStatus.ACTIVE
            and not automatic_verification_withheld(user, invitation.organisation)
            and not request_differs(waiting, _details(invitation))):
        return ""
    return "waiting"


def acceptance_ends(invitation: Invitation, user: AnyUser) -> EndsElsewhere:
    """What accepting ``invitation`` would end elsewhere for ``user`` (who has its address
    confirmed), read as they are now: when it verifies them at once (_short_of_verifying),
    their verifications, admin roles and waiting requests in other organisations, which
    being verified ends (verification.services._end_elsewhere); nothing when it does not.
    The invitation's page names it before the person accepts, and invitation_accept checks
    it again under the person's lock. ``user``: the request's, their roles read with it."""
    waiting = _waiting_of(organisation=invitation.organisation, user_id=user.pk)
    if _short_of_verifying(invitation, user=user, waiting=waiting):
        return EndsElsewhere()
    return ends_elsewhere(user, invitation.organisation)


def invitation_accept(*, user: AnyUser, email: str, request: HttpRequest | None = None,
                      invitation_id: int | None = None, shown: str | None = None) -> Invitation | None:
    """``user`` confirmed ``email`` (or, with it confirmed already, accepts invitation
    ``invitation_id`` on its page): the newest waiting, unexpired invitation to that
    address (that one) is accepted, while the address is confirmed on their account, and
    the person verified in its organisation, by the admin who invited them (their right
    is checked again now: without it, or with the organisation no longer active, the
    request waits in the organisation's queue). A
    person verified in another organisation is not moved unless the address is on a
    domain of the inviting organisation (or of an office below it), as for a roster's row;
    nor is someone holding a platform role or an admin role of another organisation, nor,
    at any address, an auditor (_short_of_verifying).
    Verifying them at once ends what they hold elsewhere (acceptance_ends), which they are
    told first: ``shown``, the digest (EndsElsewhere.shown) of what the invitation's page
    said it ends, is checked under their lock, and portal.shown.ChangedMeanwhile raised,
    nothing done, when it would end something else by then. None (the address confirmed,
    nothing shown): when accepting would end anything elsewhere, the invitation is left
    waiting, to be accepted on its page, which names what ends (outcome "ends_elsewhere").
    The invitation returned carries what came of it as ``outcome`` (not stored: the audit
    event holds it), for the page that tells the person."""
    email = (email or "").strip().lower()
    now = timezone.now()
    waiting = Invitation.objects.filter(email=email, status=InvitationStatus.PENDING, expires_at__gt=now)
    if invitation_id is not None:
        waiting = waiting.filter(pk=invitation_id)
    candidate = waiting.order_by("-created_at", "-id").values_list("pk", flat=True).first()
    if candidate is None:
        return None
    with transaction.atomic():
        verification_services.person_lock(user.pk)
        invitation = Invitation.objects.select_for_update(of=("self",)).select_related("organisation", "invited_by").get(
            pk=candidate)
        if (invitation.status != InvitationStatus.PENDING or invitation.expires_at <= now
                # The address no longer confirmed on their account (read under their lock).
                or not EmailAddress.objects.filter(user_id=user.pk, email__iexact=email, verified=True).exists()):
            return None
        waiting = _waiting_of(organisation=invitation.organisation, user_id=user.pk)
        person = get_user_model().objects.get(pk=user.pk)  # their roles read under their lock
        outcome = _short_of_verifying(invitation, user=person, waiting=waiting)
        if not outcome:
            ends = ends_elsewhere(person, invitation.organisation)
            if shown is None and ends:
                # Confirming an address is no consent to what being verified ends elsewhere:
                # nothing changes, and the person accepts on the invitation's page.
                invitation.outcome = "ends_elsewhere"
                return invitation
            check_shown(shown, ends.values())
        invitation.status, invitation.accepted_at, invitation.accepted_by = InvitationStatus.ACCEPTED, now, user
        invitation.save(update_fields=["status", "accepted_at", "accepted_by"])
        if not outcome:
            try:
                outcome = _verify_person(organisation=invitation.organisation, user=user, details=_details(invitation),
                                         actor=invitation.invited_by, source={"invitation": invitation.pk},
                                         waiting=waiting, asked_by=user, asked_from=request, name=invitation.name,
                                         language=getattr(request, "LANGUAGE_CODE", None))
            except (PermissionDenied, ValidationError):
                outcome = "waiting"
        elif outcome == "waiting":
            # The request waits for an administrator (_short_of_verifying says why).
            details = _details(invitation)
            profile, made = _waiting_request(organisation=invitation.organisation, user=user, details=details,
                                             language=getattr(request, "LANGUAGE_CODE", None), waiting=waiting)
            if made:
                _request_audit(profile, source={"invitation": invitation.pk}, asked_by=user, request=request,
                               details=details)
        audit_record(actor=user, action=AuditAction.INVITATION_ACCEPTED, target=invitation, request=request,
                     old={"status": InvitationStatus.PENDING},
                     new={"status": InvitationStatus.ACCEPTED, "email": email, "outcome": outcome})
    invitation.outcome = outcome
    return invitation
