"""FastAPI app serving the benchmark endpoints (see tools/benchmatrix/matrix/scenarios.py).

Entry point: apps.fastapi.app:app (ASGI), e.g. `uvicorn apps.fastapi.app:app`.

Written the way FastAPI's documentation shows a production app, not as a wrapper:
- JSON answers are declared by return type, as Pydantic models. FastAPI 0.130 and newer
  serialize them with Pydantic, in Rust, which its docs now recommend over ORJSONResponse
  and UJSONResponse (both deprecated); older FastAPI (the Python 3.8 pins) validates the
  same models and encodes them with its JSONResponse. Either way the body is compact JSON,
  the other async apps' bytes.
- The asyncpg pool is opened in the lifespan and handed to the handlers by a dependency.
- A bad query parameter is an exception with a handler of its own: a 400 with {"error": ...},
  the body every app sends.
- The template is rendered by fastapi.templating.Jinja2Templates from apps/templates, the
  file and the Jinja2 defaults (autoescape on) of the Flask and aiohttp apps: the same bytes.

Its database and upstream work is apps/async_database.py's and apps/async_upstream.py's.
"""

import asyncio
import contextlib
from pathlib import Path
from typing import Any, AsyncIterator, Dict, List, Optional, Union

import asyncpg
from fastapi import Depends, FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, PlainTextResponse
from fastapi.templating import Jinja2Templates
from pydantic import BaseModel

from apps import async_upstream
from apps.async_database import agents_from, agents_on_new_connection, database_sleep, pool_on
from apps.workloads import (FANOUT_CALLS, UPSTREAM_URL,
                            BadParameter, milliseconds, seconds, setting)

TEMPLATES = Jinja2Templates(directory=str(Path(__file__).resolve().parents[1] / "templates"))


class Message(BaseModel):
    message: str


class Agent(BaseModel):
    """One row of the agents query; the fields in its column order, so the JSON keys come out in that order."""
    number: str
    extension: Optional[str]
    context: Optional[str]
    state_interface: Optional[str]
    status: str
    extension_status: str
    paused: str


class Slept(BaseModel):
    slept_ms: int


class DatabaseSlept(BaseModel):
    # int for "1", float for "0.5": the body echoes the number the way it was asked for
    # (Pydantic 2 keeps the type that matches exactly).
    db_slept_s: Union[int, float]


class Upstream(BaseModel):
    upstream: Dict[str, Any]  # the stub's answer, relayed as it came


class Fanout(BaseModel):
    calls: int
    ok: int


HELLO = Message(message="Hello, World!")


@contextlib.asynccontextmanager
async def lifespan(application: FastAPI) -> AsyncIterator[None]:
    """The worker's asyncpg pool onto app.state while it serves (apps/async_database.py)."""
    async with pool_on(application.state):
        yield


app = FastAPI(lifespan=lifespan)


async def database_pool(request: Request) -> Optional[asyncpg.Pool]:
    # async def: FastAPI would run a plain def dependency in its thread pool, a thread hop per request.
    return request.app.state.pool


@app.exception_handler(BadParameter)
async def bad_parameter(request: Request, error: BadParameter) -> JSONResponse:
    return JSONResponse({"error": str(error)}, status_code=400)


@app.get("/json")
async def json_endpoint() -> Message:
    return HELLO


@app.get("/plaintext", response_class=PlainTextResponse)
async def plaintext_endpoint() -> PlainTextResponse:
    return PlainTextResponse("Hello, World!")


@app.get("/agents")
async def agents() -> List[Agent]:
    return [Agent(**row) for row in await agents_on_new_connection()]


@app.get("/agents_with_pool")
async def agents_with_pool(pool: asyncpg.Pool = Depends(database_pool)) -> List[Agent]:
    return [Agent(**row) for row in await agents_from(pool)]


@app.get("/template", response_class=HTMLResponse)
async def agents_template(request: Request, pool: asyncpg.Pool = Depends(database_pool)) -> HTMLResponse:
    return TEMPLATES.TemplateResponse(request, "agents.html", {"agents": await agents_from(pool)})


@app.get("/sleep")
async def sleep(ms: Optional[str] = None) -> Slept:
    # The parameter is taken as text and parsed by apps.workloads, not declared as an int:
    # FastAPI's own validation would answer 422 with its own body, not the other apps' 400.
    duration_ms = milliseconds(ms)
    await asyncio.sleep(duration_ms / 1000.0)
    return Slept(slept_ms=duration_ms)


@app.get("/db_sleep")
async def db_sleep(s: Optional[str] = None) -> DatabaseSlept:
    duration_s = seconds(s)
    await database_sleep(duration_s)
    return DatabaseSlept(db_slept_s=duration_s)


@app.get("/upstream")
async def upstream() -> Upstream:
    return Upstream(upstream=await async_upstream.upstream_answer(setting(UPSTREAM_URL)))


@app.get("/upstream_fanout")
async def upstream_fanout() -> Fanout:
    return Fanout(calls=FANOUT_CALLS, ok=await async_upstream.upstream_fanout(setting(UPSTREAM_URL)))
