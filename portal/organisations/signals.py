"""What the core's role services tell the feature apps, without importing them
(DESIGN §8: the listener registers; the sender imports nothing of it)."""

from django.dispatch import Signal

# A platform role grant is ending, in the transaction that ends it, its row locked and not
# yet changed: revoked (platform_role_revoke), ended with its account (platform_roles_lapse)
# or recorded as past its end date (role_expiries_record, and any service that finds it so).
# Arguments: ``grant``, and ``counted_until``: None when it counted until now (a revocation),
# its end date when it stopped counting then (recorded later). A receiver may return a
# function of no arguments, called once the change is written, in the same transaction:
# what it read before, compared with what holds after (onboarding: those who now decide
# the steps the role decided are told).
platform_role_ending = Signal()

# An organisation's status changed (organisation_suspend, organisation_reactivate), in the
# transaction that changes it, its row locked and saved. Arguments: ``organisation``,
# ``old`` and ``new`` (OrganisationStatus values), and ``at``, the moment of the change.
# Verification: the grace periods of its people asked to confirm their official address
# stop counting at once, and are given back what they did not count once it is active again.
organisation_status_changed = Signal()
