"""Writing and verifying the audit log.

Each event's hash is an HMAC-SHA256, under a key kept outside the database
(``settings.AUDIT_HMAC_KEY``), of its contents and the previous event's hash; the
chain head (one row) holds the newest event, the count, and a seal (an HMAC of
the head). Someone who can write to the database but has not the key can neither
edit a row and recompute the hashes after it, nor move the head back. Events
written before the chain was keyed (up to ``AuditChainHead.keyed_after_id``) keep
their plain SHA-256 hashes; the first keyed event covers the last of them.

Since the personal part of events can be erased (erasure.py), each event's hash
covers its personal part (actor email, address, browser, target text and the
values under its ``personal_keys``) only as a keyed digest of it. Redaction
empties that part and keeps the digest in the row, so the chain still verifies.
The digest covers the event's place in the chain too (its previous hash and time), so
that it belongs to one event: a redaction cannot be moved to another event with the
same personal part (digests of events written before that, "v" 2 in their hash, do not;
verify tries the newer form first). Events written before the split (up to ``AuditChainHead.split_after_id``) hash it whole
and are never redacted.
"""

import hashlib
import hmac
import ipaddress
import json
import logging
import struct
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Model
from django.http import HttpRequest
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _

from portal.audit.models import AuditAction, AuditChainHead, AuditEvent
from portal.audit.personal import personal_keys_of
from portal.client import request_meta
from portal.permissions import (
    AnyUser,
    administers_some_organisation_by_right,
    organisations_administered_by_right,
    platform_roles_of,
)

logger = logging.getLogger(__name__)

GENESIS = "0" * 64
# Arbitrary constant key for the PostgreSQL advisory lock that serialises appends.
_CHAIN_LOCK_KEY = 742_100_731


def _plain(values: dict | None) -> dict:
    """JSON-safe copy of a mapping, so the stored value hashes the same when read back;
    without NUL characters, which PostgreSQL's jsonb refuses (an event is never lost to one),
    and with its fractions as text: jsonb gives 1e16 back as 10000000000000000 and -0.0 as 0,
    and refuses NaN and infinity."""
    return _stored_as_read(json.loads(json.dumps(values or {}, default=str, sort_keys=True)))


def _stored_as_read(value: object) -> object:
    if isinstance(value, str):
        return value.replace("\x00", "")
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, dict):
        return {_stored_as_read(key): _stored_as_read(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_stored_as_read(item) for item in value]
    return value


def audit_key() -> bytes:
    """The chain's HMAC key (settings.AUDIT_HMAC_KEY, from the environment)."""
    return settings.AUDIT_HMAC_KEY.encode("utf-8")


def _event_blob(
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
) -> bytes:
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
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def _canonical(payload: dict) -> bytes:
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


# The form of an event's hash written now (split_event_digest's "v"), and the one before
# its personal digest named the event.
DIGEST_VERSION = 3
UNBOUND_DIGEST_VERSION = 2


def personal_digest(
    *, key: bytes | None = None, personal_keys: list[str], actor_email: str, ip: str | None, user_agent: str,
    target_repr: str, old_values: dict, new_values: dict, event: tuple[str, datetime] | None = None,
) -> str:
    """The keyed digest of an event's personal part (what redaction erases), bound to the
    event by ``event`` (its previous hash and time; None: unbound, as written before)."""
    payload = {
        "actor_email": actor_email, "ip": ip, "ua": user_agent, "target_repr": target_repr,
        "old": {k: old_values[k] for k in personal_keys if k in old_values},
        "new": {k: new_values[k] for k in personal_keys if k in new_values},
    }
    if event is not None:
        payload["event"] = [event[0], event[1].astimezone(UTC).isoformat(timespec="microseconds")]
    message = b"audit-personal|" + _canonical(payload)
    return hmac.new(audit_key() if key is None else key, message, hashlib.sha256).hexdigest()


def split_event_digest(
    *, key: bytes | None = None, prev_hash: str, created_at: datetime, actor_id: int | None, actor_role: str,
    action: str, target_type: str, target_id: str, old_values: dict, new_values: dict, personal_keys: list[str],
    personal: str, actor_organisations: list | None = None, version: int = DIGEST_VERSION,
) -> str:
    """The hash of an event written since the split: its impersonal fields, the
    impersonal values of old/new, the list of personal keys and the personal digest. The
    organisations the actor administers are part of it once there are any (so an event
    written before they were named keeps its hash)."""
    payload = {
        "v": version, "prev": prev_hash, "at": created_at.astimezone(UTC).isoformat(timespec="microseconds"),
        "actor_id": actor_id, "actor_role": actor_role, "action": action, "target": [target_type, target_id],
        "old": {k: v for k, v in old_values.items() if k not in personal_keys},
        "new": {k: v for k, v in new_values.items() if k not in personal_keys},
        "pkeys": personal_keys, "personal": personal,
    }
    if actor_organisations:
        payload["actor_orgs"] = actor_organisations
    return hmac.new(audit_key() if key is None else key, _canonical(payload), hashlib.sha256).hexdigest()


def event_digest(
    *, key: bytes | None = None, personal_keys: list[str] | None = None, personal: str | None = None,
    version: int = DIGEST_VERSION, **fields: object,
) -> str:
    """The hash of one event as written now: HMAC-SHA256 under ``key`` (the audit key
    unless given) of its impersonal fields and of the keyed digest of its personal
    part. ``fields`` are prev_hash, created_at, actor_id, ... user_agent, and
    actor_organisations when there are any; the personal keys are those of the values
    unless given, and the personal digest is computed from the fields unless given (a
    redacted event keeps it). ``version``: UNBOUND_DIGEST_VERSION for an event written
    before its personal digest named it."""
    old_values, new_values = fields["old_values"], fields["new_values"]
    if personal_keys is None:
        personal_keys = personal_keys_of(old_values, new_values)
    if personal is None:
        personal = personal_digest_of(fields, personal_keys=personal_keys, key=key, version=version)
    return split_event_digest(
        key=key, prev_hash=fields["prev_hash"], created_at=fields["created_at"], actor_id=fields["actor_id"],
        actor_role=fields["actor_role"], action=fields["action"], target_type=fields["target_type"],
        target_id=fields["target_id"], old_values=old_values, new_values=new_values, personal_keys=personal_keys,
        personal=personal, actor_organisations=fields.get("actor_organisations"), version=version,
    )


def personal_digest_of(fields: dict, *, personal_keys: list[str], key: bytes | None = None,
                       version: int = DIGEST_VERSION) -> str:
    """The personal digest of an event's ``fields`` (event_digest's), in the form of ``version``."""
    bound = (fields["prev_hash"], fields["created_at"]) if version >= DIGEST_VERSION else None
    return personal_digest(
        key=key, personal_keys=personal_keys, actor_email=fields["actor_email"], ip=fields["ip"],
        user_agent=fields["user_agent"], target_repr=fields["target_repr"], old_values=fields["old_values"],
        new_values=fields["new_values"], event=bound,
    )


def written_personal_digest(event: AuditEvent) -> str:
    """The personal digest of a whole event written since the split, in the form its hash
    was written with (bound to it, or not for an event written before that): what redacting
    it keeps. An event whose hash matches neither (edited) gets the newer form."""
    fields = {**_fields_of(event), "actor_organisations": event.actor_organisations}
    keys = list(event.personal_keys or [])
    return (_digest_as_written(fields, keys=keys, written=event.hash)
            or personal_digest_of(fields, personal_keys=keys))


def _digest_as_written(fields: dict, *, keys: list[str], written: str, personal: str | None = None,
                       key: bytes | None = None) -> str | None:
    """The personal digest (``personal``, a redacted event's, or worked out from ``fields``)
    that the event's hash ``written`` was made with, in the form of the events written now
    or, failing that, of those written before their personal digest named them; None when
    neither form makes it (the event was edited)."""
    for version in (DIGEST_VERSION, UNBOUND_DIGEST_VERSION):
        digest = personal if personal is not None else personal_digest_of(fields, personal_keys=keys, key=key,
                                                                          version=version)
        if hmac.compare_digest(event_digest(key=key, personal_keys=keys, personal=digest, version=version, **fields),
                               written):
            return digest
    return None


def _fields_of(event: AuditEvent) -> dict:
    """The fields of a stored event that its hash covers."""
    return dict(
        prev_hash=event.prev_hash, created_at=event.created_at, actor_id=event.actor_id,
        actor_email=event.actor_email, actor_role=event.actor_role, action=event.action,
        target_type=event.target_type, target_id=event.target_id, target_repr=event.target_repr,
        old_values=event.old_values, new_values=event.new_values, ip=event.ip, user_agent=event.user_agent,
    )


def whole_event_digest(*, key: bytes | None = None, **fields: object) -> str:
    """The hash events written between the key and the split carry: HMAC-SHA256 of
    every field, the personal ones included, as canonical JSON."""
    return hmac.new(audit_key() if key is None else key, _event_blob(**fields), hashlib.sha256).hexdigest()


def legacy_event_digest(**fields: object) -> str:
    """The plain SHA-256 hash that events written before the chain was keyed carry."""
    return hashlib.sha256(_event_blob(**fields)).hexdigest()


def head_seal(
    *, last_event_id: int, last_hash: str, count: int, keyed_after_id: int, key: bytes | None = None,
    split_after_id: int = 0, redacted: int = 0,
) -> str:
    """HMAC-SHA256 of the chain head's fields under the audit key. The split and the
    number of redacted events are part of the message once either is not zero (so a
    head sealed before they existed keeps its seal)."""
    message = f"audit-chain-head|{last_event_id}|{last_hash}|{count}|{keyed_after_id}"
    if split_after_id or redacted:
        message += f"|split={split_after_id}|redacted={redacted}"
    return hmac.new(audit_key() if key is None else key, message.encode(), hashlib.sha256).hexdigest()


def seal_of(head: AuditChainHead) -> str:
    return head_seal(last_event_id=head.last_event_id, last_hash=head.last_hash, count=head.count,
                     keyed_after_id=head.keyed_after_id, split_after_id=head.split_after_id, redacted=head.redacted)


def head_is_sealed(head: AuditChainHead) -> bool:
    return hmac.compare_digest(head.seal, seal_of(head))


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
    "competent_authority"; an address naming them goes in ``new``, under a personal key).
    """
    req_ip, req_ua = request_meta(request)
    ip = ip if ip is not None else req_ip
    user_agent = user_agent if user_agent is not None else req_ua
    fields = dict(
        **_actor_fields(actor, actor_role), action=str(action),
        **_target_fields(target), old_values=_plain(old), new_values=_plain(new), ip=ip, user_agent=user_agent,
    )
    return _append([fields])[0]


def audit_record_many(
    events: list[dict], *, actor: AnyUser | None = None, request: HttpRequest | None = None,
) -> list[AuditEvent]:
    """Append several events (dicts of audit_record's keyword arguments, without
    ``actor`` and ``request``) with a constant number of queries: system events, for
    batch jobs; or, with ``actor``, events of one person's change of many rows at once
    (an upload), each with the actor and the request's address as audit_record writes them."""
    if not events:
        return []
    ip, user_agent = request_meta(request)
    who = _actor_fields(actor, "")  # the actor's roles snapshotted once for the batch
    return _append([
        dict(
            **{**who, "actor_role": event["actor_role"][:100], "actor_organisations": []} if event.get("actor_role")
            else who,
            action=str(event["action"]), **_target_fields(event.get("target")),
            old_values=_plain(event.get("old")), new_values=_plain(event.get("new")), ip=ip, user_agent=user_agent,
        )
        for event in events
    ])


def _actor_fields(actor: AnyUser | None, actor_role: str) -> dict[str, object]:
    """Who acted, as an event stores it: a signed-in user's id, address and roles, with
    the organisations they administer where they act as an organisation's admin (a
    snapshot), else ``actor_role`` (default "system")."""
    actor_id = getattr(actor, "pk", None) if actor is not None and getattr(actor, "is_authenticated", False) else None
    actor_email = getattr(actor, "email", "") if actor_id else ""
    organisations = []
    if not actor_role:
        actor_role = _role_snapshot(actor) if actor_id else "system"
        if ORGANISATION_ADMIN in actor_role.split(","):
            organisations = [{"id": pk, "name": name} for pk, name in organisations_administered_by_right(actor)]
    return {"actor_id": actor_id, "actor_email": actor_email, "actor_role": actor_role[:100],
            "actor_organisations": organisations}


def _target_fields(target: Model | None) -> dict[str, str]:
    """What an event is about: the target's type, number and snapshot (its ``__str__``).
    The snapshot is English whoever acts, in whichever language: a model whose ``__str__``
    names a kind from its choices (a legal hold, a retention policy, an email rule) would
    otherwise keep it in the actor's language for every reader, for good (the log is
    append-only); the log's pages say generic snapshots in their own language
    (monitoring.auditlog.TARGET_LABELS)."""
    if target is None:
        return {"target_type": "", "target_id": "", "target_repr": ""}
    with translation.override("en"):
        snapshot = str(target)[:300]
    return {"target_type": target._meta.label_lower, "target_id": str(target.pk), "target_repr": snapshot}


def stored_ip(value: str | None) -> str | None:
    """A client's address as the row's ``ip`` column keeps it, which the event's hash
    must cover (verify_audit hashes what the row holds): an address's zone id dropped
    ("fe80::1%eth0": "fe80::1"), an IPv6 address in lower case and shortest form; on
    PostgreSQL as inet writes it (the last 32 bits dotted when the first 80 are zero and
    the next 16 are ffff, "::ffff:1.2.3.4", or the first 96 are zero and the next 16
    not, "::1.2.3.4"), elsewhere as Django's field prepares it. None for no address, or
    a value that is none (the column refuses it). A value already in that form is given
    back unchanged."""
    if not value:
        return None
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        return None
    if address.version == 4:
        return str(address)
    words = struct.unpack("!8H", address.packed)  # the packed form has no zone id
    if connection.vendor == "postgresql" and not any(words[:5]) and (words[5] == 0xFFFF or (words[5] == 0 and words[6])):
        return f"::{'ffff:' if words[5] else ''}{ipaddress.IPv4Address(address.packed[12:])}"
    return AuditEvent._meta.get_field("ip").get_prep_value(str(ipaddress.IPv6Address(address.packed)))


def lock_chain() -> AuditChainHead | None:
    """Serialise with every other change of the chain (in the caller's transaction):
    the advisory lock on PostgreSQL, then the head locked; None while the log is empty."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_CHAIN_LOCK_KEY])
    return AuditChainHead.objects.select_for_update().filter(pk=1).first()


def _append(field_dicts: list[dict]) -> list[AuditEvent]:
    """Chain and insert events in one transaction, serialised with every other append:
    lock the chain head, hash each row onto the one before, insert them, move the head.

    A head whose seal no longer matches (someone moved it without the key) is moved
    forward but not sealed again, so that appending never launders the change:
    verify_audit keeps reporting it."""
    with transaction.atomic():
        head = lock_chain()
        prev_hash = head.last_hash if head else GENESIS
        rows = []
        for fields in field_dicts:
            fields = {**fields, "ip": stored_ip(fields["ip"]), "created_at": timezone.now()}
            keys = personal_keys_of(fields["old_values"], fields["new_values"])
            digest = event_digest(prev_hash=prev_hash, personal_keys=keys, **fields)
            rows.append(AuditEvent(prev_hash=prev_hash, hash=digest, personal_keys=keys, **fields))
            prev_hash = digest
        created = AuditEvent.objects.bulk_create(rows)
        last_id = created[-1].pk or AuditEvent.objects.filter(hash=prev_hash).values_list("id", flat=True).get()
        if head is None:
            head = AuditChainHead(pk=1, last_event_id=last_id, last_hash=prev_hash, count=len(created))
            head.seal = head_seal(last_event_id=last_id, last_hash=prev_hash, count=len(created), keyed_after_id=0)
            head.save(force_insert=True)
        else:
            sealed = head_is_sealed(head)
            head.last_event_id, head.last_hash, head.count = last_id, prev_hash, head.count + len(created)
            if sealed:
                head.seal = seal_of(head)
            else:
                logger.error("AUDIT_CHAIN_HEAD_UNSEALED the audit chain head was changed without the key; "
                             "run manage.py verify_audit")
            head.save(update_fields=["last_event_id", "last_hash", "count", "seal"])
        return created


# Not a platform role: an admin of an organisation acts as one (their organisation's
# verifications, rosters, roles); stored in actor_role beside the platform roles, and the
# organisations they administer (their ids and names) in actor_organisations.
ORGANISATION_ADMIN = "organisation_admin"


def _role_snapshot(user: AnyUser) -> str:
    """The roles a person acts in, as an event stores them: their platform roles, and
    ``ORGANISATION_ADMIN`` for an organisation's admin, both read with one query (for the
    request, ``platform_roles_of``); "user" for none. An event written before
    organisation admins were named keeps "user" (its hash covers what it stores)."""
    roles = [f"{r}:{j}" if j else r for r, j in platform_roles_of(user)]
    if administers_some_organisation_by_right(user):
        roles.append(ORGANISATION_ADMIN)
    roles.sort()
    if user.is_superuser:
        roles.insert(0, "django_superuser")
    return ",".join(roles) or "user"


# What a walk of the chain can find, by a stable code (kept by monitoring's daily
# check: never renamed) and its message, told in the reader's language; ``reason`` is
# the English one (verify_audit's output).
CHAIN_PROBLEMS = {
    "link_broken": _("previous hash does not match: a row before it was changed or deleted"),
    "row_edited": _("contents do not match the stored hash: the row was edited"),
    "head_missing": _("the chain head is missing but the log holds %(count)s events: the head was deleted"),
    "head_unsealed": _("the chain head's seal does not match it: the head was changed without the key "
                       "(or AUDIT_HMAC_KEY is not the key the log was written with)"),
    "end_deleted": _("the newest event written was %(head)s but the log ends at %(end)s: rows at the end were deleted"),
    "all_deleted": _("the newest event written was %(head)s but the log ends at nothing: "
                     "rows at the end were deleted"),
    "end_renumbered": _("the newest event written was %(head)s but the log ends at %(end)s, with its hash: "
                        "the event was renumbered"),
    "count_differs": _("the chain head counts %(head_count)s events but the log holds %(count)s: "
                       "rows were deleted or added"),
    "redacted_differs": _("the chain head counts %(head_redacted)s redacted events but the log holds %(redacted)s: "
                          "events were redacted outside the portal's erasure"),
    "published_missing": _("this event, published as the chain head, is no longer in the log: rows were deleted"),
    "published_rewritten": _("this event no longer has the hash published for it: the log was rewritten"),
}


def chain_problem_text(code: str, values: dict) -> str:
    """A problem the walk found, told in the current language (a code it does not know, as it is)."""
    if code not in CHAIN_PROBLEMS:
        return code
    return str(CHAIN_PROBLEMS[code]) % values if values else str(CHAIN_PROBLEMS[code])


@dataclass
class ChainProblem:
    event_id: int
    code: str
    values: dict = field(default_factory=dict)

    @property
    def reason(self) -> str:
        """The problem in English."""
        with translation.override("en"):
            return chain_problem_text(self.code, self.values)


def audit_verify(*, batch_size: int = 2000, expect_heads: Iterable[tuple[int, str]] = ()) -> list[ChainProblem]:
    """Walk the chain and return a list of problems (empty when intact).

    ``expect_heads`` are (event id, hash) pairs published earlier (audit_head_publish):
    each event must still be in the log with that hash, so a log emptied, cut
    short or rewritten since then is detected even with a head that matches it."""
    return audit_verify_report(batch_size=batch_size, expect_heads=expect_heads).problems


@dataclass
class ChainReport:
    problems: list[ChainProblem]
    count: int
    redacted: int


def audit_verify_report(*, batch_size: int = 2000, expect_heads: Iterable[tuple[int, str]] = ()) -> ChainReport:
    """audit_verify, with the number of events walked and of redacted ones among them.
    The head and the events are read as of one moment (``_one_snapshot``)."""
    with _one_snapshot():
        return _report(batch_size=batch_size, expect_heads=expect_heads)


@contextmanager
def _one_snapshot() -> Iterator[None]:
    """Reads that see the log as of one moment: the verifier runs while people use the
    portal, and an event appended between reading the head and reading the rows is no
    row deleted. On PostgreSQL a read-only REPEATABLE READ transaction (appends go on
    meanwhile: they are after its snapshot); on SQLite, for development, its
    transaction (the one writer waits for the walk). Called within a transaction, the
    reads are that transaction's."""
    if connection.in_atomic_block:
        yield
        return
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        yield


def _report(*, batch_size: int, expect_heads: Iterable[tuple[int, str]]) -> ChainReport:
    head = AuditChainHead.objects.filter(pk=1).first()
    keyed_after_id = head.keyed_after_id if head else 0
    split_after_id = head.split_after_id if head else 0
    key = audit_key()
    expected = dict(expect_heads)
    found: dict[int, str] = {}
    problems: list[ChainProblem] = []
    prev_hash, last_id, count, redacted = GENESIS, None, 0, 0
    for event in AuditEvent.objects.order_by("id").iterator(chunk_size=batch_size):
        if event.id <= keyed_after_id:
            scheme = "plain"
        elif event.id <= split_after_id:
            scheme = "whole"
        else:
            scheme = "split"
        problems += _event_problems(event, prev_hash=prev_hash, key=key, scheme=scheme)
        if event.id in expected:
            found[event.id] = event.hash
        prev_hash, last_id, count = event.hash, event.id, count + 1
        redacted += event.redacted_at is not None
    problems += _head_problems(head, last_hash=prev_hash, last_id=last_id, count=count, links_whole=not problems,
                               redacted=redacted)
    for event_id, published in expected.items():
        if event_id not in found:
            problems.append(ChainProblem(event_id, "published_missing"))
        elif not hmac.compare_digest(found[event_id], published):
            problems.append(ChainProblem(event_id, "published_rewritten"))
    return ChainReport(problems=problems, count=count, redacted=redacted)


def _event_problems(event: AuditEvent, *, prev_hash: str, key: bytes, scheme: str) -> list[ChainProblem]:
    """A row's link and contents. ``scheme``: "plain" for a row written before the chain
    was keyed, "whole" for one written before the split, "split" for a later one."""
    problems = []
    if event.prev_hash != prev_hash:
        problems.append(ChainProblem(event.id, "link_broken"))
    fields = _fields_of(event)
    # A row written before the split names no organisation of its actor (actor_organisations came later).
    if scheme in ("plain", "whole"):
        expected = legacy_event_digest(**fields) if scheme == "plain" else whole_event_digest(key=key, **fields)
        whole = event.redacted_at is None and not event.personal_digest and not event.actor_organisations
        matches = hmac.compare_digest(expected, event.hash)
    else:
        keys = event.personal_keys if isinstance(event.personal_keys, list) else []
        fields["actor_organisations"] = event.actor_organisations
        whole = not event.personal_digest if event.redacted_at is None else _is_redacted(event)
        personal = None if event.redacted_at is None else event.personal_digest
        matches = _digest_as_written(fields, keys=keys, written=event.hash, personal=personal, key=key) is not None
    if not whole or not matches:
        problems.append(ChainProblem(event.id, "row_edited"))
    return problems


def _is_redacted(event: AuditEvent) -> bool:
    """A redacted row holds its personal digest and nothing of its personal part."""
    keys = set(event.personal_keys or [])
    return (
        len(event.personal_digest) == 64 and event.actor_email == "" and event.ip is None and event.user_agent == ""
        and event.target_repr == "" and not keys & set(event.old_values) and not keys & set(event.new_values)
    )


def _head_problems(
    head: AuditChainHead | None, *, last_hash: str, last_id: int | None, count: int, links_whole: bool,
    redacted: int = 0,
) -> list[ChainProblem]:
    """The head against the rows: present when there are rows, sealed, at the last row (its hash and its
    number), counting the rows. The count is compared when every link holds (a row missing in the middle
    is reported once, as its broken link)."""
    if head is None:
        if count:
            return [ChainProblem(last_id, "head_missing", {"count": count})]
        return []
    problems = []
    if not head_is_sealed(head):
        problems.append(ChainProblem(head.last_event_id, "head_unsealed"))
    if head.last_hash != last_hash:
        problems.append(ChainProblem(head.last_event_id, "end_deleted", {"head": head.last_event_id, "end": last_id})
                        if last_id else ChainProblem(head.last_event_id, "all_deleted", {"head": head.last_event_id}))
    else:
        # No event's hash covers its number; the sealed head covers the newest one's, which
        # the heads published, links and redactions name events by.
        if head.last_event_id != last_id:
            problems.append(ChainProblem(head.last_event_id, "end_renumbered",
                                         {"head": head.last_event_id, "end": last_id}))
        if links_whole and head.count != count:
            problems.append(ChainProblem(head.last_event_id, "count_differs",
                                         {"head_count": head.count, "count": count}))
    if head.redacted != redacted:
        problems.append(ChainProblem(head.last_event_id, "redacted_differs",
                                     {"head_redacted": head.redacted, "redacted": redacted}))
    return problems
