"""The key of allauth's rate limits on mail to one address (ACCOUNT_RATE_LIMITS in
portal/settings.py): the mailbox the mail reaches, not the address as written.

allauth counts a limit "per key" under a cache key made of the hash of the key it is
given (allauth.core.internal.ratelimit.get_cache_key): the address typed, or the one
stored, lower-cased. Gmail ignores dots and anything after "+" in the local part, and
googlemail.com is gmail.com, so "asha.kulkarni@gmail.com", "ashakulkarni+1@gmail.com"
and "asha.kulkarni@googlemail.com" each had a count of their own while the mail reached
one mailbox. Accounts keep the address as ``normalise_mailbox`` makes it; the limits on
mail count ``normalise_address``'s form, the one people are compared in, for every page
that mails an address (a password reset or its "unknown account" notice, a code that
confirms an address at sign-up, at a sign-in or for an address added, the "account
already exists" notice) and for the 429 page asking which limit was reached."""

import hashlib
import re

from allauth.core.internal import ratelimit
from django.db.models import Q

from portal.accounts.official_email import DOTLESS_PROVIDERS, normalise_address, normalise_mailbox

APP = "allauth.account"
# allauth's actions whose "per key" rates count mail to one address.
MAIL_ACTIONS = frozenset({"reset_password", "confirm_email"})


def mailbox_key(address: str) -> str:
    """The key one mailbox's mail is counted under, however its address is written; the
    address itself when it is none (for allauth's own validation to refuse)."""
    return normalise_address(normalise_mailbox(address)) or address


def one_mailbox(first: str, second: str) -> bool:
    """Whether two addresses reach one mailbox (``mailbox_key``): accounts are kept one per
    address, "+tag" and all, so the accounts of one mailbox are one person's."""
    return mailbox_key(first) == mailbox_key(second)


def own_account(account, viewer) -> str:
    """Whether ``account`` is ``viewer``'s: "self" (the same account), "mailbox" (another
    account of their mailbox: one_mailbox), or "" (someone else's)."""
    if account.pk == viewer.pk:
        return "self"
    return "mailbox" if one_mailbox(account.email, viewer.email) else ""


def person_key(address: str) -> str:
    """Who one person is for a limit counted in the cache (portal.limits.hourly_slot_take):
    the digest of their mailbox's key, so that every account of one mailbox ("+tag" forms)
    counts as one, and the cache names no address."""
    return hashlib.sha256(mailbox_key(address).encode()).hexdigest()[:32]


def same_mailbox(field: str, address: str) -> Q:
    """A filter on ``field`` (an address kept as accounts keep theirs: normalise_mailbox) for
    the addresses with ``address``'s ``mailbox_key``: the mailbox itself and its "+tag" forms,
    and at a provider that ignores dots (Gmail) its forms with dots too. Accounts are kept one
    per address, "+tag" and all, so one person may hold several: the limits on what one
    person does count every account of their mailbox with it. No query of its own; matches
    nothing for an address that is none."""
    key = normalise_address(normalise_mailbox(address))
    if not key:
        return Q(**{f"{field}__in": []})
    local, _at, domain = key.rpartition("@")
    if domain in DOTLESS_PROVIDERS:  # normalise_address's form of them: no dots, gmail.com
        dotted = r"\.*".join(re.escape(letter) for letter in local)
        providers = "|".join(re.escape(provider) for provider in sorted(DOTLESS_PROVIDERS))
        return Q(**{f"{field}__regex": rf"^\.*{dotted}\.*(\+.*)?@({providers})$"})
    # The domain is what follows the last "@", and the local part's tag all after its first "+".
    return Q(**{field: key}) | Q(**{f"{field}__startswith": f"{local}+", f"{field}__endswith": f"@{domain}"})


def counted_by_mailbox(get_cache_key):
    """allauth's ``get_cache_key``, with the key of a limit on mail to one address made
    its ``mailbox_key``."""

    def cache_key(request, *, app, action, rate, key=None, user=None):
        if app == APP and action in MAIL_ACTIONS and rate.per == "key" and key is not None:
            key = mailbox_key(key)
        return get_cache_key(request, app=app, action=action, rate=rate, key=key, user=user)

    cache_key.counts_by_mailbox = True
    return cache_key


def install() -> None:
    """Make allauth count its mail limits by mailbox (AccountsConfig.ready); once."""
    if not getattr(ratelimit.get_cache_key, "counts_by_mailbox", False):
        ratelimit.get_cache_key = counted_by_mailbox(ratelimit.get_cache_key)
