"""The API's token check with Redis as the cache (production): a call whose client is
cached costs one round trip to Redis (api.auth.CHECK_SCRIPT: the client, its rate
counter, its last-use marker) and one query. The other API tests run with the
database cache (the embedded default), which goes through the cache's operations one
by one; the behaviour must be the same. A redis-server is started on a free port (tests/conftest.py)."""

from datetime import timedelta

import time_machine
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.utils import timezone

from api.models import ApiClient
from api.services import api_client_revoke, used_key
from tests.api.conftest import bearer
from tests.pg_trace import backend_terminate, kept_connection_at_the_start_of_a_request, statements_sent

URL = "/api/v1/verifications"


def commands(server):
    """Redis commands run so far, by name."""
    return {name.removeprefix("cmdstat_"): stats["calls"] for name, stats in server.info("commandstats").items()}


def get(world, token=None, **params):
    return Client().get(URL, params or {"email": "asha.kulkarni@mahaagri.gov.in"},
                        **bearer(world["token_a"] if token is None else token))


def test_a_call_is_one_round_trip_to_redis_and_one_query(world, redis_cache, django_assert_num_queries):
    assert get(world).status_code == 200  # the first of the minute: the client read and cached, last use recorded
    before = commands(redis_cache)
    with django_assert_num_queries(1):  # the profile and what the visibility rules decide on
        response = get(world)
    assert response.status_code == 200
    assert response.json()["person"]["name"] == "Asha Kulkarni"
    after = commands(redis_cache)
    ran = {name: calls - before.get(name, 0) for name, calls in after.items() if calls != before.get(name, 0)}
    # One command sent: the script (Redis counts the commands it runs too); and this test's own INFO.
    assert ran == {"evalsha": 1, "get": 1, "incr": 1, "set": 1, "info": 1}, ran


def test_the_lookup_is_the_only_statement_sent_to_postgresql(transactional_db, world, redis_cache, require_postgresql):
    """No SELECT 1 health check before it: the lookup checks the connection itself."""
    assert get(world).json()["verified"] is True  # the client cached, the lookup prepared on this connection
    kept_connection_at_the_start_of_a_request()
    sent, response = statements_sent(lambda: get(world))
    assert response.json()["verified"] is True
    assert len(sent) == 1 and sent[0].startswith(' "EXECUTE verified_by_contact_1('), sent


def test_a_broken_kept_connection_is_replaced_by_the_lookup(transactional_db, world, redis_cache, require_postgresql):
    assert get(world).json()["verified"] is True
    pid = connection.connection.info.backend_pid
    backend_terminate(pid)
    kept_connection_at_the_start_of_a_request()
    response = get(world)
    assert response.status_code == 200
    assert response.json()["person"]["name"] == "Asha Kulkarni"
    assert connection.connection.info.backend_pid != pid


def test_a_revoked_token_is_401_at_once(world, redis_cache):
    assert get(world).status_code == 200
    assert get(world).status_code == 200  # the client is cached
    api_client_revoke(client_id=world["client_a"].pk, actor=world["admin_a"])
    response = get(world)
    assert response.status_code == 401
    assert response.json()["detail"].startswith("Send a valid API token")


def test_a_revocation_committed_while_a_request_read_the_client_holds_from_the_next_request(
        world, redis_cache, revoked_while_its_client_is_read):
    get(world)  # in flight during the revocation
    assert revoked_while_its_client_is_read
    for _ in range(2):
        assert get(world).status_code == 401
    # Refused without being counted, as an unknown token is: only the request in flight was.
    assert sum(int(redis_cache.get(key)) for key in redis_cache.keys("*api-rate*")) == 1


def test_an_unknown_token_is_401_and_counts_nothing(world, redis_cache):
    assert get(world, token="sandes_00000000_" + "A" * 43).status_code == 401
    assert not [key for key in redis_cache.keys("*") if b"api-rate" in key or b"api-used" in key]


def test_over_the_rate_limit_is_429_per_client(world, redis_cache, settings):
    settings.API_RATE_PER_MINUTE = 3
    for _ in range(3):
        assert get(world).status_code == 200
    response = get(world)
    assert response.status_code == 429
    assert 1 <= int(response["Retry-After"]) <= 60
    assert response.json()["detail"].startswith("Too many requests")
    assert get(world, token=world["token_b"]).status_code == 200


def test_last_use_is_recorded_at_most_once_a_minute(world, redis_cache):
    client = world["client_a"]
    get(world)
    first = ApiClient.objects.get(pk=client.pk).last_used_at
    assert first is not None
    ApiClient.objects.filter(pk=client.pk).update(last_used_at=first - timedelta(minutes=2))
    get(world)
    assert ApiClient.objects.get(pk=client.pk).last_used_at == first - timedelta(minutes=2)  # within the minute
    cache.delete(used_key(client.token_hash))  # a minute later, the marker has expired
    get(world)
    assert ApiClient.objects.get(pk=client.pk).last_used_at > first - timedelta(seconds=1)


def test_refused_tokens_past_the_limit_of_an_address_are_429_and_not_looked_up(world, redis_cache, settings,
                                                                                django_assert_num_queries):
    """As with the database cache (test_v1.py): the address's refusals are counted in Redis."""
    settings.API_REFUSED_PER_MINUTE = 2
    unknown = "sandes_00000000_" + "A" * 43
    with time_machine.travel(timezone.now().replace(second=10, microsecond=0), tick=False):  # within one minute
        assert get(world).status_code == 200  # client A cached
        statuses = [get(world, token=unknown).status_code for _ in range(2)]
        with django_assert_num_queries(0):  # not looked up
            response = get(world, token=unknown)
        assert get(world).status_code == 200  # a cached client is answered from the same address
    assert statuses == [401, 401] and response.status_code == 429
    assert response["Retry-After"] == "50"
    assert response.json()["detail"].startswith("Too many requests without a valid API token")
