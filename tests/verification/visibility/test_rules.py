"""The rules' own bounds: a search's candidates per field are capped (PostgreSQL), so
that a search matching a great many people costs what one matching the cap does."""

import re
from datetime import timedelta

import pytest
from django.contrib.auth.models import AnonymousUser
from django.db import connection
from django.test import Client
from django.utils import timezone

from portal.organisations.models import Membership, MembershipRole, OrganisationStatus
from portal.organisations.services import organisation_admin_grant
from tests.factories import OrganisationFactory, PlatformRoleFactory, UserFactory
from tests.verification.helpers import GovernmentProfileFactory, make_admin, signed_in
from tests.verification.visibility.conftest import client_of, set_policy
from verification import lifecycle, services
from verification.models import GovernmentProfile, VerificationStatus
from verification.selectors import members_of
from verification.visibility import rules
from verification.visibility.models import Audience, PersonalVisibility, ProfileField, VisibilityPolicy, column_of
from verification.visibility.selectors import directory_search

pytestmark = pytest.mark.django_db


def test_each_fields_candidates_are_capped(people, monkeypatch):
    monkeypatch.setattr(rules, "CANDIDATES_PER_FIELD", 3)
    set_policy(people["home"], dict.fromkeys(ProfileField, Audience.PUBLIC))
    for i in range(8):
        GovernmentProfileFactory(organisation=people["home"], status=VerificationStatus.VERIFIED,
                                 designation="Bounded Clerk", user=UserFactory(full_name=f"Person {i}"))
    html = client_of(people, "colleague").get("/people/", {"q": "bounded clerk"}).content.decode()
    found = len(re.findall(r'href="/people/\d+/"', html))
    assert found == (3 if connection.features.supports_slicing_ordering_in_compound else 8)


@pytest.mark.parametrize("field", ["designation", "office", "official_email", "employee_code", "name", "organisation"])
def test_a_searchs_candidates_are_people_who_can_be_listed(people, monkeypatch, field):
    """A search took at most CANDIDATES_PER_FIELD rows matching in each field from every
    profile, and counted among them those never listed (requests waiting for a decision,
    rejected, revoked, cancelled): in a state with 10,000 waiting requests of "Clerk"s a
    search for "clerk" took 2,000 of them and found no one, while verified clerks shown to
    everyone exist. Only the verified and suspended (``listed``) are candidates."""
    monkeypatch.setattr(rules, "CANDIDATES_PER_FIELD", 3)
    organisation = OrganisationFactory(name="Directorate of Land Records", short_code="DLR")
    set_policy(organisation, dict.fromkeys(ProfileField, Audience.PUBLIC))
    values = {"designation": "Senior Kwerkclerk", "office": "Kwerkclerk Cell", "official_email": "kwerkclerk@dlr.gov.in",
              "employee_code": "KWERKCLERK-1", "name": "Kwerkclerk Sharma", "organisation": "Kwerkclerk Directorate"}
    if field == "organisation":
        organisation.name = values[field]
        organisation.save(update_fields=["name"])
    never_listed = [VerificationStatus.PENDING, VerificationStatus.REJECTED, VerificationStatus.REVOKED,
                    VerificationStatus.CANCELLED]
    for index, status in enumerate(never_listed):  # older rows: found first
        details = {"official_email": f"{index}{values[field]}"} if field == "official_email" else (
            {field: values[field]} if field not in ("name", "organisation") else {})
        GovernmentProfileFactory(organisation=organisation, status=status, verified_name=values["name"],
                                 user=UserFactory(full_name=values["name"]), **details)
    details = {field: values[field]} if field not in ("name", "organisation") else {}
    verified = GovernmentProfileFactory(organisation=organisation, status=VerificationStatus.VERIFIED,
                                        user=UserFactory(full_name=values["name"]), **details)
    html = Client().get("/people/", {"q": "kwerkclerk"}).content.decode()
    assert f'href="/people/{verified.pk}/"' in html


def test_each_fields_candidates_are_read_from_the_index_of_the_people_who_can_be_listed(people, require_postgresql):
    """Each field's scan of a search's candidates reads a trigram index of the verified and
    suspended profiles (visibility 0004), never one of every profile, requests not listed
    included. Asked of a temporary copy of the profiles' table with its indexes, holding
    thousands of profiles (half of them waiting), so that an index is what the planner
    reads, as it does in a state, and no other test finds the table grown."""
    candidates = GovernmentProfile.objects.filter(pk__in=rules.search_candidates("zephyrolog")).values("pk")
    sql, params = candidates.query.sql_with_params()
    table = GovernmentProfile._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(f'CREATE TEMPORARY TABLE plenty (LIKE "{table}" INCLUDING DEFAULTS INCLUDING INDEXES)')
        cursor.execute(f"""
            INSERT INTO plenty SELECT (jsonb_populate_record(NULL::plenty, to_jsonb(p) || jsonb_build_object(
                'id', g * 1000 + p.id, 'user_id', g * 1000 + p.user_id, 'designation', 'Grade ' || g % 97 || ' Clerk', 'office', 'Section ' || g,
                'verified_name', 'Person ' || g, 'status', CASE WHEN g % 2 = 0 THEN 'verified' ELSE 'pending' END))).*
            FROM "{table}" p, generate_series(1, 1000) g""")
        # The rows in the indexes themselves (not in their lists of pending entries, which a
        # vacuum empties), with statistics, as a database in use has them.
        cursor.execute("SELECT gin_clean_pending_list(indexrelid) FROM pg_index"
                       " WHERE indrelid = 'plenty'::regclass AND indexrelid::regclass::text LIKE '%upper%'")
        cursor.execute("ANALYZE plenty")
        cursor.execute("SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'plenty'")
        definitions = dict(cursor.fetchall())
        cursor.execute("EXPLAIN " + sql.replace(f'"{table}"', "plenty"), params)
        plan = "\n".join(line for (line,) in cursor.fetchall())
    read = re.findall(r"Index Scan on (\w+)", plan)
    scans = [definitions[name] for name in read if "gin_trgm_ops" in definitions[name]]
    assert len(scans) == 6, plan  # each detail's own (the organisation's name is found in its table)
    assert all("WHERE" in definition and "'verified'" in definition and "'suspended'" in definition
               for definition in scans), scans


# A nukta typed either way ----------------------------------------------------------------------

@pytest.mark.parametrize("stored_way, typed_way", [("\u095b", "\u091c\u093c"), ("\u091c\u093c", "\u095b")],
                         ids=["stored-one-character", "stored-with-nukta"])
@pytest.mark.parametrize("field", ["name", "designation", "office"])
def test_a_detail_with_a_nukta_is_found_whichever_way_the_nukta_was_typed(people, field, stored_way, typed_way):
    """"ज़" is one character (U+095B: text converted from legacy fonts, some phone keyboards)
    or "ज" and the nukta (InScript): the two look the same, and find each other."""
    set_policy(people["home"], dict.fromkeys(ProfileField, Audience.PUBLIC))
    values = {"name": f"{stored_way}ाकिर हुसैन", "designation": f"{stored_way}िलाधिकारी", "office": f"{stored_way}िला कार्यालय"}
    person = UserFactory(email="zakir@quixrec.gov.in", full_name=values["name"] if field == "name" else "Zakir Hussain")
    profile = GovernmentProfileFactory(user=person, organisation=people["home"], status=VerificationStatus.VERIFIED,
                                       **({field: values[field]} if field != "name" else {}))
    typed = values[field].replace(stored_way, typed_way).split()[0]

    assert [view.pk for view in directory_search(people["colleague"], typed)] == [profile.pk]


# A mobile number however it is written ------------------------------------------------------

@pytest.mark.parametrize("typed", ["098123 45670", "0 98123-45670", "09812345670", "0091 98123 45670",
                                   "91 98123 45670", "+91-98123-45670", "+91 0 98123 45670", "98123 45670"])
def test_a_mobile_number_is_found_however_it_is_written(people, typed):
    """An administrator, who sees their people's mobile numbers, searches for the number as
    most people write it on forms, with its leading 0 (as dialled from a landline in India),
    or with the country code in any of its forms: the same number, the same person."""
    assert [view.pk for view in directory_search(people["admin"], typed)] == [people["profile"].pk]


@pytest.mark.parametrize("typed", ["098123 45671", "0 98123"])
def test_another_number_or_part_of_one_with_a_leading_0_finds_nobody(people, typed):
    assert directory_search(people["admin"], typed) == []


# Names in alphabetical order, whatever their case ---------------------------------------------

ROSTER_NAMES = {"anil@quixrec.gov.in": "ANIL KUMAR", "abhay@quixrec.gov.in": "Abhay Singh",
                "zubin@quixrec.gov.in": "Zubin Daruwalla", "anand@quixrec.gov.in": "anand rao"}


def test_the_directory_and_the_members_list_sort_names_whatever_their_case(people):
    """A roster in capitals ("ANIL KUMAR") next to names typed in title case and one in lower
    case: in alphabetical order, not capitals first (as a database with the C collation, the
    default of Debian's PostgreSQL, compares them)."""
    for email, name in ROSTER_NAMES.items():
        GovernmentProfileFactory(organisation=people["home"], status=VerificationStatus.VERIFIED,
                                 user=UserFactory(email=email, full_name=name), designation="Quillwright Officer")
    in_order = ["Abhay Singh", "anand rao", "ANIL KUMAR", "Zubin Daruwalla"]

    assert [view.name for view in directory_search(people["colleague"], "quillwright")] == in_order
    members = members_of(people["home"], viewer=people["admin"], query="quixrec.gov.in")
    assert [profile.verified_name for profile in members if profile.verified_name in in_order] == in_order


# The rules on fetched values (the verification API's one query) ------------------------------

COMBINATIONS = [(policy, own) for policy in Audience for own in (None, *Audience)]


@pytest.mark.parametrize("viewer", [rules.API_CLIENT, rules.Viewer(user=AnonymousUser())], ids=["api", "anonymous"])
@pytest.mark.parametrize("status", [VerificationStatus.VERIFIED, VerificationStatus.SUSPENDED])
def test_visible_fetched_decides_as_visible_profile(people, viewer, status):
    """Every field under every organisation policy and personal choice (and without a
    policy row, or a personal row): the decision on fetched values is the SQL one."""
    profile = people["profile"]
    GovernmentProfile.objects.filter(pk=profile.pk).update(status=status)
    rounds = [None, *range(len(COMBINATIONS))]  # None: neither row exists
    for shift in rounds:
        VisibilityPolicy.objects.filter(organisation=people["home"]).delete()
        PersonalVisibility.objects.filter(user=people["self"]).delete()
        if shift is not None:
            chosen = {name: COMBINATIONS[(shift + i * 7) % len(COMBINATIONS)] for i, name in enumerate(rules.FIELDS)}
            set_policy(people["home"], {name: policy for name, (policy, _own) in chosen.items()})
            PersonalVisibility.objects.create(
                user=people["self"], **{column_of(name): own for name, (_policy, own) in chosen.items()})
        row = GovernmentProfile.objects.filter(pk=profile.pk).values(*rules.FETCHED).get()
        fetched, in_sql = rules.visible_fetched(viewer, row), rules.visible_profile(viewer, profile.pk)
        assert (fetched is None) == (in_sql is None), shift
        if in_sql is not None:
            assert fetched.values == in_sql.values, shift
            assert (fetched.pk, fetched.status, fetched.status_label, fetched.is_self) == (
                in_sql.pk, in_sql.status, in_sql.status_label, in_sql.is_self)


def test_visible_fetched_is_not_for_a_person(people):
    row = GovernmentProfile.objects.filter(pk=people["profile"].pk).values(*rules.FETCHED).get()
    with pytest.raises(ValueError):
        rules.visible_fetched(rules.viewer_of(people["outsider"]), row)


@pytest.mark.parametrize("how", ["organisation suspended", "past superannuation", "account deactivated"])
def test_a_verification_not_in_force_is_listed_to_nobody_and_vouches_for_no_viewer(people, how):
    """A verification the organisation no longer stands behind (it is suspended), past
    the date of superannuation (before the hourly job writes it down), or of an account
    deactivated: its person is not listed as verified, and does not see what verified
    users see."""
    outsider = people["outsider"]
    assert rules.viewer_of(type(outsider).objects.get(pk=outsider.pk)).verified
    assert rules.listed(rules.viewer_of(outsider)).filter(pk=people["profile"].pk).exists()
    if how == "organisation suspended":
        people["other"].status = OrganisationStatus.SUSPENDED
        people["other"].save(update_fields=["status"])
    elif how == "past superannuation":
        GovernmentProfile.objects.filter(user=outsider).update(superannuation_date=timezone.localdate() - timedelta(days=1))
    else:
        type(outsider).objects.filter(pk=outsider.pk).update(is_active=False)
    fresh = type(outsider).objects.get(pk=outsider.pk)
    assert not rules.viewer_of(fresh).verified
    superadmin = rules.viewer_of(people["superadmin"])
    assert not rules.listed(superadmin).filter(user=outsider).exists()


def _mobile_seen(user, profile):
    seen = rules.visible_profile(type(user).objects.get(pk=user.pk), profile.pk)
    return seen.mobile if seen is not None else None


@pytest.mark.parametrize("how", ["past superannuation", "suspended", "revoked", "organisation suspended"])
@pytest.mark.parametrize("where", ["here", "below"])
def test_an_admin_role_resting_on_a_verification_no_longer_in_force_gives_no_viewing(people, where, how):
    """A person made admin of the directorate as a verified member of it (``here``) or of
    an office below it (``below``): their role rests on that verification. Once it is no
    longer in force (past the date of superannuation, before the hourly job writes it down
    and ends the role; suspended, revoked; its organisation suspended) they are from the
    next request no verified government user, and no administrator viewer of the
    directorate's people either (a colleague's mobile number, for its admins). The
    directorate's first admin, whose role rests on its approved application and not on a
    verification, sees as before."""
    other = people["other"]
    first_admin = make_admin(other, email="first@karhealth.gov.in", full_name="First Admin")
    office = other if where == "here" else OrganisationFactory(name="District Health Office, Mysuru", parent=other)
    ravi = UserFactory(email="ravi@karhealth.gov.in", full_name="Ravi Rao")
    held = GovernmentProfileFactory(user=ravi, organisation=office, official_email=ravi.email)
    services.join_request_decide(profile_id=held.pk, decision="verify", actor=first_admin)
    organisation_admin_grant(organisation_id=other.pk, user_id=ravi.pk, actor=first_admin)
    colleague = GovernmentProfile.objects.get(user=people["outsider"])
    GovernmentProfile.objects.filter(pk=colleague.pk).update(mobile="+919811122233")
    viewer = rules.viewer_of(type(ravi).objects.get(pk=ravi.pk))
    assert viewer.verified and viewer.administers
    assert _mobile_seen(ravi, colleague) == "+919811122233"
    if how == "past superannuation":
        GovernmentProfile.objects.filter(pk=held.pk).update(superannuation_date=timezone.localdate() - timedelta(days=1))
    elif how == "organisation suspended":
        office.status = OrganisationStatus.SUSPENDED
        office.save(update_fields=["status"])
    else:
        end = services.profile_suspend if how == "suspended" else services.profile_revoke
        end(profile_id=held.pk, reason_code="misuse", actor=first_admin)
    viewer = rules.viewer_of(type(ravi).objects.get(pk=ravi.pk))
    assert not viewer.verified and not viewer.administers
    assert _mobile_seen(ravi, colleague) is None
    if how != "organisation suspended" or where == "below":
        assert rules.viewer_of(type(first_admin).objects.get(pk=first_admin.pk)).administers
        assert _mobile_seen(first_admin, colleague) == "+919811122233"


def test_a_first_admin_verified_since_sees_as_an_admin_until_that_verification_lapses(people):
    """An organisation's first admin holds the role by its approved application; verified
    there since, the role rests on that verification too (the hourly job ends it with the
    lapse): past the date of superannuation it no longer makes them an administrator
    viewer, before the job runs, and the job then ends it."""
    other = people["other"]
    first_admin = make_admin(other, email="first@karhealth.gov.in", full_name="First Admin")
    second = make_admin(other, email="second@karhealth.gov.in", full_name="Second Admin")
    held = GovernmentProfileFactory(user=first_admin, organisation=other, official_email=first_admin.email)
    services.join_request_decide(profile_id=held.pk, decision="verify", actor=second)
    colleague = GovernmentProfile.objects.get(user=people["outsider"])
    assert _mobile_seen(first_admin, colleague) == colleague.mobile
    GovernmentProfile.objects.filter(pk=held.pk).update(superannuation_date=timezone.localdate() - timedelta(days=1))
    assert not rules.viewer_of(type(first_admin).objects.get(pk=first_admin.pk)).administers
    assert _mobile_seen(first_admin, colleague) is None
    lifecycle.profiles_lapse(profile_ids=[held.pk])
    assert not Membership.objects.filter(user=first_admin, role=MembershipRole.ADMIN, is_active=True).exists()


def test_an_admin_of_a_suspended_organisation_vouches_for_nobody_and_is_no_admin_viewer(people):
    """A suspended organisation vouches for nobody, its administrators included: while it
    is suspended they are no verified government users (they see of others what is for
    everyone) and no longer see its people as its administrators."""
    other = people["other"]
    admin_elsewhere = make_admin(other, email="admin@karhealth.gov.in", full_name="Ka Admin")
    held_there = GovernmentProfile.objects.get(user=people["outsider"])
    GovernmentProfile.objects.filter(pk=held_there.pk).update(status=VerificationStatus.SUSPENDED)
    assert rules.viewer_of(admin_elsewhere).verified
    assert rules.listed(rules.viewer_of(admin_elsewhere)).filter(pk=held_there.pk).exists()  # as its admin
    other.status = OrganisationStatus.SUSPENDED
    other.save(update_fields=["status"])
    fresh = type(admin_elsewhere).objects.get(pk=admin_elsewhere.pk)
    viewer = rules.viewer_of(fresh)
    assert not viewer.verified
    assert not rules.listed(viewer).filter(pk=held_there.pk).exists()
    # The person's name is for verified government users (the default): not for them.
    assert signed_in(fresh).get(f"/people/{people['profile'].pk}/").status_code == 404
    set_policy(people["home"], {ProfileField.NAME: Audience.PUBLIC})
    assert rules.visible_profile(fresh, people["profile"].pk).values == rules.visible_profile(
        people["public"], people["profile"].pk).values


def test_an_admin_who_is_also_an_auditor_sees_its_people_as_a_verified_user_not_as_their_admin(people):
    """An auditor decides nothing, even one who administers an organisation: its members
    pages are not theirs (selectors.administers), nor are the details its policy keeps to
    its administrators, in the directory, a person's page or the names on other pages. They
    are still a verified government user (an administrator of an active organisation)."""
    from verification.selectors import administers

    admin = people["admin"]
    PlatformRoleFactory(user=admin, role="auditor", jurisdiction="")
    fresh = type(admin).objects.get(pk=admin.pk)
    assert not administers(fresh, people["home"])
    viewer = rules.viewer_of(fresh)
    assert viewer.verified
    seen = rules.visible_profile(fresh, people["profile"].pk).values
    assert seen[ProfileField.MOBILE] is None and seen[ProfileField.EMPLOYEE_CODE] is None
    assert seen[ProfileField.NAME] is not None  # verified government users see the name (the default)
    set_policy(people["home"], {ProfileField.NAME: Audience.ADMINS})
    found = rules.annotated_for(fresh, GovernmentProfile.objects.filter(pk=people["profile"].pk)
                                .select_related("user", "organisation")).get()
    assert rules.view_of(found).values[ProfileField.NAME] is None
    assert not GovernmentProfile.objects.filter(rules.name_shown(fresh, "user"), pk=people["profile"].pk).exists()


def test_an_admin_of_a_suspended_directorate_is_no_admin_viewer_of_its_active_offices(people):
    """An admin role counts for viewing only while the organisation it was granted on is
    active: while a directorate is suspended, its admin neither sees the people of the
    active offices below it as their administrator (their mobile number, for admins) nor
    is a verified government user."""
    directorate = OrganisationFactory(name="Directorate of Suspended Things")
    office = OrganisationFactory(name="District Office Below", parent=directorate)
    admin = make_admin(directorate, email="first@susp.gov.in", full_name="First Admin")
    person = UserFactory(email="worker@susp.gov.in", full_name="Vikram Worker")
    profile = GovernmentProfileFactory(user=person, organisation=office, status=VerificationStatus.VERIFIED,
                                       mobile="+919800011122", employee_code="EMP-SECRET-1")
    assert rules.visible_profile(admin, profile.pk).values["mobile"] == "+919800011122"
    directorate.status = OrganisationStatus.SUSPENDED
    directorate.save(update_fields=["status"])
    fresh = type(admin).objects.get(pk=admin.pk)
    html = signed_in(fresh).get("/people/", {"q": "98000 11122"}).content.decode()
    assert "+919800011122" not in html
    assert rules.visible_profile(fresh, profile.pk) is None  # the defaults show nothing to everyone
    assert not rules.viewer_of(fresh).verified
