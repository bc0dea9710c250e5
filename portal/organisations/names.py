"""The name of a person as a viewer may see it, for the core's pages that show people
(the role pages, their report and its CSV).

What a viewer sees of a person is the visibility rules' decision (DESIGN §5: one
function, in verification.visibility.rules), in a feature app the core does not import:
that app registers the rule here from its ready(), as it registers the language a
person is told in (notifications.person_language_register). Nothing registered, no
name is shown: the pages show the account address instead.
"""

from collections.abc import Callable

from django.db.models import CharField, F, Q, Value
from django.db.models.expressions import Case, When

from portal.permissions import AnyUser

# (viewer, lookup of the person's account from the rows queried: "user" on a membership
# or a grant, "" on an account) -> a condition on those rows: the viewer may see the name.
NameRule = Callable[[AnyUser, str], Q]

_rules: list[NameRule] = []


def person_name_rule_register(rule: NameRule) -> None:
    """Add a rule of who may see a person's name; every rule registered must allow it."""
    if rule not in _rules:
        _rules.append(rule)


def seen_name(viewer: AnyUser, user: str = "user"):
    """The name of the person whose account is at lookup ``user`` of the rows queried
    ("" when the rows are accounts), where ``viewer`` may see it, else None: an
    annotation of the query that lists the people (no query of its own). A page shows
    the account address where it is None or blank."""
    name = F(f"{user}__full_name" if user else "full_name")
    if not _rules:
        return Value(None, output_field=CharField())
    allowed = Q()
    for rule in _rules:
        allowed &= rule(viewer, user)
    return Case(When(allowed, then=name), default=Value(None), output_field=CharField())
