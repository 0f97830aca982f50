"""Litestar app serving the benchmark endpoints (see tools/benchmatrix/matrix/scenarios.py).

Entry point: apps.litestar.app:app (ASGI), e.g. `uvicorn apps.litestar.app:app`.

Written the way Litestar's documentation shows an app: route handlers declared with @get and
their return types, which Litestar encodes itself (msgspec: compact JSON, the other async
apps' bytes); a lifespan context manager that opens the asyncpg pool onto app.state, which
handlers receive as the injected `state`; an exception handler that answers a bad query
parameter with the 400 every app sends; its Template response with the Jinja2 engine over
apps/templates (the Flask and aiohttp apps' file and Jinja2 defaults: the same bytes).

Its database and upstream work is apps/async_database.py's and apps/async_upstream.py's.
"""

import asyncio
import contextlib
from pathlib import Path
from typing import Any, AsyncIterator, Dict, List, Optional, Union

from litestar import Litestar, MediaType, Request, Response, get
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.datastructures import State
from litestar.logging import LoggingConfig
from litestar.params import FromQuery
from litestar.response import Template
from litestar.template import TemplateConfig

from apps import async_upstream
from apps.async_database import agents_from, agents_on_new_connection, database_sleep, pool_on
from apps.workloads import (FANOUT_CALLS, UPSTREAM_URL,
                            BadParameter, milliseconds, seconds, setting)

TEMPLATES = Path(__file__).resolve().parents[1] / "templates"
Agents = List[Dict[str, Optional[str]]]


@contextlib.asynccontextmanager
async def database_pool(application: Litestar) -> AsyncIterator[None]:
    """The worker's asyncpg pool onto app.state while it serves (apps/async_database.py)."""
    async with pool_on(application.state):
        yield


async def agents_from_pool(state: State) -> Agents:
    return await agents_from(state.pool)


def bad_parameter(request: Request, error: BadParameter) -> Response:
    return Response({"error": str(error)}, status_code=400, media_type=MediaType.JSON)


@get("/json")
async def json_endpoint() -> Dict[str, str]:
    return {"message": "Hello, World!"}


@get("/plaintext", media_type=MediaType.TEXT)
async def plaintext_endpoint() -> str:
    return "Hello, World!"


@get("/agents")
async def agents() -> Agents:
    return await agents_on_new_connection()


@get("/agents_with_pool")
async def agents_with_pool(state: State) -> Agents:
    return await agents_from_pool(state)


@get("/template")
async def agents_template(state: State) -> Template:
    return Template(template_name="agents.html", context={"agents": await agents_from_pool(state)})


# ms and s are taken as text and parsed by apps.workloads, not declared as numbers: Litestar's
# own validation would answer its own 400 body, not the one every app sends.
@get("/sleep")
async def sleep(ms: FromQuery[Optional[str]] = None) -> Dict[str, int]:
    duration_ms = milliseconds(ms)
    await asyncio.sleep(duration_ms / 1000.0)
    return {"slept_ms": duration_ms}


@get("/db_sleep")
async def db_sleep(s: FromQuery[Optional[str]] = None) -> Dict[str, Union[int, float]]:
    duration_s = seconds(s)
    await database_sleep(duration_s)
    return {"db_slept_s": duration_s}


@get("/upstream")
async def upstream() -> Dict[str, Any]:
    return {"upstream": await async_upstream.upstream_answer(setting(UPSTREAM_URL))}


@get("/upstream_fanout")
async def upstream_fanout() -> Dict[str, int]:
    return {"calls": FANOUT_CALLS, "ok": await async_upstream.upstream_fanout(setting(UPSTREAM_URL))}


app = Litestar(
    route_handlers=[json_endpoint, plaintext_endpoint, agents, agents_with_pool, agents_template, sleep, db_sleep,
                    upstream, upstream_fanout],
    lifespan=[database_pool],
    exception_handlers={BadParameter: bad_parameter},
    template_config=TemplateConfig(directory=TEMPLATES, engine=JinjaTemplateEngine),
    # Litestar logs an unhandled exception only in debug mode by default; a cell whose
    # database is not set must say why in the server's log, as the other apps do.
    logging_config=LoggingConfig(log_exceptions="always"),
)
