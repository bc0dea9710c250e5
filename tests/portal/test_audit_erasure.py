"""Erasing the personal part of audit events (portal/audit/erasure.py): the chain
still verifies and says how many events were redacted; any other change, or a
redaction made past the portal, still fails verification; on PostgreSQL the
trigger lets exactly the redaction through. Tests of the chain itself are in
test_audit.py and test_audit_tamper.py."""

import importlib
from io import StringIO

import pytest
from django.apps import apps
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, transaction

from portal.audit.erasure import audit_redact, redact
from portal.audit.models import AuditAction, AuditChainHead, AuditEvent
from portal.audit.services import (
    GENESIS,
    UNBOUND_DIGEST_VERSION,
    audit_record,
    audit_verify,
    event_digest,
    head_is_sealed,
    head_seal,
    seal_of,
    whole_event_digest,
)
from tests.factories import UserFactory
from tests.portal.audit_helpers import tampering

pytestmark = pytest.mark.django_db

EDITED = "contents do not match the stored hash: the row was edited"


def verify():
    out, err = StringIO(), StringIO()
    try:
        call_command("verify_audit", stdout=out, stderr=err)
    except CommandError as exc:
        exc.stderr = err.getvalue()
        raise
    return out.getvalue().strip()


def broken():
    with pytest.raises(CommandError, match=r"Audit chain broken") as excinfo:
        verify()
    return excinfo.value.stderr


@pytest.fixture
def people():
    """Events of two people: Asha's (her sign-ins and a verification about her, decided by
    an admin) and Ravi's, chained together."""
    asha, ravi, admin = (UserFactory(email=e) for e in ("asha@mha.gov.in", "ravi@mha.gov.in", "admin@mha.gov.in"))
    for i in range(3):
        audit_record(actor=asha, action=AuditAction.USER_LOGGED_IN, target=asha, ip="10.0.0.1",
                     user_agent="Firefox", new={"i": i})
        audit_record(actor=ravi, action=AuditAction.USER_LOGGED_IN, target=ravi, ip="10.0.0.2", new={"i": i})
    audit_record(actor=admin, action=AuditAction.VERIFICATION_REJECTED, target=asha, ip="10.0.0.3",
                 old={"status": "pending"},
                 new={"status": "rejected", "reason": "No such employee code.", "details": {"mobile": "9876543210"}})
    return asha, ravi, admin


def asha_events(asha):
    return AuditEvent.objects.filter(target_type="accounts.user", target_id=str(asha.pk)).order_by("id")


def test_erasure_empties_the_personal_part_keeps_the_rest_and_the_chain_verifies(people):
    asha, ravi, _admin = people
    before = {e.pk: e for e in AuditEvent.objects.all()}
    result = audit_redact(actor_ids=[asha.pk], targets=[("accounts.user", asha.pk)], purpose="erasure request")
    assert (result.redacted, result.kept_whole) == (4, 0)
    for event in asha_events(asha):
        assert event.redacted_at is not None and len(event.personal_digest) == 64
        assert (event.actor_email, event.ip, event.user_agent, event.target_repr) == ("", None, "", "")
        old = before[event.pk]
        assert (event.actor_id, event.action, event.target_id, event.created_at, event.hash) == (
            old.actor_id, old.action, old.target_id, old.created_at, old.hash)
    rejected = AuditEvent.objects.get(action=AuditAction.VERIFICATION_REJECTED)
    # The decision stays; the reason and the details (personal keys) are gone.
    assert (rejected.old_values, rejected.new_values) == ({"status": "pending"}, {"status": "rejected"})
    assert rejected.personal_keys == ["details", "reason"]
    # Ravi's events are untouched.
    for event in AuditEvent.objects.filter(actor_id=ravi.pk):
        assert event.redacted_at is None and event.actor_email == ravi.email and event.ip == "10.0.0.2"
    # The erasure is itself an event, with counts and no contents.
    erased = AuditEvent.objects.get(action=AuditAction.AUDIT_REDACTED)
    assert erased.new_values == {"events": 4, "kept_whole": 0, "purpose": "erasure request"}
    assert asha.email not in str(erased.new_values)
    assert audit_verify() == []
    total = AuditEvent.objects.count()
    assert verify() == (f"Audit chain intact: {total} events verified, 4 of them redacted "
                        "(personal part erased, its digest kept).")
    head = AuditChainHead.objects.get(pk=1)
    assert head.redacted == 4 and head_is_sealed(head)


def test_a_second_erasure_changes_nothing(people):
    asha, *_ = people
    audit_redact(actor_ids=[asha.pk], targets=[("accounts.user", asha.pk)], purpose="retention")
    rows = list(AuditEvent.objects.values())
    events = AuditEvent.objects.count()
    result = audit_redact(actor_ids=[asha.pk], targets=[("accounts.user", asha.pk)], purpose="retention")
    assert (result.redacted, result.kept_whole) == (0, 0)
    assert list(AuditEvent.objects.values()) == rows and AuditEvent.objects.count() == events
    verify()


@pytest.mark.parametrize(("batch_size", "batches"), [(4, 1), (2, 2), (1, 4)])
def test_erasure_takes_constant_queries_per_batch(people, batch_size, batches, django_assert_num_queries):
    asha, *_ = people
    # The head read once (no split to count); per batch, in its savepoint: the chain locked, the head, the rows,
    # the session switch on, one UPDATE of the batch, the switch off, the head; then the empty batch that ends
    # the loop (savepoint, lock, head, rows) and the erasure's own event (savepoint, lock, head, insert, head).
    # SQLite (the embedded default) has no lock statement (its write transaction is the lock) and no session
    # switch (no trigger): three statements fewer a batch, one fewer for each of the two other locks.
    per_batch, fixed = (9, 1 + 5 + 6) if connection.vendor == "postgresql" else (6, 1 + 4 + 5)
    with django_assert_num_queries(per_batch * batches + fixed):
        result = audit_redact(actor_ids=[asha.pk], targets=[("accounts.user", asha.pk)], purpose="x",
                              batch_size=batch_size)
    assert result.redacted == 4


def test_erasure_of_events_named_by_id_redacts_those_and_no_other(people):
    """Events about something else that name the person (an organisation's event about
    their admin role) are redacted by id, in the same batches as the person's own."""
    _asha, ravi, _admin = people
    rejected = AuditEvent.objects.get(action=AuditAction.VERIFICATION_REJECTED)
    ravis = AuditEvent.objects.filter(actor_id=ravi.pk).order_by("id").first()
    result = audit_redact(event_ids=[rejected.pk, ravis.pk], purpose="x", batch_size=1)
    assert result.redacted == 2
    redacted = AuditEvent.objects.filter(redacted_at__isnull=False).order_by("id").values_list("pk", flat=True)
    assert list(redacted) == sorted([rejected.pk, ravis.pk])
    assert audit_verify() == []


@pytest.mark.parametrize("change", [
    {"action": AuditAction.USER_PASSWORD_CHANGED},
    {"actor_id": 999},
    {"target_id": "999"},
    {"actor_email": "asha@mha.gov.in"},
    {"ip": "10.0.0.1"},
    {"new_values": {"i": 99}},
    {"personal_digest": "ab" * 32},
    {"redacted_at": None},
], ids=["action", "actor id", "target", "email put back", "ip put back", "values", "digest", "unredacted"])
def test_any_other_change_to_a_redacted_event_is_detected(people, change):
    asha, *_ = people
    audit_redact(actor_ids=[asha.pk], targets=[("accounts.user", asha.pk)], purpose="x")
    victim = asha_events(asha)[1]
    verify()
    with tampering():
        AuditEvent.objects.filter(pk=victim.pk).update(**change)
    problems = audit_verify()
    assert (victim.pk, EDITED) in [(p.event_id, p.reason) for p in problems]
    assert f"audit event {victim.pk}: {EDITED}" in broken()


def test_a_personal_value_edited_before_erasure_is_still_detected_after_it(people):
    asha, *_ = people
    victim = asha_events(asha)[0]
    with tampering():
        AuditEvent.objects.filter(pk=victim.pk).update(ip="10.9.9.9")
    audit_redact(actor_ids=[asha.pk], targets=[("accounts.user", asha.pk)], purpose="x")
    assert [(p.event_id, p.reason) for p in audit_verify()] == [(victim.pk, EDITED)]


def test_a_redaction_made_past_the_portal_is_detected_by_the_sealed_count(people):
    """Someone with the database but not the key empties an event as the portal would:
    the digest is right (computed by the portal's own function here, so that only the
    count can tell), the head's redacted count is not."""
    _asha, ravi, _admin = people
    victim = AuditEvent.objects.filter(actor_id=ravi.pk).first()
    redact(victim)
    with tampering():
        victim.save(update_fields=["actor_email", "ip", "user_agent", "target_repr", "old_values", "new_values",
                                   "personal_digest", "redacted_at"])
    head = AuditChainHead.objects.get(pk=1)
    assert [p.reason for p in audit_verify()] == [
        "the chain head counts 0 redacted events but the log holds 1: events were redacted outside the portal's erasure"
    ]
    # Raising the count without the key breaks the seal.
    with tampering():
        AuditChainHead.objects.filter(pk=1).update(redacted=1)
    assert [p.reason.split(":")[0] for p in audit_verify()] == ["the chain head's seal does not match it"]
    assert head.redacted == 0


def test_a_redaction_moved_to_another_event_with_the_same_personal_part_is_detected(people):
    """Asha's sign-ins from one address and browser have the same personal part: erasing the first and
    putting its data back while erasing the second instead (the redacted count unchanged, no key needed;
    their values "i" are not personal) is found, since each event's digest names the event."""
    first, second = AuditEvent.objects.filter(actor_email="asha@mha.gov.in").order_by("id")[:2]
    audit_redact(event_ids=[first.pk], purpose="x")
    assert audit_verify() == []
    first.refresh_from_db()
    second.refresh_from_db()
    with tampering():
        AuditEvent.objects.filter(pk=first.pk).update(
            actor_email=second.actor_email, ip=second.ip, user_agent=second.user_agent, target_repr=second.target_repr,
            personal_digest="", redacted_at=None)
        AuditEvent.objects.filter(pk=second.pk).update(
            actor_email="", ip=None, user_agent="", target_repr="", personal_digest=first.personal_digest,
            redacted_at=first.redacted_at)
    assert [(p.event_id, p.code) for p in audit_verify()] == [(second.pk, "row_edited")]


def test_events_written_before_their_digest_named_them_verify_and_are_redacted_in_their_own_form(people):
    """Events whose hash (its "v" 2) holds a personal digest not naming the event, as written before:
    they verify, and redacting them keeps the digest their hash was written with."""
    prev_hash = GENESIS
    with tampering():
        for event in AuditEvent.objects.order_by("id"):
            fields = {f: getattr(event, f) for f in (
                "created_at", "actor_id", "actor_email", "actor_role", "action", "target_type", "target_id",
                "target_repr", "old_values", "new_values", "ip", "user_agent", "actor_organisations")}
            event.prev_hash, event.hash = prev_hash, event_digest(
                prev_hash=prev_hash, personal_keys=event.personal_keys, version=UNBOUND_DIGEST_VERSION, **fields)
            event.save(update_fields=["prev_hash", "hash"])
            prev_hash = event.hash
        head = AuditChainHead.objects.get(pk=1)
        head.last_hash = prev_hash
        head.seal = seal_of(head)
        head.save()
    assert audit_verify() == []
    asha = AuditEvent.objects.filter(actor_email="asha@mha.gov.in").values_list("actor_id", flat=True).first()
    assert audit_redact(actor_ids=[asha], purpose="x").redacted == 3
    assert verify() == "Audit chain intact: 8 events verified, 3 of them redacted (personal part erased, its digest kept)."


def test_the_seal_covers_the_split_and_the_redacted_count(people):
    head = AuditChainHead.objects.get(pk=1)
    base = dict(last_event_id=head.last_event_id, last_hash=head.last_hash, count=head.count, keyed_after_id=0)
    assert head_seal(**base) == head.seal
    assert len({head_seal(**base), head_seal(**base, redacted=1), head_seal(**base, split_after_id=1)}) == 3


# A chain written before the split -----------------------------------------------------------------

def whole_chain(n):
    """Events as the code before the split wrote them (keyed, personal part hashed whole), with a sealed head."""
    user = UserFactory(email="before@mha.gov.in")
    prev_hash = GENESIS
    for i in range(n):
        event = AuditEvent(actor_id=user.pk, actor_email=user.email, actor_role="user", action=AuditAction.USER_LOGGED_IN,
                           target_type="accounts.user", target_id=str(user.pk), target_repr=user.email,
                           new_values={"i": i, "email": user.email}, ip="10.0.0.7", prev_hash=prev_hash,
                           created_at=user.date_joined)
        event.hash = whole_event_digest(
            prev_hash=prev_hash, **{f: getattr(event, f) for f in (
                "created_at", "actor_id", "actor_email", "actor_role", "action", "target_type", "target_id",
                "target_repr", "old_values", "new_values", "ip", "user_agent")})
        event.save()
        prev_hash = event.hash
    last = AuditEvent.objects.order_by("-id").first()
    head = AuditChainHead(pk=1, last_event_id=last.pk, last_hash=last.hash, count=n)
    head.seal = seal_of(head)
    head.save()
    return user, list(AuditEvent.objects.order_by("id"))


def migrate_to_split_chain():
    """The migration's own step (its head trigger, already installed here, refuses moving the split later)."""
    with tampering():
        importlib.import_module("portal.audit.migrations.0011_erasable_personal_part").split_existing_chain(apps, None)


def test_a_chain_written_before_the_split_verifies_after_the_migration_and_its_events_are_kept_whole():
    user, before = whole_chain(3)
    # Before the migration, these events read as split ones and do not verify: the migration is what makes them.
    assert len(audit_verify()) == 3
    migrate_to_split_chain()
    head = AuditChainHead.objects.get(pk=1)
    assert head.split_after_id == before[-1].pk and head_is_sealed(head)
    assert verify() == "Audit chain intact: 3 events verified."
    audit_record(actor=user, action=AuditAction.USER_LOGGED_IN, target=user, ip="10.0.0.8")
    result = audit_redact(actor_ids=[user.pk], purpose="x")
    assert (result.redacted, result.kept_whole) == (1, 3)
    assert all(e.redacted_at is None and e.ip == "10.0.0.7" for e in before)
    assert AuditEvent.objects.filter(redacted_at__isnull=False).count() == 1
    assert verify() == "Audit chain intact: 5 events verified, 1 of them redacted (personal part erased, its digest kept)."
    # An event of before the split emptied past the portal fails.
    with tampering():
        AuditEvent.objects.filter(pk=before[0].pk).update(ip=None)
    assert [(p.event_id, p.reason) for p in audit_verify()] == [(before[0].pk, EDITED)]


# PostgreSQL: the trigger lets exactly the redaction through -------------------------------------------

def redaction_update(event, **change):
    """The UPDATE a redaction makes, with ``change`` on top, asked for by the session."""
    redact(event)
    for name, value in change.items():
        setattr(event, name, value)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT set_config('portal.audit_redaction', 'on', true)")
        AuditEvent.objects.bulk_update([event], ["actor_email", "ip", "user_agent", "target_repr", "old_values",
                                                 "new_values", "personal_digest", "redacted_at", *change])


@pytest.mark.usefixtures("require_postgresql")
@pytest.mark.parametrize("change", [
    {"action": AuditAction.USER_PASSWORD_CHANGED}, {"actor_id": 5}, {"actor_role": "superadmin"}, {"target_id": "9"},
    {"hash": "ab" * 32}, {"prev_hash": "ab" * 32}, {"personal_keys": []}, {"actor_email": "x@mha.gov.in"},
    {"new_values": {"status": "verified"}}, {"personal_digest": "not a digest"},
], ids=lambda change: next(iter(change)))
def test_postgresql_refuses_a_redaction_that_changes_anything_else(people, change):
    victim = AuditEvent.objects.get(action=AuditAction.VERIFICATION_REJECTED)
    with pytest.raises(DatabaseError, match="append-only: UPDATE refused"):
        redaction_update(victim, **change)
    victim.refresh_from_db()
    assert victim.redacted_at is None and victim.ip == "10.0.0.3"


@pytest.mark.usefixtures("require_postgresql")
def test_postgresql_lets_the_redaction_through_only_when_the_session_asks(people):
    victim = AuditEvent.objects.get(action=AuditAction.VERIFICATION_REJECTED)
    redact(victim)
    with pytest.raises(DatabaseError, match="append-only: UPDATE refused"), transaction.atomic():
        AuditEvent.objects.bulk_update([victim], ["actor_email", "ip", "user_agent", "target_repr", "old_values",
                                                  "new_values", "personal_digest", "redacted_at"])
    redaction_update(AuditEvent.objects.get(pk=victim.pk))
    victim.refresh_from_db()
    assert victim.redacted_at is not None and victim.new_values == {"status": "rejected"}
    # Once redacted, never again (nor back).
    with pytest.raises(DatabaseError, match="append-only: UPDATE refused"):
        redaction_update(victim)
    with pytest.raises(DatabaseError, match="append-only: DELETE refused"), transaction.atomic():
        AuditEvent.objects.filter(pk=victim.pk).delete()


@pytest.mark.usefixtures("require_postgresql")
def test_postgresql_refuses_redacting_an_event_written_before_the_split():
    _user, before = whole_chain(2)
    migrate_to_split_chain()
    with pytest.raises(DatabaseError, match="append-only: UPDATE refused"):
        redaction_update(before[0])


@pytest.mark.usefixtures("require_postgresql")
def test_postgresql_refuses_moving_the_split_or_lowering_the_redacted_count(people):
    asha, *_ = people
    audit_redact(actor_ids=[asha.pk], purpose="x")
    for change in ({"split_after_id": 3}, {"redacted": 0}):
        with pytest.raises(DatabaseError, match="moves only forward: UPDATE refused"), transaction.atomic():
            AuditChainHead.objects.filter(pk=1).update(**change)
    verify()
