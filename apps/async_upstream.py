"""The upstream calls of the async apps, with aiohttp's client.

Used by aiohttp, API-Hour, django-async, FastAPI, Starlette and Litestar.

One module, so every async app makes the same calls: a session per request (each request
opens its own connections, like the sync apps' requests.get, so no cell gains from reusing
upstream connections the others cannot), and the fan-out's calls at once through
asyncio.gather. The default connector allows 100 connections at once, more than the
fan-out needs, so its calls never queue behind each other. aiohttp is imported here only:
the sync apps never load this module.
"""

import asyncio

import aiohttp

from apps.workloads import FANOUT_CALLS, UPSTREAM_TIMEOUT_S


def client_session():
    return aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=UPSTREAM_TIMEOUT_S))


async def upstream_answer(url):
    """The stub's JSON answer to one GET."""
    async with client_session() as session:
        async with session.get(url) as answer:
            answer.raise_for_status()
            return await answer.json()


async def _status(session, url):
    try:
        async with session.get(url) as answer:
            await answer.read()
            return answer.status
    except (aiohttp.ClientError, asyncio.TimeoutError):
        return None  # counted as not ok: the body reports how many calls succeeded


async def upstream_fanout(url):
    """How many of FANOUT_CALLS concurrent GETs answered 200."""
    async with client_session() as session:
        statuses = await asyncio.gather(*(_status(session, url) for _ in range(FANOUT_CALLS)))
    return sum(1 for status in statuses if status == 200)
