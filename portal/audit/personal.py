"""Which values of an audit event are personal.

An event's personal part is the actor's email snapshot, the client's address and
browser, the target's text (often a person's address) and, in ``old``/``new``, the
values under the keys listed here. The chain hashes that part only as a keyed
digest, so it can be erased later without breaking the chain. The keys an event
had are stored with it (``AuditEvent.personal_keys``), so adding a key here changes
events written from then on, never how an older one verifies.

Feature apps add the keys their events carry with ``register_personal_keys`` in
their ``AppConfig.ready``."""

PERSONAL_VALUE_KEYS: set[str] = {
    "email", "user", "name", "new_link_to", "reason", "remarks", "grounds", "details", "designation", "mobile",
    "employee_code", "official_address", "office", "nominee", "correction", "told", "admin_roles_ended", "addresses",
}


def register_personal_keys(*keys: str) -> None:
    PERSONAL_VALUE_KEYS.update(keys)


def personal_keys_of(old: dict, new: dict) -> list[str]:
    """The personal keys present in an event's old and new values, sorted."""
    return sorted(key for key in {*old, *new} if key in PERSONAL_VALUE_KEYS)
