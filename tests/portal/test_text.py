"""Text people type is stored composed (Unicode NFC): a letter with a nukta typed as one
character (U+095B "ज़", what text converted from legacy fonts and some phone keyboards
give) or as the letter and the nukta (U+091C U+093C, what InScript gives) looks the same
and is stored, and found, the same (portal.text)."""

import logging

import pytest
from django.db import connection

from portal.accounts.models import User
from portal.organisations.models import Organisation
from portal.organisations.selectors import organisation_search
from portal.text import as_searched, composed, composed_rows_save, multi_line, single_line
from tests.factories import OrganisationFactory, UserFactory

ZA_ONE_CHARACTER = "\u095b"  # ज़, excluded from composition: NFC writes it as the two below
ZA_WITH_NUKTA = "\u091c\u093c"
FA_ONE_CHARACTER, FA_WITH_NUKTA = "\u095e", "\u092b\u093c"  # फ़
DDA_ONE_CHARACTER, DDA_WITH_NUKTA = "\u095c", "\u0921\u093c"  # ड़

WAYS = pytest.mark.parametrize("stored_way, typed_way", [
    (ZA_ONE_CHARACTER, ZA_WITH_NUKTA), (ZA_WITH_NUKTA, ZA_ONE_CHARACTER)], ids=["stored-one", "stored-two"])


def test_one_line_and_several_lines_are_composed():
    assert single_line(f"{ZA_ONE_CHARACTER}ाकिर {FA_ONE_CHARACTER}ारूक़") == f"{ZA_WITH_NUKTA}ाकिर {FA_WITH_NUKTA}ारूक़"
    assert multi_line(f"ब{DDA_ONE_CHARACTER}ा\r\nCafe\u0301") == f"ब{DDA_WITH_NUKTA}ा\nCaf\u00e9"
    assert composed(f"{ZA_WITH_NUKTA}िला") == f"{ZA_WITH_NUKTA}िला"


@pytest.mark.parametrize("mark", ["\u200e", "\u200f", "\u061c"])
def test_the_direction_marks_are_taken_out_as_the_bidi_overrides_are(mark):
    """Drawn as nothing, they reorder what is around them: "221 115" shown as "115 221"."""
    assert single_line(f"House {mark}221 115") == "House 221 115"
    assert multi_line(f"House {mark}221\n115{mark}") == "House 221\n115"


@pytest.mark.django_db
def test_names_are_stored_composed_however_they_are_written():
    person = UserFactory(full_name=f"{ZA_ONE_CHARACTER}ाकिर हुसैन")
    organisation = OrganisationFactory(name="Cafe\u0301 Board", name_local=f"{ZA_ONE_CHARACTER}िला परिषद")
    assert person.full_name == f"{ZA_WITH_NUKTA}ाकिर हुसैन"  # the object as saved, too
    assert User.objects.filter(pk=person.pk, full_name=f"{ZA_WITH_NUKTA}ाकिर हुसैन").exists()
    assert Organisation.objects.values_list("name", "name_local").get(pk=organisation.pk) == (
        "Caf\u00e9 Board", f"{ZA_WITH_NUKTA}िला परिषद")
    Organisation.objects.filter(pk=organisation.pk).update(name_local=f"{FA_ONE_CHARACTER}ाज़िल्का")
    assert Organisation.objects.get(pk=organisation.pk).name_local == composed(f"{FA_ONE_CHARACTER}ाज़िल्का")
    Organisation.objects.bulk_update([Organisation(pk=organisation.pk, name=f"{DDA_ONE_CHARACTER}")], ["name"])
    assert Organisation.objects.get(pk=organisation.pk).name == DDA_WITH_NUKTA


@pytest.mark.django_db
@WAYS
def test_an_organisation_named_with_a_nukta_is_found_by_the_parent_search_either_way(stored_way, typed_way):
    OrganisationFactory(name="Zilla Parishad, Pune", name_local=f"{stored_way}िला परिषद, पुणे", short_code="ZP-PUNE")
    assert [found.short_code for found in organisation_search(query=f"{typed_way}िला परिषद")] == ["ZP-PUNE"]


@pytest.mark.django_db
@WAYS
def test_the_django_admin_finds_an_account_by_a_name_typed_either_way(stored_way, typed_way):
    """The admin's search of accounts compared what was typed as typed: "ज़फ़र" typed with
    "ज़" as one character (U+095B) did not find the name stored composed."""
    from django.test import Client

    from tests.onboarding.approval_helpers import second_factor_given, with_totp

    UserFactory(email="zafar@mahaagri.gov.in", full_name=f"{stored_way}फ़र अली")
    UserFactory(email="jafar@mahaagri.gov.in", full_name="जफ़र अली")
    root = UserFactory(email="root@nic.in", is_superuser=True, is_staff=True)
    with_totp(root)
    client = Client()
    client.force_login(root)
    second_factor_given(client, root)
    html = client.get("/admin/accounts/user/", {"q": f"{typed_way}फ़र"}).content.decode()
    assert "zafar@mahaagri.gov.in" in html and "jafar@mahaagri.gov.in" not in html


# Format characters (Unicode category Cf) that text copied from a web page, a document or a
# chat carries with its words, drawn as nothing: a zero-width space, left-to-right and
# right-to-left marks, a byte order mark, a word joiner, a soft hyphen, an Arabic letter mark.
PASTED_INVISIBLE = ["\u200b", "\u200e", "\u200f", "\ufeff", "\u2060", "\u00ad", "\u061c"]


@pytest.mark.parametrize("invisible", PASTED_INVISIBLE, ids=lambda c: f"U+{ord(c):04X}")
def test_a_search_drops_the_invisible_characters_pasted_with_its_words_and_keeps_the_joiners(invisible):
    """One function for every search: the format characters go, the zero-width non-joiner
    and joiner (which Devanagari writes words with: a half form, a conjunct shown apart) stay; composed."""
    assert as_searched(f"{invisible}Zilla{invisible} Parishad{invisible}") == "Zilla Parishad"
    assert as_searched(f"क्\u200dष{invisible} {ZA_ONE_CHARACTER}िला\u200c") == f"क्\u200dष {ZA_WITH_NUKTA}िला\u200c"


@pytest.mark.django_db
@pytest.mark.parametrize("invisible", PASTED_INVISIBLE, ids=lambda c: f"U+{ord(c):04X}")
def test_the_parent_search_finds_the_words_pasted_with_an_invisible_character(invisible):
    OrganisationFactory(name="Zilla Parishad, Pune", name_local="जिला परिषद, पुणे", short_code="ZP-PUNE")
    for typed in (f"{invisible}Zilla Parishad", f"जिला{invisible} परिषद", f"ZP-PUNE{invisible}"):
        assert [found.short_code for found in organisation_search(query=typed)] == ["ZP-PUNE"], typed


@pytest.mark.django_db
def test_names_stored_before_are_composed_only_where_they_are_not():
    """What the migrations run on the names stored before names were composed: the rows
    whose text is not composed are rewritten, the others are left as they are."""
    raw = OrganisationFactory(name="Zilla Parishad, Pune", short_code="ZP-PUNE")
    kept = OrganisationFactory(name="Zilla Parishad, Nashik", short_code="ZP-NSK")
    with connection.cursor() as cursor:  # as stored before: not through the field
        cursor.execute("UPDATE organisations_organisation SET name_local = %s WHERE id = %s",
                       [f"{ZA_ONE_CHARACTER}िला परिषद", raw.pk])
    assert Organisation.objects.values_list("name_local", flat=True).get(pk=raw.pk) == f"{ZA_ONE_CHARACTER}िला परिषद"

    assert composed_rows_save(Organisation.objects.all(), ["name", "name_local"], batch=1) == 1

    assert Organisation.objects.values_list("name_local", flat=True).get(pk=raw.pk) == f"{ZA_WITH_NUKTA}िला परिषद"
    assert Organisation.objects.get(pk=kept.pk).name_local == kept.name_local


@pytest.mark.django_db
def test_a_name_that_composed_no_longer_fits_its_field_is_left_as_it_is(caplog):
    """Composing does not keep a text's length: each "ज़" written as one character becomes two.
    A name of the field's whole length (valid as it was written) composed would be longer than
    the field, and on PostgreSQL ``bulk_update`` casts each value to the column's type, which
    cuts it silently. Such a row is left as it is, and the log says which, and which field;
    the other rows are composed."""
    limit = Organisation._meta.get_field("name_local").max_length
    long_one = f"{ZA_ONE_CHARACTER}िला परिषद, पुणे ".ljust(limit - 1, "x") + "!"
    assert len(long_one) == limit < len(composed(long_one))
    too_long, fits = OrganisationFactory(short_code="ZP-PUNE"), OrganisationFactory(short_code="ZP-NSK")
    with connection.cursor() as cursor:  # as stored before: not through the field
        cursor.execute("UPDATE organisations_organisation SET name_local = %s WHERE id = %s", [long_one, too_long.pk])
        cursor.execute("UPDATE organisations_organisation SET name_local = %s WHERE id = %s",
                       [f"{ZA_ONE_CHARACTER}िला परिषद, नाशिक", fits.pk])

    with caplog.at_level(logging.WARNING, logger="portal.text"):
        assert composed_rows_save(Organisation.objects.all(), ["name", "name_local"]) == 1

    assert Organisation.objects.values_list("name_local", flat=True).get(pk=too_long.pk) == long_one
    assert Organisation.objects.values_list("name_local", flat=True).get(pk=fits.pk) == (
        f"{ZA_WITH_NUKTA}िला परिषद, नाशिक")
    [record] = [record for record in caplog.records if record.name == "portal.text"]
    assert record.levelno == logging.WARNING
    assert record.getMessage() == (
        f"organisations.Organisation: 1 row(s) left as stored, composed longer than the field allows: "
        f"{too_long.pk} (name_local {limit + 1} > {limit})")
