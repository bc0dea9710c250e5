"""Whether a person is still in government service, as the apps that know it say.

The core keeps no such fact on the account: verification knows it (the person's latest
verification past its date of superannuation, or ended on retirement or on leaving
government service) and registers its source from its ``AppConfig.ready``
(``service_ended_register``); onboarding asks it before a nodal officer's role is used
up (submission, final approval) without importing verification."""

from collections.abc import Callable

# Each source is called with a person's user id and returns why they are no longer in
# government service (a sentence, in the current language), or None when it knows of nothing.
ServiceEnded = Callable[[int], str | None]
_SOURCES: list[ServiceEnded] = []


def service_ended_register(source: ServiceEnded) -> None:
    if source not in _SOURCES:
        _SOURCES.append(source)


def service_ended(user_id: int) -> str | None:
    """Why the person is no longer in government service, by the first registered source
    that says so; None when none does."""
    for source in _SOURCES:
        reason = source(user_id)
        if reason:
            return reason
    return None
