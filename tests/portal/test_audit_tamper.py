"""Rewrites of the audit log that someone with the database but without the key
might try, and how each is caught: the HMAC-keyed chain, the sealed and counted
head, the head published outside the database (log and superadmins' mail, checked
with ``verify_audit --expect-head``), and on PostgreSQL the triggers that refuse
TRUNCATE and a head moved back. Tests of the plain chain are in test_audit.py."""

import importlib
import logging
import os
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from celery.schedules import crontab
from django.apps import apps
from django.conf import settings
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, transaction

from portal.audit import publish
from portal.audit.models import AuditAction, AuditChainHead, AuditEvent
from portal.audit.services import (
    GENESIS,
    audit_record,
    audit_verify,
    event_digest,
    head_is_sealed,
    head_seal,
    legacy_event_digest,
)
from portal.audit.tasks import audit_head_publish
from portal.celery import app as celery_app
from tests.factories import PlatformRoleFactory, UserFactory
from tests.onboarding.approval_helpers import DEVANAGARI_RE
from tests.portal.audit_helpers import tampering
from tests.smtp import text_of

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]
FIELDS = ("created_at", "actor_id", "actor_email", "actor_role", "action", "target_type", "target_id", "target_repr",
          "old_values", "new_values", "ip", "user_agent")


def verify(*expect_heads):
    """Run verify_audit (with --expect-head for each "<id>:<hash>"); return stdout,
    or raise CommandError with the command's stderr attached."""
    out, err = StringIO(), StringIO()
    args = [arg for head in expect_heads for arg in ("--expect-head", head)]
    try:
        call_command("verify_audit", *args, stdout=out, stderr=err)
    except CommandError as exc:
        exc.stderr = err.getvalue()
        raise
    return out.getvalue()


def broken(*expect_heads):
    """verify_audit's stderr, asserting that it failed."""
    with pytest.raises(CommandError, match=r"Audit chain broken: \d+ problem\(s\)\.") as excinfo:
        verify(*expect_heads)
    return excinfo.value.stderr


def record_events(n, start=0):
    user = UserFactory(email=f"actor{start}@mha.gov.in")
    for i in range(start, start + n):
        audit_record(actor=user, action=AuditAction.USER_LOGGED_IN, target=user, new={"i": i}, ip="10.0.0.1")
    return list(AuditEvent.objects.order_by("id"))


def published(head=None):
    head = head or AuditChainHead.objects.get(pk=1)
    return f"{head.last_event_id}:{head.last_hash}"


def fields_of(event, **change):
    return {name: change.get(name, getattr(event, name)) for name in FIELDS}


def rewrite_from(events, index, digest, **change):
    """Edit events[index], recompute its hash and every later one with ``digest`` (a forger's
    function), and move the head to the new last hash as a forger would."""
    prev_hash = events[index].prev_hash
    with tampering():
        for position, event in enumerate(events[index:]):
            fields = fields_of(event, **(change if position == 0 else {}))
            new_hash = digest(prev_hash=prev_hash, **fields)
            AuditEvent.objects.filter(pk=event.pk).update(prev_hash=prev_hash, hash=new_hash,
                                                          **{k: v for k, v in fields.items() if k in change})
            prev_hash = new_hash
        AuditChainHead.objects.filter(pk=1).update(last_hash=prev_hash)


# The key ------------------------------------------------------------------------------

def test_event_hashes_are_hmac_under_the_audit_key_not_plain_sha256():
    [event] = record_events(1)
    fields = dict(prev_hash=GENESIS, **fields_of(event))
    assert event.hash == event_digest(key=settings.AUDIT_HMAC_KEY.encode(), **fields)
    assert event.hash != legacy_event_digest(**fields)
    assert event.hash != event_digest(key=b"another key of at least thirty-two characters", **fields)


def test_a_row_edited_and_every_later_hash_recomputed_with_plain_sha256_is_detected():
    events = record_events(8)
    rewrite_from(events, 3, legacy_event_digest, actor_email="forger@mha.gov.in")
    problems = audit_verify()
    edited = "contents do not match the stored hash: the row was edited"
    assert [(p.event_id, p.reason) for p in problems if p.reason == edited] == [(e.pk, edited) for e in events[3:]]
    assert any("seal does not match" in p.reason for p in problems)
    assert f"audit event {events[3].pk}: {edited}" in broken()


def test_a_row_edited_and_every_later_hash_recomputed_with_a_wrong_key_is_detected():
    events = record_events(8)

    def forger(**fields):
        return event_digest(key=b"a guessed key, not the portal's audit key", **fields)

    rewrite_from(events, 5, forger, new_values={"i": 99})
    edited = "contents do not match the stored hash: the row was edited"
    assert [p.event_id for p in audit_verify() if p.reason == edited] == [e.pk for e in events[5:]]
    broken()


def test_the_log_verified_with_another_key_fails_and_names_the_key(settings):
    record_events(3)
    verify()
    settings.AUDIT_HMAC_KEY = "not the key this log was written with, 0123456789"
    assert "AUDIT_HMAC_KEY is not the key the log was written with" in broken()


# The head: count, seal, presence ------------------------------------------------------------

def test_the_last_rows_deleted_and_the_head_moved_back_are_detected_by_the_seal_and_the_count():
    events = record_events(6)
    anchor = published()
    with tampering():
        AuditEvent.objects.filter(pk__in=[e.pk for e in events[-2:]]).delete()
        AuditChainHead.objects.filter(pk=1).update(last_event_id=events[-3].pk, last_hash=events[-3].hash)
    stderr = broken()
    assert f"audit event {events[-3].pk}: the chain head's seal does not match it" in stderr
    assert f"audit event {events[-3].pk}: the chain head counts 6 events but the log holds 4" in stderr
    # The count put right too: the seal still fails, and so does the published head.
    with tampering():
        AuditChainHead.objects.filter(pk=1).update(count=4)
    assert [p.reason for p in audit_verify()] == [
        "the chain head's seal does not match it: the head was changed without the key "
        "(or AUDIT_HMAC_KEY is not the key the log was written with)"
    ]
    assert (f"audit event {events[-1].pk}: this event, published as the chain head, is no longer in the log"
            in broken(anchor))


def test_an_older_head_restored_with_its_seal_is_detected_against_the_published_head():
    """Someone who kept a copy of an older head row (seal included) deletes the newer rows
    and puts it back: the database alone cannot tell, the published head can."""
    record_events(4)
    old_head = AuditChainHead.objects.values().get(pk=1)
    events = record_events(3, start=4)
    anchor = published()
    with tampering():
        AuditEvent.objects.filter(pk__in=[e.pk for e in events[-3:]]).delete()
        AuditChainHead.objects.filter(pk=1).update(**old_head)
    stderr = broken(anchor)
    assert stderr.strip() == (
        f"audit event {events[-1].pk}: this event, published as the chain head, is no longer in the log: rows were deleted"
    )


def test_a_stored_count_that_does_not_match_the_rows_is_detected():
    events = record_events(5)
    head = AuditChainHead.objects.get(pk=1)
    # Resealed as if with the key, so that only the count can tell.
    with tampering():
        AuditChainHead.objects.filter(pk=1).update(
            count=7, seal=head_seal(last_event_id=head.last_event_id, last_hash=head.last_hash, count=7, keyed_after_id=0)
        )
    assert [(p.event_id, p.reason) for p in audit_verify()] == [
        (events[-1].pk, "the chain head counts 7 events but the log holds 5: rows were deleted or added")
    ]
    broken()


def test_a_missing_head_while_rows_exist_is_detected():
    events = record_events(3)
    with tampering():
        AuditChainHead.objects.all().delete()
    assert [(p.event_id, p.reason) for p in audit_verify()] == [
        (events[-1].pk, "the chain head is missing but the log holds 3 events: the head was deleted")
    ]
    broken()


def test_rows_missing_while_the_head_is_present_are_detected():
    events = record_events(3)
    with tampering():
        AuditEvent.objects.all().delete()
    assert [(p.event_id, p.reason) for p in audit_verify()] == [
        (events[-1].pk, f"the newest event written was {events[-1].pk} but the log ends at nothing: "
                        "rows at the end were deleted")
    ]


def test_every_row_and_the_head_deleted_is_detected_against_the_published_head():
    record_events(4)
    anchor = published()
    with tampering():
        AuditEvent.objects.all().delete()
        AuditChainHead.objects.all().delete()
    # Nothing in the database says events ever existed; the published head does.
    assert verify().strip() == "Audit chain intact: 0 events verified."
    event_id = anchor.split(":")[0]
    assert f"audit event {event_id}: this event, published as the chain head, is no longer in the log" in broken(anchor)


def test_appending_after_a_head_moved_without_the_key_does_not_seal_it_again(caplog):
    events = record_events(4)
    with tampering():
        AuditEvent.objects.filter(pk=events[-1].pk).delete()
        AuditChainHead.objects.filter(pk=1).update(last_event_id=events[-2].pk, last_hash=events[-2].hash, count=3)
    with caplog.at_level(logging.ERROR, logger="portal.audit.services"):
        record_events(2, start=10)
    assert "AUDIT_CHAIN_HEAD_UNSEALED" in caplog.text
    assert not head_is_sealed(AuditChainHead.objects.get(pk=1))
    assert "the chain head's seal does not match it" in broken()


# --expect-head -----------------------------------------------------------------------------

def test_verify_audit_passes_against_a_published_head_that_is_still_there():
    record_events(3)
    first = published()
    record_events(2, start=3)
    out = verify(first, published())
    assert out.splitlines()[0] == "Audit chain intact: 5 events verified."
    assert out.splitlines()[1] == f"Published head {first.split(':')[0]} is in the log with its hash."


def test_verify_audit_fails_when_a_published_event_has_another_hash():
    events = record_events(3)
    stderr = broken(f"{events[1].pk}:{'ab' * 32}")
    assert stderr.strip() == (
        f"audit event {events[1].pk}: this event no longer has the hash published for it: the log was rewritten"
    )


def test_verify_audit_refuses_a_malformed_expected_head():
    with pytest.raises(CommandError, match=r"--expect-head takes <event id>:<hash>"):
        verify("12:not-a-hash")


# A chain written before the key ---------------------------------------------------------------

def legacy_chain(n):
    """Events as the code before the key wrote them: plain SHA-256, an unsealed head."""
    user = UserFactory(email="legacy@mha.gov.in")
    prev_hash = GENESIS
    for i in range(n):
        event = AuditEvent(actor_id=user.pk, actor_email=user.email, actor_role="user", action=AuditAction.USER_LOGGED_IN,
                           target_type="accounts.user", target_id=str(user.pk), target_repr=user.email,
                           new_values={"i": i}, prev_hash=prev_hash, created_at=user.date_joined)
        event.hash = legacy_event_digest(prev_hash=prev_hash, **fields_of(event))
        event.save()
        prev_hash = event.hash
    last = AuditEvent.objects.order_by("-id").first()
    AuditChainHead.objects.create(pk=1, last_event_id=last.pk, last_hash=last.hash, count=n)
    return list(AuditEvent.objects.order_by("id"))


def migrate_to_keyed_chain():
    """The migration's own step. It runs before that migration makes the head's triggers;
    here they exist already, so they are set aside for it."""
    with tampering():
        importlib.import_module("portal.audit.migrations.0006_keyed_chain").seal_existing_head(apps, None)


def test_a_chain_written_before_the_key_verifies_after_the_migration_and_continues_keyed():
    legacy = legacy_chain(4)
    migrate_to_keyed_chain()
    head = AuditChainHead.objects.get(pk=1)
    assert head.keyed_after_id == legacy[-1].pk and head_is_sealed(head)
    keyed = record_events(3)[4:]
    assert keyed[0].prev_hash == legacy[-1].hash
    assert keyed[0].hash == event_digest(prev_hash=legacy[-1].hash, **fields_of(keyed[0]))
    assert verify().strip() == "Audit chain intact: 7 events verified."


def test_the_part_written_before_the_key_cannot_be_rewritten_after_the_migration():
    legacy = legacy_chain(4)
    migrate_to_keyed_chain()
    keyed = record_events(2)[4:]
    # Rewriting the plain part with plain SHA-256 breaks the first keyed event's link.
    with tampering():
        prev_hash = legacy[1].prev_hash
        for position, event in enumerate(legacy[1:]):
            fields = fields_of(event, actor_email="forger@mha.gov.in" if position == 0 else event.actor_email)
            new_hash = legacy_event_digest(prev_hash=prev_hash, **fields)
            AuditEvent.objects.filter(pk=event.pk).update(prev_hash=prev_hash, hash=new_hash, actor_email=fields["actor_email"])
            prev_hash = new_hash
    assert [(p.event_id, p.reason) for p in audit_verify()] == [
        (keyed[0].pk, "previous hash does not match: a row before it was changed or deleted")
    ]


def test_moving_the_end_of_the_unkeyed_part_breaks_the_seal():
    legacy = legacy_chain(3)
    migrate_to_keyed_chain()
    keyed = record_events(3)[3:]
    # Declaring the keyed events plain SHA-256 ones, to recompute them without the key:
    rewrite_from(list(AuditEvent.objects.order_by("id")), 3, legacy_event_digest, actor_email="forger@mha.gov.in")
    with tampering():
        AuditChainHead.objects.filter(pk=1).update(keyed_after_id=keyed[-1].pk)
    assert legacy[-1].pk < keyed[0].pk
    assert [p.reason.split(":")[0] for p in audit_verify()] == ["the chain head's seal does not match it"]


# PostgreSQL: the triggers -----------------------------------------------------------------

@pytest.mark.usefixtures("require_postgresql")
@pytest.mark.parametrize("table", ["audit_auditevent", "audit_auditchainhead"])
def test_postgresql_refuses_truncate_of_the_audit_tables(table):
    record_events(3)
    for statement in (f"TRUNCATE {table}", f"TRUNCATE {table} RESTART IDENTITY CASCADE",
                      "TRUNCATE audit_auditevent, audit_auditchainhead"):
        with pytest.raises(DatabaseError, match=r"is append-only: TRUNCATE refused"), transaction.atomic(), \
                connection.cursor() as cursor:
            cursor.execute(statement)
    assert AuditEvent.objects.count() == 3 and AuditChainHead.objects.filter(pk=1).exists()
    verify()


@pytest.mark.usefixtures("require_postgresql")
def test_postgresql_refuses_deleting_the_head_or_moving_it_back():
    record_events(3)
    with pytest.raises(DatabaseError, match="audit_auditchainhead: DELETE refused"), transaction.atomic():
        AuditChainHead.objects.all().delete()
    for change in ({"count": 2}, {"last_event_id": 1}, {"keyed_after_id": 5}):
        with pytest.raises(DatabaseError, match="moves only forward: UPDATE refused"), transaction.atomic():
            AuditChainHead.objects.filter(pk=1).update(**change)
    verify()


@pytest.mark.usefixtures("require_postgresql")
def test_postgresql_truncate_by_a_superuser_past_the_trigger_is_detected_against_the_published_head():
    record_events(3)
    anchor = published()
    with tampering(), connection.cursor() as cursor:
        cursor.execute("TRUNCATE audit_auditevent, audit_auditchainhead")
    assert "is no longer in the log: rows were deleted" in broken(anchor)


@pytest.mark.usefixtures("require_postgresql")
def test_postgresql_head_triggers_are_installed():
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT tgname FROM pg_trigger WHERE tgrelid = 'audit_auditchainhead'::regclass AND NOT tgisinternal"
            " ORDER BY tgname"
        )
        assert [row[0] for row in cursor.fetchall()] == ["audit_head_forward_only", "audit_head_no_truncate"]


# Publishing the head outside the database -------------------------------------------------------

def test_the_daily_job_logs_the_head_and_mails_it_to_superadmins_in_english_and_hindi(
    smtp_server, caplog, django_capture_on_commit_callbacks
):
    superadmin = UserFactory(email="asha.superadmin@nic.in")
    PlatformRoleFactory(user=superadmin, role="superadmin", jurisdiction="")
    django_superuser = UserFactory(email="root@nic.in", is_superuser=True, is_staff=True)
    PlatformRoleFactory(user=UserFactory(email="ravi.admin@maharashtra.gov.in"), role="state_admin", jurisdiction="MH")
    record_events(3)
    head = AuditChainHead.objects.get(pk=1)
    with caplog.at_level(logging.INFO, logger="portal.audit"), django_capture_on_commit_callbacks(execute=True):
        result = audit_head_publish.delay().get()
    assert result == {"event_id": head.last_event_id, "hash": head.last_hash, "count": head.count, "sealed": True,
                      "mailed": 2}
    [line] = [r.getMessage() for r in caplog.records if r.getMessage().startswith("AUDIT_CHAIN_HEAD ")]
    assert line.startswith(f"AUDIT_CHAIN_HEAD {head.last_event_id}:{head.last_hash} count=3 at=")
    # What the log line says is what verify_audit takes.
    verify(line.split()[1])

    assert sorted(m["To"] for m in smtp_server.messages) == sorted([superadmin.email, django_superuser.email])
    for message in smtp_server.messages:
        subject = message["Subject"]
        english_subject, hindi_subject = subject.split(" / ")
        assert "=?" not in subject and english_subject.startswith("Audit log head, ")
        assert hindi_subject.startswith("ऑडिट लॉग का शीर्ष, ") and english_subject[-4:] == hindi_subject[-4:]
        english, _sep, hindi = text_of(message).partition("\n----------\n")
        assert f"\n{head.last_event_id}:{head.last_hash}\n" in english
        assert f"manage.py verify_audit --expect-head {head.last_event_id}:{head.last_hash}" in english
        assert "Events in the log then: 3." in english and "Warning" not in english
        assert DEVANAGARI_RE.search(hindi) and f"{head.last_event_id}:{head.last_hash}" in hindi


def test_the_heads_mail_gives_its_number_of_events_as_every_figure_is_given():
    """A log of some years holds millions of events: "12,34,567" in each half of the mail,
    as the portal writes every count, not "1234567"."""
    from types import SimpleNamespace

    from django.utils import timezone

    head = SimpleNamespace(last_event_id=42, last_hash="ab" * 32, count=1_234_567)
    message = publish.superadmin_mail(to="asha.superadmin@nic.in", template="audit/email/head_published",
                                      context={"head": head, "sealed": True, "published_at": timezone.now()})
    english, _sep, hindi = message.body.partition("\n----------\n")
    assert "Events in the log then: 12,34,567." in english
    assert "12,34,567" in hindi and "1234567" not in message.body


def test_the_daily_job_warns_when_the_head_was_moved_without_the_key(smtp_server, caplog,
                                                                    django_capture_on_commit_callbacks):
    PlatformRoleFactory(user=UserFactory(email="asha.superadmin@nic.in"), role="superadmin", jurisdiction="")
    record_events(3)
    with tampering():
        AuditChainHead.objects.filter(pk=1).update(count=2)
    with caplog.at_level(logging.INFO, logger="portal.audit"), django_capture_on_commit_callbacks(execute=True):
        assert audit_head_publish.delay().get()["sealed"] is False
    assert any(r.levelno == logging.ERROR and "SEAL MISMATCH" in r.getMessage() for r in caplog.records)
    [message] = smtp_server.messages
    assert "Warning: the seal of the chain head does not match" in text_of(message)


def test_the_daily_job_with_an_empty_log_mails_nothing(smtp_server, caplog):
    PlatformRoleFactory(user=UserFactory(email="asha.superadmin@nic.in"), role="superadmin", jurisdiction="")
    with caplog.at_level(logging.INFO, logger="portal.audit"):
        assert publish.audit_head_publish() == {"event_id": None, "mailed": 0}
    assert "AUDIT_CHAIN_HEAD none" in caplog.text
    assert smtp_server.messages == []


def test_the_head_job_is_in_the_beat_schedule_daily():
    entry = settings.CELERY_BEAT_SCHEDULE["audit-head-publish"]
    assert entry == {"task": "portal.audit.tasks.audit_head_publish", "schedule": crontab(hour=3, minute=30)}
    assert entry["task"] in celery_app.tasks


# Configuration ----------------------------------------------------------------------------------

def production_env(**extra):
    return {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "PORTAL_", "AUDIT_"))} | {
        "DJANGO_SETTINGS_MODULE": "portal.settings", "DJANGO_DEBUG": "0",
        "DJANGO_SECRET_KEY": "x" * 20 + "production-like-secret-key-with-enough-entropy-0123456789",
        "DJANGO_ALLOWED_HOSTS": "onboarding.sandes.gov.in", "SITE_URL": "https://onboarding.sandes.gov.in",
    } | extra


@pytest.mark.parametrize(("key", "message"), [
    (None, "AUDIT_HMAC_KEY must be set when DJANGO_DEBUG is off."),
    ("short", "AUDIT_HMAC_KEY must be at least 32 characters long."),
])
def test_production_settings_refuse_a_missing_or_short_audit_key(key, message):
    env = production_env(**({"AUDIT_HMAC_KEY": key} if key else {}))
    result = subprocess.run([sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True, text=True)
    assert result.returncode != 0
    assert message in result.stderr

