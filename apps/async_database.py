"""The database work of the async framework apps (FastAPI, Starlette, Litestar), with asyncpg.

What apps/workloads.py is to the sync apps: each framework app declares its routes and
responses its own way, and they all do the same database work through these functions,
so their rows compare servers and frameworks, not three ways of querying.

The pool: one per worker process, opened in the app's lifespan onto its state (every ASGI
server passes app.state along; only some pass a lifespan's state dict on to requests).
min_size = max_size opens every connection up front, so no measured request pays for a
connect, as the sync apps' pool does; a lifetime of 0 keeps idle connections open between
trials. No pool when the cell sets no database (its scenarios need none).
"""

import contextlib
import os

import asyncpg

from apps.workloads import AGENTS_QUERY, DATABASE_URL, DEFAULT_POOL_SIZE, POOL_SIZE, setting


@contextlib.asynccontextmanager
async def pool_on(state):
    """state.pool for the block: an asyncpg pool, or None when no database is set."""
    state.pool = None
    url = os.environ.get(DATABASE_URL)
    if url:
        size = int(os.environ.get(POOL_SIZE) or DEFAULT_POOL_SIZE)
        state.pool = await asyncpg.create_pool(url, min_size=size, max_size=size,
                                               max_inactive_connection_lifetime=0)
    try:
        yield state.pool
    finally:
        if state.pool is not None:
            await state.pool.close()


async def agents_on_new_connection():
    """The seeds' /agents: a connection of its own for each request, then the query."""
    connection = await asyncpg.connect(setting(DATABASE_URL))
    try:
        return [dict(row) for row in await connection.fetch(AGENTS_QUERY)]
    finally:
        await connection.close()


async def agents_from(pool):
    """The same rows over the worker's pool; acquire() queues when every connection is out, so a burst waits."""
    if pool is None:
        raise RuntimeError("{} was not set when the worker started; the harness sets it for cells "
                           "that run this scenario".format(DATABASE_URL))
    async with pool.acquire() as connection:
        return [dict(row) for row in await connection.fetch(AGENTS_QUERY)]


async def database_sleep(duration_s):
    """A new connection that waits duration_s in PostgreSQL (pg_sleep takes double precision, and asyncpg
    encodes by the server's type)."""
    connection = await asyncpg.connect(setting(DATABASE_URL))
    try:
        await connection.execute("SELECT pg_sleep($1)", float(duration_s))
    finally:
        await connection.close()
