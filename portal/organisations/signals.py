"""What the core's role services tell the feature apps, without importing them
(DESIGN §8: the listener registers; the sender imports nothing of it)."""

from django.dispatch import Signal

# Platform role grants are ending, in the transaction that ends them, their rows locked and
# not yet changed: revoked (platform_role_revoke), ended with their holder's account or
# official powers (platform_roles_lapse, official_powers_end) or recorded as past their end
# date (role_expiries_record, and any service that finds one so). Argument: ``endings``, a
# list of (grant, counted_until) pairs; ``counted_until``: None when the grant counted until
# now (a revocation), its end date when it stopped counting then (recorded later). A receiver
# may return a function of no arguments, called once every change is written, in the same
# transaction: what it read before them all, compared with what holds after them all
# (onboarding: those who now decide the steps the roles decided are told, once, however
# many of the roles ended together).
platform_role_ending = Signal()

# An organisation's status changed (organisation_suspend, organisation_reactivate), in the
# transaction that changes it, its row locked and saved. Arguments: ``organisation``,
# ``old`` and ``new`` (OrganisationStatus values), and ``at``, the moment of the change.
# Verification: the grace periods of its people asked to confirm their official address
# stop counting at once, and are given back what they did not count once it is active again.
organisation_status_changed = Signal()

# One of an organisation's email domains, official for it, was removed (organisation_domain_remove), in the
# transaction that removes it, the row deleted. Arguments: ``organisation``, ``domain`` (the
# normalised domain), ``at``, the moment of the removal. Verification: what rests on the
# domain alone ends (its waiting invitations there, the verifications made automatically
# at it). A receiver may return a mapping of what it ended and what stands (DOMAIN_REMOVAL_COUNTS
# keys: numbers), which the organisation's admins are told.
organisation_domain_removed = Signal()

# What removing one of an organisation's official domains would end, and what would stand,
# asked before it is removed (its confirmation page). Arguments: ``organisation``, ``domain``
# (the normalised domain). Each receiver returns a mapping of DOMAIN_REMOVAL_COUNTS keys to
# numbers, read without changing anything.
organisation_domain_weighed = Signal()

# How many of an organisation's verified members keep an official address at a domain no
# longer official for it (``domains``: removed from it or from one above it since, and official
# for none of its line now: status_selectors.domains_no_longer_its), for its status page.
# Arguments: ``organisation``, ``domains`` (normalised, never empty). Each receiver returns a
# number, read without changing anything.
organisation_members_off_domains = Signal()

# Which organisations' verifications of a person rest on one of ``addresses`` (confirmed
# addresses of their account, normalised to lower case: those that end as the address leaves,
# one suspended as not confirmed in time among them), asked before those addresses leave the
# account (a new primary address takes the place of every other: the email page names those
# organisations, and the admin roles that would end with them). Arguments: ``user_id``, ``addresses`` (a set). Each receiver
# returns the ids of those organisations, read without changing anything.
verifications_at_addresses = Signal()

# The numbers the receivers of the two signals above answer with (any they leave out: none).
# ``invitations_withdrawn``: waiting invitations to addresses at the domain, withdrawn;
# ``verifications_suspended``: verifications made automatically at it, suspended;
# ``verified_by_hand``: verifications an administrator decided (by hand, from a roster) of
# people whose official address is at it, which stand. Each of them in the organisation and in
# the offices below it (whose staff use its domains as theirs); ``verified_by_hand_below``: of
# ``verified_by_hand``, those in the offices below it (each office's members page lists its own).
DOMAIN_REMOVAL_COUNTS = ("invitations_withdrawn", "verifications_suspended", "admin_roles_ended", "verified_by_hand",
                         "verified_by_hand_below")


def domain_removal_counts(answers: list[tuple[object, object]]) -> dict[str, int]:
    """The receivers' answers (``Signal.send``'s list) added up, every key there (0 for none)."""
    counts = dict.fromkeys(DOMAIN_REMOVAL_COUNTS, 0)
    for _receiver, answer in answers:
        for key, number in (answer or {}).items():
            if key in counts:
                counts[key] += int(number)
    return counts
