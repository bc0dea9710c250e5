"""The verification API (/api/v1/): tokens (401 as JSON), the rate limit (429 with
Retry-After), lookups by email and by mobile, input bounds (422 as JSON), every other
answer as JSON too (an unknown address, another method, a refused request, a server
error), exact query counts per call, and the OpenAPI document."""

import json
import re
from datetime import timedelta

import pytest
import time_machine
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.utils import timezone

from api.models import ApiClient
from api.selectors import client_cache_key
from api.services import api_client_revoke, used_key
from api.v1 import email_forms
from portal.organisations.models import OrganisationStatus
from portal.privacy.requests import person_correct
from tests.api.conftest import bearer
from tests.factories import UserFactory
from tests.pg_trace import column_retyped
from tests.verification.helpers import GovernmentProfileFactory
from verification import selectors
from verification.models import EndReason, VerificationMethod, VerificationStatus
from verification.services import profile_revoke, profile_suspend
from verification.visibility.models import Audience, PersonalVisibility, VisibilityPolicy

pytestmark = pytest.mark.django_db

URL = "/api/v1/verifications"
NOT_VERIFIED = {"verified": False, "organisation": None, "person": None}


def seen_person(profile):
    """What any verified government user may see of a person of the world's
    organisations (verification/visibility): under their policy, the name, designation,
    official address and mobile number (the defaults, widened to these for the last
    two); never the office or the employee code."""
    return {"name": profile.user.full_name, "designation": profile.designation, "office": None,
            "official_email": profile.official_email, "mobile": profile.mobile, "employee_code": None}


@pytest.fixture(autouse=True)
def _fresh_rate_counters():
    cache.clear()


def organisation_of(org):
    return {"name": org.name, "short_code": org.short_code, "state": org.state}


# Tokens -------------------------------------------------------------------------------------

def assert_401(response):
    assert response.status_code == 401
    assert response["Content-Type"].startswith("application/json")
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert "token" in response.json()["detail"]


@pytest.mark.parametrize("header", [
    None, "", "Bearer", "Bearer ", "Basic dXNlcjpwYXNz", "Token sandes_00000000_x",
    "Bearer sandes_00000000_" + "A" * 43, "Bearer not-one-of-ours", "Bearer " + "sandes_" + "x" * 5000,
    "Bearer sandes_😀",
])
def test_a_missing_or_bad_token_is_401_json(world, header):
    headers = {} if header is None else {"HTTP_AUTHORIZATION": header}
    assert_401(Client().get(URL, {"email": "asha.kulkarni@mahaagri.gov.in"}, **headers))


def test_a_revoked_token_is_401_from_the_next_request(world, api_get):
    assert api_get(URL, email="asha.kulkarni@mahaagri.gov.in").status_code == 200
    api_client_revoke(client_id=world["client_a"].pk, actor=world["admin_a"])
    assert_401(api_get(URL, email="asha.kulkarni@mahaagri.gov.in"))


def test_a_revocation_committed_while_a_request_read_the_client_holds_from_the_next_request(
        world, api_get, revoked_while_its_client_is_read):
    """The request in flight may still answer (it read the client before the revocation
    committed); what it caches must not bring the client back for the next ones."""
    revoked = revoked_while_its_client_is_read
    api_get(URL, email="asha.kulkarni@mahaagri.gov.in")
    assert revoked
    assert_401(api_get(URL, email="asha.kulkarni@mahaagri.gov.in"))
    assert_401(api_get(URL, email="asha.kulkarni@mahaagri.gov.in"))


def test_the_token_of_an_organisation_no_longer_active_is_401(world, api_get, inactive_organisation):
    assert_401(api_get(URL, token=world["token_b"], email="asha.kulkarni@mahaagri.gov.in"))


def test_an_organisation_no_longer_active_loses_its_tokens_within_the_minute(world, api_get):
    assert api_get(URL, token=world["token_b"], email="x@mahaagri.gov.in").status_code == 200
    world["b"].status = OrganisationStatus.SUSPENDED
    world["b"].save(update_fields=["status"])
    cache.delete(client_cache_key(world["client_b"].token_hash))  # the client's cached minute is over
    assert_401(api_get(URL, token=world["token_b"], email="x@mahaagri.gov.in"))


def test_a_suspended_organisations_tokens_are_refused_from_the_next_request_and_answer_again_once_reactivated(
        world, api_get, django_capture_on_commit_callbacks):
    """A client's token is kept in the cache for a minute: a revoked one is refused from the
    next request, but an organisation suspended kept answering through its cached clients for
    up to a minute more, its verifications vouching for nobody already. Suspending it now
    refuses its tokens from the next request; reactivating it lets them answer again at once."""
    from portal.organisations.services import organisation_reactivate, organisation_suspend

    for _ in range(2):  # the second one read from the cache
        assert api_get(URL, token=world["token_b"], email="x@mahaagri.gov.in").status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        organisation_suspend(organisation_id=world["b"].pk, reason_code="under_review", reason="Audit.",
                             actor=world["superadmin"])
    assert_401(api_get(URL, token=world["token_b"], email="x@mahaagri.gov.in"))
    assert api_get(URL, email="x@mahaagri.gov.in").status_code == 200  # another organisation's client
    with django_capture_on_commit_callbacks(execute=True):
        organisation_reactivate(organisation_id=world["b"].pk, reason_code="review_completed", reason="Done.",
                                actor=world["superadmin"])
    for _ in range(2):
        assert api_get(URL, token=world["token_b"], email="x@mahaagri.gov.in").status_code == 200

def test_a_token_with_one_character_changed_is_401(world, api_get):
    token = world["token_a"]
    assert_401(api_get(URL, token=token[:-1] + ("A" if token[-1] != "A" else "B"), email="x@mahaagri.gov.in"))


def test_the_hash_of_a_token_is_not_a_token(world, api_get):
    assert_401(api_get(URL, token=world["client_a"].token_hash, email="x@mahaagri.gov.in"))


def test_last_use_is_recorded_at_most_once_a_minute(world, api_get):
    client = world["client_a"]
    assert client.last_used_at is None
    api_get(URL, email="x@mahaagri.gov.in")
    first = ApiClient.objects.get(pk=client.pk).last_used_at
    assert first is not None
    api_get(URL, email="x@mahaagri.gov.in")
    assert ApiClient.objects.get(pk=client.pk).last_used_at == first
    ApiClient.objects.filter(pk=client.pk).update(last_used_at=first - timedelta(minutes=2))
    api_get(URL, email="x@mahaagri.gov.in")
    assert ApiClient.objects.get(pk=client.pk).last_used_at == first - timedelta(minutes=2)  # within the minute
    cache.delete(used_key(client.token_hash))  # a minute later, the marker has expired
    api_get(URL, email="x@mahaagri.gov.in")
    assert ApiClient.objects.get(pk=client.pk).last_used_at > first - timedelta(seconds=1)


# Rate limit ----------------------------------------------------------------------------------

def test_over_the_rate_limit_is_429_json_with_retry_after(world, api_get, settings):
    settings.API_RATE_PER_MINUTE = 3
    for _ in range(3):
        assert api_get(URL, email="x@mahaagri.gov.in").status_code == 200
    response = api_get(URL, email="x@mahaagri.gov.in")
    assert response.status_code == 429
    assert response["Content-Type"].startswith("application/json")
    assert 1 <= int(response["Retry-After"]) <= 60
    assert response.json()["detail"].startswith("Too many requests")
    # Per client: another organisation's client is not slowed down by this one.
    assert api_get(URL, token=world["token_b"], email="x@mahaagri.gov.in").status_code == 200


REFUSED_TOKENS = [{}, {"HTTP_AUTHORIZATION": "Basic dXNlcjpwYXNz"}, bearer("something else"),
                  bearer("sandes_00000000_" + "A" * 43)]


def test_refused_tokens_from_one_address_are_limited_without_looking_them_up(world, settings):
    """A missing, malformed or unknown token was answered 401 without end, each a lookup
    in the database (and a guess at a token), from one address. Past
    API_REFUSED_PER_MINUTE refused requests in a minute from one client address, the
    next gets 429 with Retry-After, in JSON, and its token is not looked up; another
    address, and a client whose token was just checked, are answered as before."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    settings.API_REFUSED_PER_MINUTE = 4
    cache.clear()
    start = timezone.now().replace(second=10, microsecond=0)
    with time_machine.travel(start, tick=False):
        assert Client().get(URL, {"email": "x@mahaagri.gov.in"}, **bearer(world["token_a"])).status_code == 200
        for headers in REFUSED_TOKENS:
            assert Client().get(URL, {"email": "x@mahaagri.gov.in"}, **headers).status_code == 401
        for headers in REFUSED_TOKENS:
            with CaptureQueriesContext(connection) as queries:
                response = Client().get(URL, {"email": "x@mahaagri.gov.in"}, **headers)
            assert response.status_code == 429
            assert response["Content-Type"].startswith("application/json")
            assert response["Retry-After"] == "50"
            assert response.json()["detail"] == (
                "Too many requests without a valid API token from this address: try again in 50 seconds.")
            assert not [q for q in queries.captured_queries if "api_apiclient" in q["sql"]]
        # Another address is not held back; nor is the client already checked (its own limit stands).
        assert Client(REMOTE_ADDR="10.1.2.3").get(URL, {"email": "x@mahaagri.gov.in"},
                                                  **REFUSED_TOKENS[-1]).status_code == 401
        assert Client().get(URL, {"email": "x@mahaagri.gov.in"}, **bearer(world["token_a"])).status_code == 200
    with time_machine.travel(start + timedelta(minutes=1), tick=False):
        assert Client().get(URL, {"email": "x@mahaagri.gov.in"}, **REFUSED_TOKENS[-1]).status_code == 401


def test_the_rate_limit_counts_per_minute(world, settings):
    from api.ratelimit import rate_limit_wait

    settings.API_RATE_PER_MINUTE = 2
    start = 1_800_000_000.0  # the start of a minute
    assert rate_limit_wait(7, now=start) == 0
    assert rate_limit_wait(7, now=start + 10) == 0
    assert rate_limit_wait(7, now=start + 15.2) == 45
    assert rate_limit_wait(7, now=start + 59.9) == 1
    assert rate_limit_wait(7, now=start + 60) == 0  # the next minute


# Lookups -------------------------------------------------------------------------------------

def test_a_verified_address_answers_its_organisation(world, api_get):
    response = api_get(URL, email="asha.kulkarni@mahaagri.gov.in")
    assert response.status_code == 200
    assert response.json() == {"verified": True, "organisation": organisation_of(world["a"]),
                               "person": seen_person(world["verified_a"])}


def test_a_verified_person_renaming_themselves_is_answered_by_the_name_their_organisation_verified(world, api_get):
    """A rename the person makes themselves is vouched for by nobody: the API answers
    the name the organisation verified, with the verified status, until its
    administrators accept the new one."""
    person_correct(user=world["verified_a"].user, full_name="Chief Secretary, Maharashtra")
    for params in ({"email": "asha.kulkarni@mahaagri.gov.in"}, {"mobile": "+919876543210"}):
        assert api_get(URL, **params).json()["person"]["name"] == "Asha Kulkarni"


@pytest.mark.parametrize("typed", ["  Asha.Kulkarni@MAHAAGRI.GOV.IN ", "asha.kulkarni@mahaagri.gov.in.",
                                   "\uff41sha.kulkarni@mahaagri.gov.in", "\uff21SHA.KULKARNI@MAHAAGRI.GOV.IN"],
                         ids=["case-and-spaces", "final-dot", "full-width-a", "full-width-capital-a"])
def test_addresses_are_compared_normalised(world, api_get, typed):
    """As the portal keeps an address (normalise_mailbox: compatibility forms folded, lower
    case): a full-width letter is the plain one, in the part before the "@" too (it was found
    only written plainly there, while the domain was folded)."""
    assert api_get(URL, email=typed).json()["verified"] is True


def test_an_internationalised_domain_is_found_in_either_form(world, api_get):
    GovernmentProfileFactory(organisation=world["a"], status=VerificationStatus.VERIFIED,
                             official_email="seva@भारत.gov.in", mobile="+919000000009")
    assert email_forms("Seva@भारत.GOV.in") == ["seva@xn--h2brj9c.gov.in", "seva@भारत.gov.in"]
    assert api_get(URL, email="seva@xn--h2brj9c.gov.in").json()["verified"] is True
    assert api_get(URL, email="SEVA@भारत.gov.in").json()["verified"] is True


@pytest.mark.parametrize("typed", ["98123 45678", "+91 98123-45678", "09812345678", "919812345678", "0091 98123 45678",
                                   "+91 0 98123 45678"])
def test_a_verified_mobile_number_in_any_usual_form(world, api_get, typed):
    response = api_get(URL, token=world["token_a"], mobile=typed)
    assert response.status_code == 200
    # A client of A looks up a verified government user of B: any verified user, platform-wide.
    assert response.json() == {"verified": True, "organisation": organisation_of(world["b"]),
                               "person": seen_person(world["verified_b"])}


def test_an_office_below_an_organisation_is_its_own_organisation(world, api_get):
    assert api_get(URL, email="meena@pune.mahaagri.gov.in").json()["organisation"] == organisation_of(world["office"])


@pytest.mark.parametrize("params", [
    {"email": "suspended@mahaagri.gov.in"}, {"mobile": "+916000000002"},  # suspended
    {"email": "pending@mahaagri.gov.in"}, {"mobile": "8000000003"},  # waiting for a decision
    {"email": "nobody@mahaagri.gov.in"}, {"mobile": "9999999999"},  # unknown
])
def test_suspended_waiting_and_unknown_are_all_just_not_verified(world, api_get, params):
    response = api_get(URL, **params)
    assert response.status_code == 200
    assert response.json() == NOT_VERIFIED


@pytest.mark.parametrize("status", [VerificationStatus.REVOKED, VerificationStatus.REJECTED, VerificationStatus.CANCELLED])
def test_ended_verifications_are_not_verified(world, api_get, status):
    GovernmentProfileFactory(organisation=world["a"], status=status, official_email="ended@mahaagri.gov.in")
    assert api_get(URL, email="ended@mahaagri.gov.in").json() == NOT_VERIFIED


@pytest.mark.parametrize("by", ["email", "mobile"])
def test_a_verification_past_superannuation_is_not_verified_before_the_hourly_job_ran(world, api_get, by):
    """The day after the date of superannuation the verification is over, at once: the
    answer does not wait for the job that writes the lapse down."""
    today = timezone.localdate()
    profile = GovernmentProfileFactory(organisation=world["a"], status=VerificationStatus.VERIFIED,
                                       official_email="retiring@mahaagri.gov.in", mobile="+919812345670",
                                       method=VerificationMethod.MANUAL, superannuation_date=today)
    ask = {"email": "retiring@mahaagri.gov.in"} if by == "email" else {"mobile": "9812345670"}
    assert api_get(URL, **ask).json()["verified"] is True  # the last day of service
    profile.superannuation_date = today - timedelta(days=1)
    profile.save(update_fields=["superannuation_date"])
    assert api_get(URL, **ask).json() == NOT_VERIFIED


@pytest.mark.parametrize("params", [{"email": "asha.kulkarni@mahaagri.gov.in"}, {"mobile": "9876543210"}])
def test_a_deactivated_account_is_not_verified_from_the_next_call(world, api_get, params):
    """An account deactivated (it can no longer sign in) is vouched for by nobody: its
    verification stays as it was, and counts again if the account is activated again."""
    person = world["verified_a"].user
    assert api_get(URL, **params).json()["verified"] is True
    person.is_active = False
    person.save(update_fields=["is_active"])
    assert api_get(URL, **params).json() == NOT_VERIFIED
    person.is_active = True
    person.save(update_fields=["is_active"])
    assert api_get(URL, **params).json()["verified"] is True


def test_a_verification_by_an_organisation_no_longer_active_is_not_verified(world, api_get, inactive_organisation):
    assert api_get(URL, email="ravi.rao@karhealth.gov.in").json() == NOT_VERIFIED


@pytest.mark.parametrize("end", [profile_suspend, profile_revoke])
def test_a_suspension_or_revocation_shows_at_the_next_call(world, api_get, end):
    """Nothing of an answer is kept between calls: the lookup is a prepared statement,
    run again at each call."""
    for params in ({"email": "asha.kulkarni@mahaagri.gov.in"}, {"mobile": "9876543210"}):
        assert api_get(URL, **params).json()["verified"] is True
    end(profile_id=world["verified_a"].pk, reason_code=EndReason.MISUSE, actor=world["admin_a"])
    for params in ({"email": "asha.kulkarni@mahaagri.gov.in"}, {"mobile": "9876543210"}):
        assert api_get(URL, **params).json() == NOT_VERIFIED


def test_the_lookups_generic_plans_use_the_partial_indexes_of_verified_profiles(world, api_get, require_postgresql):
    """The lookup is prepared once per connection (verified_person_by_contact) with the
    statuses written in its text: PostgreSQL's generic plan, used after a few calls, can
    then use the indexes of verified profiles' addresses and mobile numbers (with the
    statuses as parameters it could not)."""
    assert api_get(URL, email="asha.kulkarni@mahaagri.gov.in").json()["verified"] is True
    assert api_get(URL, mobile="9876543210").json()["verified"] is True
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL plan_cache_mode = force_generic_plan")
        # The test's tables are tiny: statistics, as a database in use has them, and no
        # reading of a whole table (which would be cheapest here). Every table: the plan's
        # joins are chosen with the others' statistics too, which autovacuum may have taken
        # when earlier tests of the worker filled them.
        cursor.execute("ANALYZE")
        cursor.execute("SET LOCAL enable_seqscan = off")
        for count, index in ((1, "verification_verified_email"), (0, "verification_verified_mobile")):
            statement, _prepare, _columns, today_at = selectors._verified_by_contact_sql(count)
            arguments = ["someone@example.gov.in"]
            arguments.insert(today_at, timezone.localdate())
            cursor.execute(f"EXPLAIN EXECUTE {statement}(%s, %s)", arguments)
            plan = "\n".join(line for (line,) in cursor.fetchall())
            # Or a bitmap of it. On tables of a few rows the planner may take either partial index
            # of verified profiles for either lookup (as cheap, the other condition then a filter):
            # what is checked is that a generic plan can use them at all.
            assert re.search(r"Index Scan (using|on) verification_verified_(email|mobile)\b", plan), (index, plan)


def test_the_lookup_is_prepared_again_after_a_migration_changed_a_column_it_reads(transactional_db, world,
                                                                                   api_get, require_postgresql):
    """PostgreSQL refuses a prepared statement whose result's types changed ("cached plan
    must not change result type"), as between a migration and the workers' restart."""
    assert api_get(URL, email="asha.kulkarni@mahaagri.gov.in").json()["verified"] is True  # prepared
    with column_retyped("verification_governmentprofile", "designation"):
        person = api_get(URL, email="asha.kulkarni@mahaagri.gov.in").json()["person"]
        assert person["designation"] == world["verified_a"].designation


def test_the_latest_verification_answers_when_an_address_was_verified_twice(world, api_get):
    GovernmentProfileFactory(organisation=world["b"], status=VerificationStatus.VERIFIED,
                             official_email="asha.kulkarni@mahaagri.gov.in",
                             verified_at=timezone.now() + timedelta(seconds=5))
    assert api_get(URL, email="asha.kulkarni@mahaagri.gov.in").json()["organisation"] == organisation_of(world["b"])


def test_a_number_two_verified_people_give_names_neither(world, api_get):
    """A mobile number is each person's word: when two verified people hold one, an answer
    naming the latest could name the wrong one. Their addresses still answer."""
    assert api_get(URL, mobile="9876543210").json()["verified"] is True
    GovernmentProfileFactory(organisation=world["b"], status=VerificationStatus.VERIFIED,
                             official_email="ravi.second@karhealth.gov.in", mobile="+919876543210",
                             method=VerificationMethod.MANUAL, verified_at=timezone.now() + timedelta(seconds=5))
    assert api_get(URL, mobile="9876543210").json() == NOT_VERIFIED
    assert api_get(URL, email="ravi.second@karhealth.gov.in").json()["verified"] is True
    assert api_get(URL, email="asha.kulkarni@mahaagri.gov.in").json()["verified"] is True


def test_the_answer_holds_only_what_verified_users_may_see(world, api_get):
    """The person's details go through the visibility rules (api.v1._answer_of): under
    the world's policy (the defaults, the official address and mobile number widened to
    verified government users) the name, designation, address and mobile number, never
    the office or employee code (tests/verification/visibility/test_matrix.py has every
    audience)."""
    profile = world["verified_a"]
    for params in ({"mobile": "9876543210"}, {"email": profile.official_email}):
        body = api_get(URL, **params).content.decode()
        assert "Asha Kulkarni" in body and "Assistant Section Officer" in body
        assert '"+919876543210"' in body and f'"{profile.official_email}"' in body
        for secret in (profile.employee_code, profile.office):
            assert secret not in body


def test_a_person_is_found_only_by_an_address_or_number_verified_users_may_see(world, api_get):
    """DESIGN §5: a lookup by a field the viewer may not see finds nothing. Under the
    default policy (the address to the organisation's members, the number to its
    administrators) the API finds nobody by either, with the answer it gives someone
    unknown."""
    profile = world["verified_a"]
    VisibilityPolicy.objects.filter(organisation=world["a"]).delete()
    assert api_get(URL, mobile="9876543210").json() == NOT_VERIFIED
    assert api_get(URL, email=profile.official_email).json() == NOT_VERIFIED
    # Widened for one of them, it finds them by that one only.
    VisibilityPolicy.objects.create(organisation=world["a"], mobile=Audience.VERIFIED)
    assert api_get(URL, mobile="9876543210").json()["person"] == {**seen_person(profile), "official_email": None}
    assert api_get(URL, email=profile.official_email).json() == NOT_VERIFIED
    VisibilityPolicy.objects.filter(organisation=world["a"]).update(official_email=Audience.PUBLIC)
    assert api_get(URL, email=profile.official_email).json()["person"] == seen_person(profile)


@pytest.mark.parametrize("field,params", [("official_email", {"email": "asha.kulkarni@mahaagri.gov.in"}),
                                          ("mobile", {"mobile": "9876543210"})])
@pytest.mark.parametrize("audience", [Audience.NOBODY, Audience.ADMINS, Audience.ORGANISATION])
def test_a_person_who_keeps_an_address_or_number_from_outsiders_is_not_found_by_it(world, api_get, field, params,
                                                                                     audience):
    assert api_get(URL, **params).json()["verified"] is True
    PersonalVisibility.objects.create(user=world["verified_a"].user, **{field: audience})
    assert api_get(URL, **params).json() == NOT_VERIFIED
    other = {"mobile": "9876543210"} if field == "official_email" else {"email": "asha.kulkarni@mahaagri.gov.in"}
    assert api_get(URL, **other).json()["person"][field] is None  # found by the other, this one not shown


def test_a_number_held_by_someone_who_keeps_it_from_outsiders_finds_the_other_holder(world, api_get):
    """Someone who keeps their number to themself is not found by it, and is not among
    its holders either: the answer tells nothing of them."""
    GovernmentProfileFactory(organisation=world["b"], status=VerificationStatus.VERIFIED,
                             official_email="ravi.second@karhealth.gov.in", mobile="+919876543210",
                             method=VerificationMethod.MANUAL, verified_at=timezone.now() + timedelta(seconds=5),
                             user=UserFactory(email="ravi.second@karhealth.gov.in", full_name="Ravi Second"))
    assert api_get(URL, mobile="9876543210").json() == NOT_VERIFIED  # two holders: neither named
    PersonalVisibility.objects.create(user=world["verified_a"].user, mobile=Audience.NOBODY)
    assert api_get(URL, mobile="9876543210").json()["person"]["name"] == "Ravi Second"


# Input ----------------------------------------------------------------------------------------

def assert_422(response, field):
    assert response.status_code == 422, response.content
    assert response["Content-Type"].startswith("application/json")
    detail = response.json()["detail"]
    assert isinstance(detail, list) and detail
    assert any(error["loc"][-1] == field for error in detail), detail


@pytest.mark.parametrize("params,field", [
    ({}, "mobile"),
    ({"email": "", "mobile": ""}, "mobile"),
    ({"email": "  "}, "mobile"),
    ({"email": "asha.kulkarni@mahaagri.gov.in", "mobile": "9876543210"}, "email"),
    ({"email": "not an address"}, "email"),
    ({"email": "@mahaagri.gov.in"}, "email"),
    ({"email": "a@"}, "email"),
    ({"email": "a@localhost"}, "email"),
    ({"email": "a@b..in"}, "email"),
    ({"email": "a b@mahaagri.gov.in"}, "email"),
    ({"email": "a@" + "x" * 70 + ".gov.in"}, "email"),  # a label longer than IDNA allows
    ({"email": "x" * 65 + "@mahaagri.gov.in"}, "email"),
    ({"email": "a" * 250 + "@b.in"}, "email"),  # longer than 254
    ({"mobile": "12345"}, "mobile"),
    ({"mobile": "5876543210"}, "mobile"),
    ({"mobile": "9" * 21}, "mobile"),
    ({"mobile": "९८७६५४३२१०"}, "mobile"),
    ({"mobile": "9८७६५४३२१०"}, "mobile"),  # a number is looked up, and stored, in ASCII digits only
])
def test_bad_input_is_422_json_at_its_field(world, api_get, params, field):
    assert_422(api_get(URL, **params), field)


def test_undecodable_input_is_422(world):
    response = Client().get(URL + "?email=a%40%FF%FE.in", **bearer(world["token_a"]))
    assert_422(response, "email")


@pytest.mark.parametrize(("params", "field", "limit"), [({"email": "a" * 250 + "@b.in"}, "email", 254),
                                                      ({"mobile": "9" * 21}, "mobile", 20)])
@pytest.mark.parametrize("language", ["hi", "mr"])
def test_a_value_too_long_is_refused_in_the_readers_language_as_the_apis_own_422s(world, params, field, limit, language):
    """The length limits of the query's schema were refused by ninja's own handler: pydantic's
    English sentence whatever the reader's language, with a "ctx" the API's own errors lack."""
    english = Client().get(URL, params, HTTP_ACCEPT_LANGUAGE="en", **bearer(world["token_a"]))
    translated = Client().get(URL, params, HTTP_ACCEPT_LANGUAGE=language, **bearer(world["token_a"]))
    assert_422(translated, field)
    assert english.json()["detail"] == [{"loc": ["query", field], "msg": f"Enter at most {limit} characters.",
                                         "type": "too_long"}]
    [error] = translated.json()["detail"]
    assert set(error) == {"loc", "msg", "type"} and str(limit) in error["msg"] and error["msg"].isascii() is False


def test_other_methods_are_refused(world):
    response = Client().post(URL, {}, **bearer(world["token_a"]))
    assert response.status_code == 405
    assert Client().generic("TRACE", URL, **bearer(world["token_a"])).status_code == 405


# Every answer is JSON -----------------------------------------------------------------------------

def assert_json_error(response, status):
    """An error of the API: JSON, {"detail": "..."} (as 401 and 429; 422's detail lists the fields),
    never the portal's HTML pages."""
    assert response.status_code == status, response.content[:200]
    assert response["Content-Type"].startswith("application/json"), response["Content-Type"]
    if response.content:  # HEAD: no body
        body = response.json()
        assert list(body) == ["detail"] and isinstance(body["detail"], str) and body["detail"], body


UNKNOWN_PATHS = ["/api/v1/nothing-here", "/api/v1/verifications/", "/api/v1/openapi.json/", "/api/v1//verifications",
                 "/api/v1/docs", "/api/v1/verifications/x"]


# The root itself (where ninja is mounted) answers GET only: 404 (its other methods are 405).
@pytest.mark.parametrize("method,path", [("GET", "/api/v1/"),
                                         *((method, path) for path in UNKNOWN_PATHS for method in ("GET", "HEAD", "POST"))])
def test_an_unknown_path_is_404_json(world, method, path):
    assert_json_error(Client().generic(method, path, **bearer(world["token_a"])), 404)


def test_an_unknown_path_says_so_in_the_readers_language(db):
    english = Client().get("/api/v1/nothing-here", HTTP_ACCEPT_LANGUAGE="en").json()["detail"]
    assert Client().get("/api/v1/nothing-here", HTTP_ACCEPT_LANGUAGE="hi").json()["detail"] != english


@pytest.mark.parametrize("path", ["/api/v1/verifications", "/api/v1/openapi.json", "/api/v1/"])
@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "TRACE", "HEAD", "OPTIONS"])
def test_another_method_is_405_json_with_allow(world, path, method):
    """GET only, everywhere in the API: HEAD and OPTIONS are refused as the others are,
    in JSON (HEAD: no body), never a page."""
    response = Client().generic(method, path, **bearer(world["token_a"]))
    assert_json_error(response, 405)
    assert response["Allow"] == "GET"


def test_a_refused_method_names_the_allowed_one_in_the_readers_language(world):
    english = Client().post(URL, HTTP_ACCEPT_LANGUAGE="en", **bearer(world["token_a"])).json()["detail"]
    in_hindi = Client().post(URL, HTTP_ACCEPT_LANGUAGE="hi", **bearer(world["token_a"])).json()["detail"]
    assert "GET" in english and "GET" in in_hindi and in_hindi != english


def test_a_request_django_refuses_is_400_json(world):
    """A request Django refuses before any view (here a Host header not in ALLOWED_HOSTS)."""
    assert_json_error(Client().get(URL, {"email": "x@mahaagri.gov.in"}, HTTP_HOST="elsewhere.example",
                                   **bearer(world["token_a"])), 400)
    page = Client().get("/", HTTP_HOST="elsewhere.example")
    assert page.status_code == 400 and page["Content-Type"].startswith("text/html")  # the portal's page


def test_a_server_error_is_500_json(world, monkeypatch):
    def broken(**contact):
        raise RuntimeError("the database went away")

    monkeypatch.setattr("api.v1.verified_person_by_contact", broken)
    response = Client(raise_request_exception=False).get(URL, {"email": "x@mahaagri.gov.in"},
                                                         **bearer(world["token_a"]))
    assert_json_error(response, 500)
    assert "went away" not in response.content.decode()  # what went wrong is in the log, not the answer


def test_outside_the_api_a_server_error_is_still_the_portals_page(db, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("a template went away")

    monkeypatch.setattr("portal.views.render", broken)
    response = Client(raise_request_exception=False).get("/")
    assert response.status_code == 500
    assert response["Content-Type"].startswith("text/html")
    assert "Something went wrong on our side" in response.content.decode()


@pytest.mark.parametrize("path", ["/api/", "/api/v2/verifications", "/onboarding/nothing-here/"])
def test_outside_the_api_a_404_is_still_the_portals_page(db, path):
    response = Client().get(path)
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")
    assert "Page not found" in response.content.decode()


# Query counts ----------------------------------------------------------------------------------

# The test settings keep the cache in the database (as the embedded default does), so
# the cache's work costs queries here; with Redis (production) it costs one round trip
# to Redis and no query, and a call reads the database once (tests/api/test_auth.py).
#   1 the client, from the cache (kept there a minute: api.selectors.client_by_token);
#   2-8 the rate counter's increment, under its lock (2: the database cache has no atomic
#     increment, portal.limits.minute_counted): the database cache reads it (3), then
#     writes it back: counts its rows (4, for culling), savepoint (5), finds (6) and
#     updates (7) the row, releases the savepoint (8);
#   9-14 the marker that the last use was recorded this minute, added (refused: it is
#     there): counts the rows, savepoint, finds it, insert refused, rollback to and
#     release of the savepoint;
#   15 the profile, with its organisation and person, by address or mobile, and what
#     the visibility rules decide on (its organisation's policy and the person's own
#     choices, joined: verification.selectors.verified_person_by_contact), whether or
#     not someone is found.
# The first request of a minute reads the client from the database, adds the counter
# and records the last use (one UPDATE, at most once a minute): the warm-up request
# below is that one.
CALL_QUERIES = 15


@pytest.mark.parametrize("params", [{"email": "asha.kulkarni@mahaagri.gov.in"}, {"mobile": "9876543210"},
                                    {"email": "nobody@mahaagri.gov.in"}])
@pytest.mark.parametrize("extra", [0, 50], ids=["few people", "50 more"])
def test_queries_per_call(world, api_get, django_assert_num_queries, params, extra):
    for i in range(extra):
        GovernmentProfileFactory(organisation=world["a"], status=VerificationStatus.VERIFIED,
                                 official_email=f"p{i}@mahaagri.gov.in", mobile=f"+9190000{i:05d}")
    api_get(URL, **params)
    with django_assert_num_queries(CALL_QUERIES):
        assert api_get(URL, **params).status_code == 200


def test_a_refused_token_costs_its_lookup_and_its_count(world, django_assert_num_queries):
    # 1 the cache (nothing under its hash), 2 the address's count of refused tokens this
    # minute (none yet), 3 the clients (none with that hash); 4-10 the refusal counted
    # against the address (the database cache: its counter's lock, read, then written:
    # counts its rows for culling, savepoint, finds, inserts, releases the savepoint).
    with django_assert_num_queries(10):
        assert Client().get(URL, {"email": "x@mahaagri.gov.in"}, **bearer("sandes_00000000_" + "A" * 43)).status_code == 401
    # Nothing looked up: 1-7 the refusal counted (its lock, read, then written back: counts
    # the rows, savepoint, finds and updates the row, releases the savepoint).
    with django_assert_num_queries(7):
        assert Client().get(URL, {"email": "x@mahaagri.gov.in"}, **bearer("something else")).status_code == 401


# The OpenAPI document ---------------------------------------------------------------------------

def test_the_openapi_document_is_public_json_with_the_paths(db):
    response = Client().get("/api/v1/openapi.json")
    assert response.status_code == 200
    document = json.loads(response.content)
    assert document["openapi"].startswith("3.")
    operation = document["paths"]["/api/v1/verifications"]["get"]
    assert set(operation["responses"]) == {"200", "401", "422", "429"}
    assert operation["security"] == [{"ClientToken": []}]
    assert document["components"]["securitySchemes"]["ClientToken"] == {"type": "http", "scheme": "bearer"}
    assert {p["name"] for p in operation["parameters"]} == {"email", "mobile"}
    description = document["components"]["schemas"]["VerificationOut"]["properties"]["verified"]["description"]
    assert "suspended" in description and "keeps from verified government users" in description
    # A lookup finds a person only by what their organisation lets verified government users see.
    assert "only by what their organisation lets verified government users see" in " ".join(operation["description"].split())
    assert "only by what their organisation" in document["info"]["description"]
    assert Client().post("/api/v1/openapi.json").status_code == 405


def test_the_openapi_document_says_every_answer_is_json(db):
    """What no operation answers (an unknown address, another method) and a server error
    are in the API's description, with the shape of every error."""
    description = " ".join(json.loads(Client().get("/api/v1/openapi.json").content)["info"]["description"].split())
    assert "Every answer is JSON" in description
    for said in ('{"detail": "..."}', "404", "405", "`Allow`", "500"):
        assert said in description, said


def test_no_interactive_docs_and_nothing_from_a_cdn(db):
    assert Client().get("/api/v1/docs").status_code == 404
    assert b"cdn" not in Client().get("/api/v1/openapi.json").content.lower()


def test_a_mobile_number_is_answered_for_only_when_an_administrator_vouched_for_it(world, api_get):
    """Verified automatically (the confirmed official address on the organisation's
    domain), a profile's mobile number is still only what the person typed: it is not
    looked up by it. By hand or by roster, the administrator vouched for it."""
    profile = world["verified_a"]
    assert profile.method != VerificationMethod.OFFICIAL_EMAIL
    assert api_get(URL, mobile="9876543210").json()["verified"] is True
    type(profile).objects.filter(pk=profile.pk).update(method=VerificationMethod.OFFICIAL_EMAIL)
    assert api_get(URL, mobile="9876543210").json() == NOT_VERIFIED
    assert api_get(URL, email=profile.official_email).json()["verified"] is True  # the confirmed address still is


def test_refused_tokens_are_counted_per_ipv6_network_not_per_address(world, settings):
    """An IPv6 client holds a whole /64 (2^64 addresses): counted per address, each new
    address started a new count, so the limit on refused tokens held nobody back. The
    refusals of one network are counted together (allauth's ACCOUNT rate limits do the
    same, at ALLAUTH_RATE_LIMIT_IPV6_PREFIX); another network is counted apart."""
    settings.API_REFUSED_PER_MINUTE = 3
    cache.clear()
    unknown = bearer("sandes_00000000_" + "A" * 43)
    with time_machine.travel(timezone.now().replace(second=10, microsecond=0), tick=False):
        statuses = [Client(REMOTE_ADDR=f"2001:db8:0:1::{n:x}").get(URL, {"email": "x@mahaagri.gov.in"},
                                                                     **unknown).status_code for n in range(1, 6)]
        other = Client(REMOTE_ADDR="2001:db8:0:2::1").get(URL, {"email": "x@mahaagri.gov.in"}, **unknown)
    assert statuses == [401, 401, 401, 429, 429]
    assert other.status_code == 401


def test_api_answers_are_kept_out_of_caches(world, api_get, settings):
    """An answer names a person (name, official address, mobile number): it carries
    Cache-Control no-store and private, as every other answer with personal data of the
    portal does (the API's calls skip the middleware that marks those); so do its refusals."""
    settings.API_RATE_PER_MINUTE = 1
    cache.clear()
    answers = {
        200: api_get(URL, email="asha.kulkarni@mahaagri.gov.in"),
        429: api_get(URL, email="asha.kulkarni@mahaagri.gov.in"),
        401: Client().get(URL, {"email": "asha.kulkarni@mahaagri.gov.in"}),
        422: api_get(URL, token=world["token_b"], email="not an address"),
    }
    assert answers[200].json()["person"]["mobile"] == "+919876543210"
    assert {status: answer.status_code for status, answer in answers.items()} == {200: 200, 429: 429, 401: 401, 422: 422}
    assert {status: {"no-store", "private"} <= set(answer.get("Cache-Control", "").split(", "))
            for status, answer in answers.items()} == dict.fromkeys(answers, True)
