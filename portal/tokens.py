"""Single-use link tokens: 256 random bits in the link, only their SHA-256 stored.

The shape every emailed link with a secret uses (the competent authority's link in
onboarding keeps its own copy, older than this module): ``token_new`` gives the raw
token for the email and the digest for the database; ``token_digest`` turns a string
from a URL into the digest to look up, or None when it cannot be one of ours, so that
nothing else reaches a query. ``TOKEN_CHARS`` is the token's shape in a path, for
``portal.redaction.secret_path_register``.
"""

import hashlib
import re
import secrets

TOKEN_BYTES = 32
# token_urlsafe(32) is 43 characters; anything else is not one of ours.
TOKEN_CHARS = r"[A-Za-z0-9_-]{43}"
_TOKEN_RE = re.compile(rf"\A{TOKEN_CHARS}\Z")


def token_new() -> tuple[str, str]:
    """(raw token for the link, its SHA-256 hex digest to store)."""
    raw = secrets.token_urlsafe(TOKEN_BYTES)
    return raw, hashlib.sha256(raw.encode("ascii")).hexdigest()


def token_digest(raw: object) -> str | None:
    """The digest to look ``raw`` up by, or None when it is not shaped like a token."""
    if not isinstance(raw, str) or not _TOKEN_RE.match(raw):
        return None
    return hashlib.sha256(raw.encode("ascii")).hexdigest()
