"""The portal's Redis cache, and its client for the few checks that must be one round
trip (the API's token check, the authority links' rate limit) and so cannot go through
the cache's operations one by one.

Django's Redis cache makes a new client, with its table of a few hundred reply
parsers, for every operation (about 65 µs of processor time, a third of reading a
session); ``RedisCache`` here is Django's with one client per connection pool, made
once per process (a client holds no connection of its own: each command takes one
from the pool and gives it back)."""

from functools import lru_cache

from django.core.cache import caches
from django.core.cache.backends import redis as django_redis
from redis import ConnectionPool, Redis


@lru_cache(maxsize=4)
def _client(pool: ConnectionPool) -> Redis:
    return Redis(connection_pool=pool)


class _CacheClient(django_redis.RedisCacheClient):
    def get_client(self, key=None, *, write=False) -> Redis:
        return _client(self._get_connection_pool(write))


class RedisCache(django_redis.RedisCache):
    """Django's Redis cache, its client made once per connection pool, and what the
    one-round-trip checks need of it: the client, and a stored value read as ``get`` reads it."""

    def __init__(self, server, params):
        super().__init__(server, params)
        self._class = _CacheClient

    def client(self) -> Redis:
        """The client of the server written to (the one the cache's operations use)."""
        return self._cache.get_client(write=True)

    def loads(self, raw: bytes):
        """A value as ``set`` stored it, read as ``get`` reads it."""
        return self._cache._serializer.loads(raw)


def cache_redis() -> RedisCache | None:
    """The default cache when it is this Redis cache (for its client, key names and
    serializer), or None (the embedded default's database cache)."""
    backend = caches["default"]
    return backend if isinstance(backend, RedisCache) else None
