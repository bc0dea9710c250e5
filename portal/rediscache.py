"""The default cache's Redis client, for the few checks that must be one round trip
(the API's token check, the authority links' rate limit) and so cannot go through
the cache's operations one by one.

Django's Redis cache makes a new client, with its table of a few hundred reply
parsers, for every operation; the client here is made once per connection pool and
shares the cache's pool."""

from functools import lru_cache

from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache
from redis import ConnectionPool, Redis


@lru_cache(maxsize=4)
def _client(pool: ConnectionPool) -> Redis:
    return Redis(connection_pool=pool)


def cache_redis() -> tuple[Redis, RedisCache] | None:
    """(a client of the cache's Redis, the cache: for its key names and serializer), or
    None when the cache is not Redis (the embedded default's database cache)."""
    backend = caches["default"]
    if not isinstance(backend, RedisCache):
        return None
    return _client(backend._cache._get_connection_pool(write=True)), backend
