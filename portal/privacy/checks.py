"""System checks of data protection settings."""

from django.conf import settings
from django.core import checks

CERT_IN_MINIMUM_DAYS = 180


@checks.register(checks.Tags.security)
def log_retention(app_configs, **kwargs) -> list:
    """The request and audit logs are kept at least PRIVACY_LOG_RETENTION_DAYS (a year by default); CERT-In's
    directions of 2022 ask for 180 days at least."""
    days = getattr(settings, "PRIVACY_LOG_RETENTION_DAYS", 0)
    if days < CERT_IN_MINIMUM_DAYS:
        return [checks.Error(
            f"PRIVACY_LOG_RETENTION_DAYS is {days}: logs must be kept at least {CERT_IN_MINIMUM_DAYS} days "
            "(CERT-In directions, 2022); the portal's default is 365.", id="privacy.E001")]
    return []
