"""Indian telephone numbers as people write them on forms, read one way everywhere.

A mobile number is ten digits starting with 6, 7, 8 or 9. People write it bare
("98765 43210"), with the country code ("+91 98765 43210", "91-98765-43210"), with the
international prefix dialled from India ("0091 98765 43210"), with the trunk 0 used
when calling from a landline ("098765 43210"), or with both ("+91 0 98765 43210"); spaces, hyphens and brackets group the
digits. Every form, roster and API lookup that takes a mobile number cleans it here, so
a number one of them accepts is never refused by another, and it is stored, searched
and compared as "+91" and its ten digits.

ASCII digits only ([0-9], not \\d, which takes any script's): "9८७६..." typed with mixed
digits would never match "9876..." stored from another form.
"""

import re

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

_SEPARATORS = re.compile(r"[\s\-()]")
# The country code ("+91", "0091", "91"), the trunk 0, both ("+91 0 98765 43210", as some
# write it), or neither; then the ten digits (group 1). Also what the directory's search
# reads as a whole number (verification.visibility.rules.mobile_searched).
WHOLE_MOBILE = re.compile(r"(?:(?:\+|00)?91)?0?([6-9][0-9]{9})")


def clean_mobile(value: str) -> str:
    """The mobile number as stored: "+91" and its ten digits. Raises ValidationError
    (code "mobile") for anything that is not an Indian mobile number."""
    digits = _SEPARATORS.sub("", value or "")
    match = WHOLE_MOBILE.fullmatch(digits)
    if not match:
        raise ValidationError(
            _("Enter a 10-digit Indian mobile number starting with 6, 7, 8 or 9, for example 98765 43210."), code="mobile"
        )
    return f"+91{match[1]}"
