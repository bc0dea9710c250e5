"""portal.organisations.pin_codes: a PIN code questioned when its first digits are not its
state's postal circle's (India Post's table)."""

import pytest

from portal.organisations.pin_codes import PIN_PREFIXES, pin_fits_state
from portal.organisations.states import State


def test_every_state_and_union_territory_has_its_prefixes():
    assert set(PIN_PREFIXES) == set(State.values)
    for state, prefixes in PIN_PREFIXES.items():
        assert prefixes and all(prefix.isdigit() and 1 <= len(prefix) <= 3 for prefix in prefixes), state


@pytest.mark.parametrize("state, pin", [
    ("DL", "110001"), ("HR", "122001"), ("HR", "134109"), ("PB", "141001"), ("PB", "160055"), ("CH", "160017"),
    ("HP", "171001"), ("JK", "190001"), ("JK", "180001"), ("LA", "194101"), ("UP", "226001"), ("UP", "201301"),
    ("UP", "262001"), ("UK", "248001"), ("UK", "263001"), ("RJ", "302001"), ("GJ", "380001"), ("DH", "396230"),
    ("DH", "396210"), ("DH", "362520"), ("MH", "411001"), ("MH", "400001"), ("MH", "440001"), ("GA", "403001"),
    ("MP", "462001"), ("CG", "492001"), ("TS", "500001"), ("AP", "520001"), ("AP", "530001"), ("KA", "560001"),
    ("TN", "600001"), ("PY", "605001"), ("PY", "609602"), ("PY", "533464"), ("PY", "673310"), ("PY", "607402"),
    ("KL", "695001"), ("LD", "682555"), ("WB", "700001"), ("SK", "737101"), ("AN", "744101"), ("OD", "751001"),
    ("AS", "781001"), ("AR", "791111"), ("ML", "793001"), ("MN", "795001"), ("MZ", "796001"), ("NL", "797001"),
    ("TR", "799001"), ("BR", "800001"), ("BR", "823001"), ("JH", "834001"), ("JH", "831001"),
])
def test_a_pin_code_of_its_state_fits(state, pin):
    assert pin_fits_state(pin, state)


@pytest.mark.parametrize("state, pin", [
    ("MH", "110001"), ("DL", "411001"), ("GA", "411001"), ("CH", "141001"), ("LA", "190001"), ("UK", "226001"),
    ("TS", "520001"), ("KA", "600001"), ("PY", "600001"), ("LD", "695001"), ("SK", "700001"), ("AN", "700001"),
    ("AR", "781001"), ("MN", "796001"), ("JH", "800001"), ("CG", "462001"), ("KL", "560001"), ("AS", "790001"),
])
def test_a_pin_code_of_another_region_does_not_fit(state, pin):
    assert not pin_fits_state(pin, state)


@pytest.mark.parametrize("state", ["MH", "DL", "AN", "LD"])
def test_a_field_post_office_fits_every_state(state):
    """9 is the Army Postal Service's, whichever state the unit is in."""
    assert pin_fits_state("900001", state) and pin_fits_state("999999", state)


def test_no_state_questions_nothing():
    assert pin_fits_state("110001", "") and pin_fits_state("110001", "CENTRAL")
