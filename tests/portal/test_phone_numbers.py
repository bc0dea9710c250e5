"""portal.phone_numbers: one reading of an Indian mobile number for every form that takes
one (the onboarding form's nodal officer and technical contact, a request to be verified,
a roster's rows, the API's lookup), so that a number one of them accepts is not refused
by another."""

import pytest
from django.core.exceptions import ValidationError

from onboarding.application import validators as onboarding_validators
from portal.phone_numbers import clean_mobile
from verification import validators as verification_validators

# Every usual way of writing 98765 43210: with the country code (+91, 91, 0091) or the
# trunk 0, grouped with spaces or hyphens, the country code in brackets.
SPELLINGS = ["9876543210", "98765 43210", "98765-43210", "+91 98765 43210", "+91-98765-43210", "+919876543210",
             "91 98765 43210", "91-9876543210", "919876543210", "0091 98765 43210", "0091-9876543210",
             "0 98765 43210", "098765-43210", "09876543210", "(+91) 98765 43210", " 98765 43210 ",
             # the country code and the trunk 0 both, as the directory's search reads them
             "+91 0 98765 43210", "+91 098765 43210", "0091 0 98765 43210", "91-0-98765-43210"]


@pytest.mark.parametrize("typed", SPELLINGS)
def test_every_usual_spelling_of_a_mobile_number_is_stored_as_plus_91_and_ten_digits(typed):
    assert clean_mobile(typed) == "+919876543210"


@pytest.mark.parametrize("typed", ["5876543210", "987654321", "98765432100", "+1 9876543210", "+91 5876543210",
                                   "0 5876543210", "abcdefghij", "+91 98765 4321", "91 5876543210",
                                   "0091 5876543210", "00 98765 43210", "+0091 9876543210", "9८७६५४३२१०",
                                   "९८७६५४३२१०", "98765.43210", ""])
def test_what_is_not_an_indian_mobile_number_is_refused(typed):
    with pytest.raises(ValidationError) as caught:
        clean_mobile(typed)
    assert caught.value.messages == [
        "Enter a 10-digit Indian mobile number starting with 6, 7, 8 or 9, for example 98765 43210."]


def test_a_ten_digit_number_starting_with_91_is_not_read_as_a_country_code():
    assert clean_mobile("9198765432") == "+919198765432"


@pytest.mark.parametrize("typed", SPELLINGS)
def test_the_onboarding_form_and_the_verification_side_read_a_number_alike(typed):
    """The onboarding form refused "91 98765 43210", which a request to be verified, a
    roster and the API accepted; they refused "0091 98765 43210", which the form took."""
    assert onboarding_validators.clean_mobile(typed) == verification_validators.clean_mobile(typed) == "+919876543210"


@pytest.mark.parametrize("typed", SPELLINGS)
def test_the_directory_search_and_the_forms_read_a_whole_number_alike(typed):
    """The directory found "+91 0 98123 45670" as the person's number, which the forms and the
    API's lookup refused ("Enter a 10-digit Indian mobile number")."""
    from verification.visibility.rules import mobile_searched

    assert mobile_searched(typed.strip().replace("(", "").replace(")", "")) == clean_mobile(typed) == "+919876543210"
