"""Reads of the directory: every one through rules.visible_profiles, scoped to the viewer."""

from django.db.models import F, QuerySet

from portal.permissions import AnyUser
from verification.models import HELD_STATUSES, GovernmentProfile
from verification.visibility.rules import (
    PersonView,
    has_searchable_word,
    search_candidates,
    search_q,
    sort_name,
    view_of,
    visible_profiles,
)

PAGE_SIZE = 50
MAX_PAGES = 20  # beyond 1,000 people a search should be narrowed
EXPORT_MAX = 1000
EXPORTS_PER_HOUR = 10  # downloads of search results, per person


def _found(viewer: AnyUser, query: str) -> QuerySet[GovernmentProfile]:
    """The profiles whose fields visible to the viewer match ``query`` (has_searchable_word's)."""
    return visible_profiles(viewer).filter(pk__in=search_candidates(query)).filter(search_q(query))


def directory_search(viewer: AnyUser, query: str, *, offset: int = 0, limit: int = PAGE_SIZE) -> list[PersonView]:
    """People whose visible fields match ``query``, as the viewer sees them, by
    visible name: one query. Nothing for a query without a word of SEARCH_MIN letters or
    digits (has_searchable_word)."""
    if not has_searchable_word(query):
        return []
    found = _found(viewer, query).order_by(sort_name().asc(nulls_last=True), F("pk").asc())
    return [view_of(profile) for profile in found[offset:offset + limit]]


def directory_found_count(viewer: AnyUser, query: str, *, most: int) -> int:
    """How many people ``directory_search`` finds for ``query``, counting at most ``most``:
    one query, for a page asked past the last (to say on which page the results end)."""
    if not has_searchable_word(query):
        return 0
    return _found(viewer, query)[:most].count()


def held_profile_of(user: AnyUser) -> GovernmentProfile | None:
    """The person's verified (or suspended) profile, with its organisation, if any."""
    if not user.is_authenticated:
        return None
    return GovernmentProfile.objects.filter(user=user, status__in=HELD_STATUSES).select_related("organisation").first()
