"""The portal's Redis cache: Django's, with one client per connection pool."""

from django.core.cache import cache, caches

from portal.rediscache import cache_redis


def test_the_cache_works_as_djangos(redis_cache):
    cache.set("a", {"x": [1, 2]}, 30)
    assert cache.get("a") == {"x": [1, 2]}
    assert cache.add("a", 1) is False
    assert cache.add("n", 1) is True
    assert cache.incr("n") == 2
    assert cache.get_many(["a", "n", "missing"]) == {"a": {"x": [1, 2]}, "n": 2}
    cache.delete("a")
    assert cache.get("a", "gone") == "gone"
    assert int(redis_cache.get(cache.make_key("n"))) == 2  # in the server the tests started


def test_one_client_for_every_operation_and_for_the_round_trip_checks(redis_cache):
    backend = caches["default"]
    client = backend.client()
    assert backend._cache.get_client("some key") is client  # one server: reads and writes share its pool
    assert cache_redis() is backend


def test_a_stored_value_read_as_the_cache_reads_it(redis_cache):
    cache.set("c", {"when": [1, "x"]})
    backend = cache_redis()
    assert backend.loads(backend.client().get(backend.make_and_validate_key("c"))) == {"when": [1, "x"]}


def test_no_redis_client_for_the_database_cache(settings):
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    assert cache_redis() is None
