"""Erasing the personal part of audit events (redaction) without breaking the chain.

An event written since the split hashes its personal part (actor email, client
address and browser, target text, the values under its personal keys) only as a
keyed digest. Redacting it stores that digest in the row and empties the part, so
``verify_audit`` checks the row against the stored digest and still passes; the
head counts the redacted events under its seal, so a redaction made past the
portal (without the key) fails verification. On PostgreSQL the append-only trigger
lets exactly this UPDATE through, and only when the session asked for it
(``portal.audit_redaction``); every other change is still refused.

Events written before the split hash their personal part whole: they are left as
they are and counted as kept."""

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from portal.audit.models import AuditAction, AuditChainHead, AuditEvent
from portal.audit.services import audit_record, head_is_sealed, lock_chain, seal_of, written_personal_digest
from portal.permissions import AnyUser

REDACTED_FIELDS = ["actor_email", "ip", "user_agent", "target_repr", "old_values", "new_values", "personal_digest",
                   "redacted_at"]


@dataclass
class RedactionResult:
    redacted: int = 0
    kept_whole: int = 0


def events_of(*, actor_ids: Iterable[int] = (), targets: Iterable[tuple[str, str]] = (),
              event_ids: Iterable[int] = ()) -> Q | None:
    """The events by one of ``actor_ids``, about one of ``targets`` ((target_type, target_id)
    pairs) or among ``event_ids`` (events about something else that name the person)."""
    by_type: dict[str, set[str]] = defaultdict(set)
    for target_type, target_id in targets:
        by_type[target_type].add(str(target_id))
    condition = Q(actor_id__in=list(actor_ids)) if actor_ids else None
    if event_ids:
        part = Q(pk__in=sorted(event_ids))
        condition = part if condition is None else condition | part
    for target_type, ids in by_type.items():
        part = Q(target_type=target_type, target_id__in=sorted(ids))
        condition = part if condition is None else condition | part
    return condition


def redact(event: AuditEvent) -> AuditEvent:
    """Empty one event's personal part in memory, keeping its digest."""
    keys = list(event.personal_keys or [])
    event.personal_digest = written_personal_digest(event)
    event.actor_email, event.ip, event.user_agent, event.target_repr = "", None, "", ""
    event.old_values = {k: v for k, v in event.old_values.items() if k not in keys}
    event.new_values = {k: v for k, v in event.new_values.items() if k not in keys}
    event.redacted_at = timezone.now()
    return event


# One UPDATE for a batch, the personal keys' values removed in SQL exactly as the
# trigger checks it (Django's bulk_update builds a CASE per field and row, whose
# compilation dominated a batch of 500).
REDACT_SQL = """
UPDATE audit_auditevent AS e SET
    actor_email = '', ip = NULL, user_agent = '', target_repr = '',
    old_values = e.old_values - ARRAY(SELECT jsonb_array_elements_text(e.personal_keys)),
    new_values = e.new_values - ARRAY(SELECT jsonb_array_elements_text(e.personal_keys)),
    personal_digest = v.digest, redacted_at = %s
FROM unnest(%s::bigint[], %s::text[]) AS v(id, digest)
WHERE e.id = v.id AND e.redacted_at IS NULL
"""


def _store(rows: list[AuditEvent], *, batch_size: int) -> None:
    """Write redacted rows: on PostgreSQL one UPDATE, asked for by the session for the trigger."""
    if connection.vendor != "postgresql":
        AuditEvent.objects.bulk_update(rows, REDACTED_FIELDS, batch_size=batch_size)
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT set_config('portal.audit_redaction', 'on', true)")
        cursor.execute(REDACT_SQL, [rows[0].redacted_at, [row.pk for row in rows], [row.personal_digest for row in rows]])
        cursor.execute("SELECT set_config('portal.audit_redaction', 'off', true)")


def audit_redact(
    *, actor_ids: Iterable[int] = (), targets: Iterable[tuple[str, str]] = (), event_ids: Iterable[int] = (),
    actor: AnyUser | None = None, purpose: str, batch_size: int = 1000, record: bool = True,
) -> RedactionResult:
    """Redact every event by one of ``actor_ids``, about one of ``targets`` or among
    ``event_ids`` that is not redacted yet, ``batch_size`` at a time (one transaction and
    a constant number of queries each). Safe to run twice: the second run finds nothing.
    Records one AUDIT_REDACTED event with the counts (not the contents) when anything changed."""
    condition = events_of(actor_ids=list(actor_ids), targets=list(targets), event_ids=list(event_ids))
    result = RedactionResult()
    if condition is None:
        return result
    head = AuditChainHead.objects.filter(pk=1).first()
    if head is None:
        return result
    split_after_id = head.split_after_id
    result.kept_whole = AuditEvent.objects.filter(condition, id__lte=split_after_id).count() if split_after_id else 0
    pending = AuditEvent.objects.filter(condition, redacted_at__isnull=True, id__gt=split_after_id).order_by("id")
    after_id = split_after_id
    while True:
        with transaction.atomic():
            head = lock_chain()
            rows = [redact(event) for event in pending.filter(id__gt=after_id)[:batch_size]]
            if not rows:
                break
            _store(rows, batch_size=batch_size)
            sealed = head_is_sealed(head)
            head.redacted += len(rows)
            if sealed:
                head.seal = seal_of(head)
            head.save(update_fields=["redacted", "seal"])
        result.redacted += len(rows)
        after_id = rows[-1].pk
    if record and (result.redacted or result.kept_whole):
        audit_record(actor=actor, action=AuditAction.AUDIT_REDACTED, actor_role="" if actor else "system:retention",
                     new={"events": result.redacted, "kept_whole": result.kept_whole, "purpose": purpose[:100]})
    return result
