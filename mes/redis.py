"""Shared Redis clients (sync for publishers, async for the stream hub)."""

from functools import lru_cache

from django.conf import settings


@lru_cache(maxsize=1)
def redis_client():
    import redis

    # Publishing a wake-up is best effort (streams poll the outbox without it): a Redis that
    # does not answer costs a request half a second, not more.
    return redis.Redis.from_url(settings.REDIS_URL, socket_timeout=0.5,
                                socket_connect_timeout=0.5)


def async_redis_client():
    import redis.asyncio as aredis

    return aredis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=2)
