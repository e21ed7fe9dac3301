"""Shared Redis clients (sync for publishers, async for the stream hub)."""

from functools import lru_cache

from django.conf import settings


@lru_cache(maxsize=1)
def redis_client():
    import redis

    return redis.Redis.from_url(settings.REDIS_URL, socket_timeout=2, socket_connect_timeout=2)


def async_redis_client():
    import redis.asyncio as aredis

    return aredis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=2)
