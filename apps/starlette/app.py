"""Starlette app serving the benchmark endpoints (see tools/benchmatrix/matrix/scenarios.py).

Entry point: apps.starlette.app:app (ASGI), e.g. `uvicorn apps.starlette.app:app`.

Written the way Starlette's documentation shows an app: plain endpoint functions in a list of
Routes, Starlette's own response classes (JSONResponse: compact JSON, the other async apps'
bytes), a lifespan that opens the asyncpg pool, an exception handler that answers a bad query
parameter with the 400 every app sends, and starlette.templating's Jinja2Templates over
apps/templates (the Flask and aiohttp apps' file and Jinja2 defaults: the same bytes).

Its database and upstream work is apps/async_database.py's and apps/async_upstream.py's.
"""

import asyncio
import contextlib
from pathlib import Path
from typing import Any, AsyncIterator, Dict, List

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route
from starlette.templating import Jinja2Templates

from apps import async_upstream
from apps.async_database import agents_from, agents_on_new_connection, database_sleep, pool_on
from apps.workloads import (FANOUT_CALLS, UPSTREAM_URL,
                            BadParameter, milliseconds, seconds, setting)

TEMPLATES = Jinja2Templates(directory=str(Path(__file__).resolve().parents[1] / "templates"))


@contextlib.asynccontextmanager
async def lifespan(application: Starlette) -> AsyncIterator[None]:
    """The worker's asyncpg pool onto app.state while it serves (apps/async_database.py)."""
    async with pool_on(application.state):
        yield


async def agents_from_pool(request: Request) -> List[Dict[str, Any]]:
    return await agents_from(request.app.state.pool)


async def bad_parameter(request: Request, error: Exception) -> Response:
    return JSONResponse({"error": str(error)}, status_code=400)


async def json_endpoint(request: Request) -> Response:
    return JSONResponse({"message": "Hello, World!"})


async def plaintext_endpoint(request: Request) -> Response:
    return PlainTextResponse("Hello, World!")


async def agents(request: Request) -> Response:
    return JSONResponse(await agents_on_new_connection())


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
    await database_sleep(duration_s)
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
