"""The invitation link's secret: 256 random bits, only their SHA-256 stored."""

import base64
import hashlib
import re
import secrets

TOKEN_BYTES = 32
TOKEN_PATTERN = r"[A-Za-z0-9_-]{43}"  # token_urlsafe(32)
TOKEN_RE = re.compile(rf"\A{TOKEN_PATTERN}\Z")


def token_hash(raw: str) -> str:
    return hashlib.sha256(raw.encode("ascii")).hexdigest()


def token_new() -> tuple[str, str]:
    """A new token and its hash."""
    raw = secrets.token_urlsafe(TOKEN_BYTES)
    return raw, token_hash(raw)


def token_is_well_formed(raw: str | None) -> bool:
    return bool(raw) and bool(TOKEN_RE.match(raw))


def tokens_new(n: int) -> list[tuple[str, str]]:
    """``n`` new tokens and their hashes, as ``token_new`` makes them (the random bytes
    asked for once)."""
    pool = secrets.token_bytes(TOKEN_BYTES * n)
    raws = [base64.urlsafe_b64encode(pool[i:i + TOKEN_BYTES]).rstrip(b"=").decode("ascii")
            for i in range(0, len(pool), TOKEN_BYTES)]
    return [(raw, token_hash(raw)) for raw in raws]
