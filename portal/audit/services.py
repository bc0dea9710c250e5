"""Writing and verifying the audit log."""

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime

from django.db import connection, transaction
from django.db.models import Model
from django.http import HttpRequest
from django.utils import timezone

from portal.audit.models import AuditAction, AuditChainHead, AuditEvent
from portal.client import request_meta
from portal.permissions import AnyUser, platform_roles_of

GENESIS = "0" * 64
# Arbitrary constant key for the PostgreSQL advisory lock that serialises appends.
_CHAIN_LOCK_KEY = 742_100_731


def _plain(values: dict | None) -> dict:
    """JSON-safe copy of a mapping, so the stored value hashes the same when read back."""
    return json.loads(json.dumps(values or {}, default=str, sort_keys=True))


def event_digest(
    *,
    prev_hash: str,
    created_at: datetime,
    actor_id: int | None,
    actor_email: str,
    actor_role: str,
    action: str,
    target_type: str,
    target_id: str,
    target_repr: str,
    old_values: dict,
    new_values: dict,
    ip: str | None,
    user_agent: str,
) -> str:
    payload = {
        "prev": prev_hash,
        "at": created_at.astimezone(UTC).isoformat(timespec="microseconds"),
        "actor_id": actor_id,
        "actor_email": actor_email,
        "actor_role": actor_role,
        "action": action,
        "target": [target_type, target_id, target_repr],
        "old": old_values,
        "new": new_values,
        "ip": ip,
        "ua": user_agent,
    }
    blob = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def audit_record(
    *,
    actor: AnyUser | None,
    action: AuditAction,
    target: Model | None = None,
    old: dict | None = None,
    new: dict | None = None,
    request: HttpRequest | None = None,
    actor_role: str = "",
    ip: str | None = None,
    user_agent: str | None = None,
) -> AuditEvent:
    """Append one audit event in the caller's transaction and return it.

    ``actor`` is a user, or None for the system (Celery jobs) or an
    unauthenticated party; then ``actor_role`` names who acted (for example
    "competent_authority:a@b.gov.in").
    """
    req_ip, req_ua = request_meta(request)
    ip = ip if ip is not None else req_ip
    user_agent = user_agent if user_agent is not None else req_ua
    actor_id = getattr(actor, "pk", None) if actor is not None and getattr(actor, "is_authenticated", False) else None
    actor_email = getattr(actor, "email", "") if actor_id else ""
    if not actor_role:
        actor_role = _role_snapshot(actor) if actor_id else "system"
    fields = dict(
        actor_id=actor_id, actor_email=actor_email, actor_role=actor_role[:100], action=str(action),
        **_target_fields(target), old_values=_plain(old), new_values=_plain(new), ip=ip, user_agent=user_agent,
    )
    return _append([fields])[0]


def audit_record_many(events: list[dict]) -> list[AuditEvent]:
    """Append several system events (dicts of audit_record's keyword arguments,
    without ``request``) with a constant number of queries, for batch jobs."""
    if not events:
        return []
    return _append([
        dict(
            actor_id=None, actor_email="", actor_role=(event.get("actor_role") or "system")[:100],
            action=str(event["action"]), **_target_fields(event.get("target")),
            old_values=_plain(event.get("old")), new_values=_plain(event.get("new")), ip=None, user_agent="",
        )
        for event in events
    ])


def _target_fields(target: Model | None) -> dict[str, str]:
    if target is None:
        return {"target_type": "", "target_id": "", "target_repr": ""}
    return {"target_type": target._meta.label_lower, "target_id": str(target.pk), "target_repr": str(target)[:300]}


def _append(field_dicts: list[dict]) -> list[AuditEvent]:
    """Chain and insert events in one transaction, serialised with every other append:
    lock the chain head, hash each row onto the one before, insert them, move the head."""
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_CHAIN_LOCK_KEY])
        head = AuditChainHead.objects.select_for_update().filter(pk=1).first()
        prev_hash = head.last_hash if head else GENESIS
        rows = []
        for fields in field_dicts:
            fields = {**fields, "created_at": timezone.now()}
            digest = event_digest(prev_hash=prev_hash, **fields)
            rows.append(AuditEvent(prev_hash=prev_hash, hash=digest, **fields))
            prev_hash = digest
        created = AuditEvent.objects.bulk_create(rows)
        last_id = created[-1].pk or AuditEvent.objects.filter(hash=prev_hash).values_list("id", flat=True).get()
        if head is None:
            AuditChainHead.objects.create(pk=1, last_event_id=last_id, last_hash=prev_hash, count=len(created))
        else:
            head.last_event_id, head.last_hash, head.count = last_id, prev_hash, head.count + len(created)
            head.save(update_fields=["last_event_id", "last_hash", "count"])
        return created


def _role_snapshot(user: AnyUser) -> str:
    roles = sorted(f"{r}:{j}" if j else r for r, j in platform_roles_of(user))
    if user.is_superuser:
        roles.insert(0, "django_superuser")
    return ",".join(roles) or "user"


@dataclass
class ChainProblem:
    event_id: int
    reason: str


def audit_verify(*, batch_size: int = 2000) -> list[ChainProblem]:
    """Walk the chain and return a list of problems (empty when intact)."""
    problems = []
    prev_hash = GENESIS
    last = None
    for event in AuditEvent.objects.order_by("id").iterator(chunk_size=batch_size):
        if event.prev_hash != prev_hash:
            problems.append(ChainProblem(event.id, "previous hash does not match: a row before it was changed or deleted"))
        expected = event_digest(
            prev_hash=event.prev_hash, created_at=event.created_at, actor_id=event.actor_id,
            actor_email=event.actor_email, actor_role=event.actor_role, action=event.action,
            target_type=event.target_type, target_id=event.target_id, target_repr=event.target_repr,
            old_values=event.old_values, new_values=event.new_values, ip=event.ip, user_agent=event.user_agent,
        )
        if expected != event.hash:
            problems.append(ChainProblem(event.id, "contents do not match the stored hash: the row was edited"))
        prev_hash = event.hash
        last = event
    head = AuditChainHead.objects.filter(pk=1).first()
    if head is not None and head.last_hash != prev_hash:
        problems.append(ChainProblem(
            head.last_event_id,
            f"the newest event written was {head.last_event_id} but the log ends at {last.id if last else 'nothing'}: "
            "rows at the end were deleted",
        ))
    return problems
