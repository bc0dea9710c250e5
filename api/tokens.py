"""The API clients' tokens: 256 random bits behind a short, non-secret prefix.

``sandes_`` + 8 hexadecimal characters (shown in lists to tell tokens apart) + ``_``
+ 43 URL-safe characters (32 random bytes). Only the SHA-256 of the whole token is
stored: a fast hash is enough for a random 256-bit secret, which no dictionary holds."""

import hashlib
import secrets

SCHEME = "sandes_"
PREFIX_LENGTH = len(SCHEME) + 8
MAX_LENGTH = 100  # longer than any token we make: anything longer is refused unread


def token_new() -> tuple[str, str, str]:
    """A new token, its prefix and its hash."""
    token = f"{SCHEME}{secrets.token_hex(4)}_{secrets.token_urlsafe(32)}"
    return token, token[:PREFIX_LENGTH], token_hash(token)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def looks_like_token(token: str) -> bool:
    return token.startswith(SCHEME) and len(token) <= MAX_LENGTH and token.isascii()
