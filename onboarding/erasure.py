"""What an erasure granted to a person (portal/privacy/requests.py) asks of their
applications: each of them can be held on its own, and a hold on one stops the
erasure. Registered from OnboardingConfig.ready."""

from onboarding.models import Application
from portal.privacy.models import HoldTarget


def person_applications_held(user_id: int) -> list[tuple[str, int]]:
    """The person's applications, as legal holds name them."""
    return [(HoldTarget.APPLICATION, pk)
            for pk in Application.objects.filter(nodal_officer_id=user_id).values_list("pk", flat=True)]
