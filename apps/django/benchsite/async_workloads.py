"""The django-async app's database and upstream work: apps/workloads.py's, awaited.

The same queries, settings and parameter rules as the sync apps (apps.workloads),
through Django's ORM and aiohttp's client. How each wait is async:

- /agents: `async for` over a queryset, Django's async ORM. In every Django pinned
  here (4.2 to 6.1) that ORM has no async driver underneath: it runs the query with
  sync_to_async, on the thread Django's ASGI handler gives each request. So
  concurrent requests query in parallel threads, each on a connection of its own
  that closes when the request ends (CONN_MAX_AGE 0): the sync app's new
  connection per request.
- /agents_with_pool, /template: the same queryset, evaluated by the same
  sync_to_async, but on a fixed pool of BENCHMATRIX_POOL_SIZE threads whose
  connections persist (the `pooled` alias). With psycopg2 Django has no connection
  pool of its own (its pool, Django 5.1+, is psycopg 3's), and per-request threads
  cannot keep one; a fixed set of threads can. Like the sync app's WaitingPool, at
  most that many queries run at once per process and a burst waits for a free one,
  and every connection opens at the first use, before the first query.
- /db_sleep: sync_to_async around a cursor on the request's thread, the path the
  async ORM itself takes, since it has no async cursor for a raw statement.
- /upstream, /upstream_fanout: the async apps' shared calls (apps/async_upstream.py):
  aiohttp's ClientSession, a session per request, the fan-out through asyncio.gather.
aiohttp is imported at first use, and psycopg2 only when the database URL is set
(settings_async.py), so a cell serving /json and /plaintext loads neither, as in apps/workloads.py.
"""

import os
import threading
from concurrent.futures import ThreadPoolExecutor

from asgiref.sync import sync_to_async
from django.db import connections
from django.db.models import Value

from apps.workloads import DATABASE_URL, DEFAULT_POOL_SIZE, POOL_SIZE, UPSTREAM_URL, setting
from apps.django.benchsite.models import Agent
from apps.django.benchsite.settings_async import POOLED

# The agents query's columns, in its order (apps.workloads.AGENTS_QUERY): the JSON keys and the
# template's cells come out in this order, as from the sync apps' cursor.
AGENT_COLUMNS = ("number", "extension", "context", "state_interface", "status", "extension_status", "paused")
_ORM_FIELDS = ("number", "login__extension", "login__context", "login__state_interface",
               "status", "extension_status", "paused")


def agents_queryset(alias):
    """AGENTS_QUERY as a queryset: the LEFT JOIN, and the three constants selected by the database too."""
    return (Agent.objects.using(alias)
            .annotate(status=Value("offline"), extension_status=Value("-1"), paused=Value("0"))
            .values_list(*_ORM_FIELDS))  # values_list returns columns in the order asked, on every Django


def _agent(row):
    return dict(zip(AGENT_COLUMNS, row))


def _require_database():
    # Django would only say DATABASES is empty; this names the variable the harness sets.
    setting(DATABASE_URL)


async def agents_on_new_connection():
    _require_database()
    return [_agent(row) async for row in agents_queryset("default")]


_pool = None


def pool_executor():
    """The pool's threads, one set per worker process, created in its event loop thread at first use."""
    global _pool
    if _pool is None:
        size = int(os.environ.get(POOL_SIZE) or DEFAULT_POOL_SIZE)
        _pool = ThreadPoolExecutor(size, thread_name_prefix="django-pool")
        _open_every_connection(_pool, size)
    return _pool


def _open_every_connection(executor, size):
    """One connection per thread, opened before any query, as the sync app's pool opens them all at once.

    An executor starts a thread only when none is idle, and a query takes a millisecond:
    left alone, a pool of 10 serves a burst on 2 or 3 threads. Each opener waits for
    the others at the barrier, so the `size` of them hold `size` threads; the first
    queries queue behind them (the executor runs jobs in order).
    """
    every_thread_started = threading.Barrier(size)

    def open_connection():
        every_thread_started.wait()
        connections[POOLED].ensure_connection()  # a failure here is met again, and reported, by the query

    for _ in range(size):
        executor.submit(open_connection)


def _agents_on_a_pool_thread():
    # What Django does at each request's start, which no request does for these threads:
    # drop a connection that failed (the server went away), so the query reconnects.
    connections[POOLED].close_if_unusable_or_obsolete()
    return [_agent(row) for row in agents_queryset(POOLED)]


async def agents_from_pool():
    _require_database()
    return await sync_to_async(_agents_on_a_pool_thread, thread_sensitive=False, executor=pool_executor())()


def _pg_sleep(duration_s):
    with connections["default"].cursor() as cursor:
        cursor.execute("SELECT pg_sleep(%s)", [duration_s])


async def database_sleep(duration_s):
    _require_database()
    # thread_sensitive (the default): the request's own thread and connection, as the async ORM's queries.
    await sync_to_async(_pg_sleep)(duration_s)


async def upstream_answer():
    from apps import async_upstream  # imports aiohttp: only the upstream endpoints need it

    return await async_upstream.upstream_answer(setting(UPSTREAM_URL))


async def upstream_fanout():
    """How many of FANOUT_CALLS concurrent upstream calls answered 200."""
    from apps import async_upstream

    return await async_upstream.upstream_fanout(setting(UPSTREAM_URL))
