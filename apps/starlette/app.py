"""Starlette app serving the benchmark endpoints (see tools/benchmatrix/matrix/scenarios.py).

Entry point: apps.starlette.app:app (ASGI), e.g. `uvicorn apps.starlette.app:app`.

Written the way Starlette's documentation shows an app: plain endpoint functions in a list of
Routes, Starlette's own response classes (JSONResponse: compact JSON, the other async apps'
bytes), a lifespan that opens the asyncpg pool, an exception handler that answers a bad query
parameter with the 400 every app sends, and starlette.templating's Jinja2Templates over
apps/templates (the Flask and aiohttp apps' file and Jinja2 defaults: the same bytes).

The work is the aiohttp app's: a new asyncpg connection per request for /agents and
/db_sleep, the pool for /agents_with_pool and /template, apps/async_upstream.py's calls for
the upstream endpoints; parameters, settings and the query come from apps.workloads.
"""

import asyncio
import contextlib
from pathlib import Path
from typing import Any, AsyncIterator, Dict, List

import asyncpg
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route
from starlette.templating import Jinja2Templates

from apps import async_upstream
from apps.async_pool import pool_on
from apps.workloads import (AGENTS_QUERY, DATABASE_URL, FANOUT_CALLS, UPSTREAM_URL,
                            BadParameter, milliseconds, seconds, setting)

TEMPLATES = Jinja2Templates(directory=str(Path(__file__).resolve().parents[1] / "templates"))


@contextlib.asynccontextmanager
async def lifespan(application: Starlette) -> AsyncIterator[None]:
    """The worker's asyncpg pool onto app.state while it serves (apps/async_pool.py)."""
    async with pool_on(application.state):
        yield


async def agents_from_pool(request: Request) -> List[Dict[str, Any]]:
    pool = request.app.state.pool
    if pool is None:
        raise RuntimeError("{} was not set when the worker started; the harness sets it for cells "
                           "that run this scenario".format(DATABASE_URL))
    # acquire() queues when every connection is out, so a burst waits rather than fails.
    async with pool.acquire() as connection:
        return [dict(row) for row in await connection.fetch(AGENTS_QUERY)]


async def bad_parameter(request: Request, error: Exception) -> Response:
    return JSONResponse({"error": str(error)}, status_code=400)


async def json_endpoint(request: Request) -> Response:
    return JSONResponse({"message": "Hello, World!"})


async def plaintext_endpoint(request: Request) -> Response:
    return PlainTextResponse("Hello, World!")


async def agents(request: Request) -> Response:
    connection = await asyncpg.connect(setting(DATABASE_URL))
    try:
        rows = await connection.fetch(AGENTS_QUERY)
    finally:
        await connection.close()
    return JSONResponse([dict(row) for row in rows])


async def agents_with_pool(request: Request) -> Response:
    return JSONResponse(await agents_from_pool(request))


async def agents_template(request: Request) -> Response:
    return TEMPLATES.TemplateResponse(request, "agents.html", {"agents": await agents_from_pool(request)})


async def sleep(request: Request) -> Response:
    duration_ms = milliseconds(request.query_params.get("ms"))
    await asyncio.sleep(duration_ms / 1000.0)
    return JSONResponse({"slept_ms": duration_ms})


async def db_sleep(request: Request) -> Response:
    duration_s = seconds(request.query_params.get("s"))
    connection = await asyncpg.connect(setting(DATABASE_URL))
    try:
        # pg_sleep takes double precision, and asyncpg encodes by the server's type.
        await connection.execute("SELECT pg_sleep($1)", float(duration_s))
    finally:
        await connection.close()
    return JSONResponse({"db_slept_s": duration_s})


async def upstream(request: Request) -> Response:
    return JSONResponse({"upstream": await async_upstream.upstream_answer(setting(UPSTREAM_URL))})


async def upstream_fanout(request: Request) -> Response:
    return JSONResponse({"calls": FANOUT_CALLS, "ok": await async_upstream.upstream_fanout(setting(UPSTREAM_URL))})


routes = [
    Route("/json", json_endpoint),
    Route("/plaintext", plaintext_endpoint),
    Route("/agents", agents),
    Route("/agents_with_pool", agents_with_pool),
    Route("/template", agents_template),
    Route("/sleep", sleep),
    Route("/db_sleep", db_sleep),
    Route("/upstream", upstream),
    Route("/upstream_fanout", upstream_fanout),
]

# The handler runs in Starlette's ExceptionMiddleware, which every Starlette app has: it costs
# the other endpoints nothing.
app = Starlette(routes=routes, lifespan=lifespan, exception_handlers={BadParameter: bad_parameter})
