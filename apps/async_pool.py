"""The asyncpg pool the async framework apps (FastAPI, Starlette, Litestar) open in their lifespan.

One pool per worker process, opened before it serves and closed after, onto the app's state:
every ASGI server passes app.state along, while only some pass a lifespan's state dict on to
requests. min_size = max_size opens every connection up front, so no measured request pays
for a connect, as the sync apps' pool does; a lifetime of 0 keeps idle connections open
between trials. No pool when the cell sets no database (its scenarios need none).
"""

import contextlib
import os

import asyncpg

from apps.workloads import DATABASE_URL, DEFAULT_POOL_SIZE, POOL_SIZE


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
