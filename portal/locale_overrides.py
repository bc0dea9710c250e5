"""Messages of Django's own catalogues that the portal's catalogues correct
(LOCALE_PATHS are read first). Named here so that makemessages keeps them."""

from django.utils.translation import gettext_noop

CORRECTED = [
    gettext_noop("December"),  # Django's Hindi spells it "दिसमबर" in every date
]
