"""Secrets carried in URL paths, and taking them out of text that outlives them.

A feature app whose URLs carry a secret (the competent authority's single-use
link: onboarding) registers the path's shape here when it starts. The core then
keeps those secrets out of what it writes down: log lines (portal/logfilters.py)
and the stored copy of an email once it was sent (portal/mail/delivery.py). The
core knows no feature app's URLs; the app that owns a secret says what it looks like.
"""

import re

REDACTED = "[redacted]"
# What the stored copy of a sent email shows where a link with a secret was.
LINK_REMOVED = "[link removed after sending]"

_secret_paths: list[re.Pattern] = []
_secret_urls: list[re.Pattern] = []


def secret_path_register(*, prefix: str, secret: str) -> None:
    """Paths that begin with ``prefix`` (a regular expression, e.g. ``/onboarding/review/``)
    and go on with a secret matching ``secret`` (e.g. ``[A-Za-z0-9_-]{43}``)."""
    path = re.compile(f"(?P<prefix>{prefix})(?P<secret>{secret})(?![A-Za-z0-9_-])")
    if any(known.pattern == path.pattern for known in _secret_paths):
        return
    _secret_paths.append(path)
    # The whole link around such a path: scheme, host and the path before it if any,
    # the rest of the path and its query, up to the next space, quote or angle bracket.
    _secret_urls.append(re.compile(f"(?:https?://[^\\s\"'<>]*?)?{prefix}{secret}[^\\s\"'<>]*"))


def secret_paths() -> tuple[re.Pattern, ...]:
    """The registered paths with a secret (each with its groups ``prefix`` and ``secret``):
    what the access log in front of the portal (deploy/nginx-portal.conf) must redact too."""
    return tuple(_secret_paths)


def redact_secret_paths(text: str) -> str:
    """``text`` with the secret of every registered path replaced by "[redacted]"
    (the path's start kept, to show which page it was)."""
    for pattern in _secret_paths:
        text = pattern.sub(lambda match: match.group("prefix") + REDACTED, text)
    return text


def remove_secret_links(text: str) -> str:
    """``text`` with every link to a registered path replaced by "[link removed after sending]"."""
    for pattern in _secret_urls:
        text = pattern.sub(LINK_REMOVED, text)
    return text
