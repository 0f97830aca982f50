"""aiohttp.web app serving the benchmark endpoints (see tools/benchmatrix/matrix/scenarios.py).

Entry points:
  gunicorn --worker-class aiohttp.GunicornWebWorker apps.aiohttp.app:app   (or :create_app)
  python -m aiohttp.web -H 127.0.0.1 -P PORT apps.aiohttp.app:create_app
create_app is a coroutine function because that is the one factory both launchers
take (the harness gives both the same target): GunicornWebWorker accepts an
Application or an async function, and `python -m aiohttp.web` calls its target with
the leftover command-line arguments (so create_app takes, and ignores, argv) and
awaits what comes back. apps/api_hour builds its servers from create_app too.

The database and upstream endpoints do the same work as the Flask and Django apps
with asyncio clients (asyncpg, aiohttp's ClientSession) and send the same bodies:
query parameters, the agents query and the settings' names come from
apps.workloads, and JSON is compacted the way Flask and Django do it.
Settings are read when the worker starts (the pool) or at first use, so cells
without database or upstream scenarios run /json and /plaintext with none set.
"""

import asyncio
import json
import logging
import os
from pathlib import Path

import aiohttp_jinja2
import asyncpg
import jinja2
from aiohttp import web

from apps import async_upstream
from apps.workloads import (AGENTS_QUERY, DATABASE_URL, DEFAULT_POOL_SIZE, FANOUT_CALLS, POOL_SIZE,
                                 UPSTREAM_URL, BadParameter, milliseconds, seconds, setting)

JSON_BODY = b'{"message": "Hello, World!"}'
TEXT_BODY = b"Hello, World!"
TEMPLATES = Path(__file__).resolve().parents[1] / "templates"  # Jinja2, shared with the Flask app


def json_response(value, status=200):
    return web.Response(body=json.dumps(value, separators=(",", ":")).encode(), status=status,
                        content_type="application/json")


def bad_parameter(error):
    return json_response({"error": str(error)}, status=400)


class Workloads:
    """The handlers of one Application, holding the pool its worker opened at startup."""

    def __init__(self):
        self.pool = None

    async def database_pool(self, application):
        """cleanup_ctx: one pool per worker process, opened before it serves and closed after."""
        url = os.environ.get(DATABASE_URL)
        if url:
            size = int(os.environ.get(POOL_SIZE) or DEFAULT_POOL_SIZE)
            # min_size = max_size: every connection is opened up front, like the sync apps'
            # pool, so no measured request pays for a connect. A lifetime of 0 stops asyncpg
            # from closing connections idle for 5 minutes (between a warmup and a trial, say).
            self.pool = await asyncpg.create_pool(url, min_size=size, max_size=size,
                                                  max_inactive_connection_lifetime=0)
        yield
        if self.pool is not None:
            await self.pool.close()
            self.pool = None

    def _pool(self):
        if self.pool is None:
            raise RuntimeError("{} was not set when the worker started; the harness sets it for cells "
                               "that run this scenario".format(DATABASE_URL))
        return self.pool

    async def agents_from_pool(self):
        # acquire() queues when all connections are out, so a burst waits rather than fails.
        async with self._pool().acquire() as connection:
            return [dict(row) for row in await connection.fetch(AGENTS_QUERY)]

    async def json_endpoint(self, request):
        # Pre-encoded bytes: web.json_response would re-serialise the same dict per request.
        return web.Response(body=JSON_BODY, content_type="application/json")

    async def plaintext_endpoint(self, request):
        return web.Response(body=TEXT_BODY, content_type="text/plain")

    async def agents(self, request):
        connection = await asyncpg.connect(setting(DATABASE_URL))
        try:
            rows = await connection.fetch(AGENTS_QUERY)
        finally:
            await connection.close()
        return json_response([dict(row) for row in rows])

    async def agents_with_pool(self, request):
        return json_response(await self.agents_from_pool())

    async def agents_template(self, request):
        return aiohttp_jinja2.render_template("agents.html", request, {"agents": await self.agents_from_pool()})

    async def sleep(self, request):
        # Caught here, not in a middleware: one would wrap /json and /plaintext too, and cost them.
        try:
            duration_ms = milliseconds(request.query.get("ms"))
        except BadParameter as error:
            return bad_parameter(error)
        await asyncio.sleep(duration_ms / 1000.0)
        return json_response({"slept_ms": duration_ms})

    async def db_sleep(self, request):
        try:
            duration_s = seconds(request.query.get("s"))
        except BadParameter as error:
            return bad_parameter(error)
        connection = await asyncpg.connect(setting(DATABASE_URL))
        try:
            # pg_sleep takes double precision, and asyncpg encodes by the server's type.
            await connection.execute("SELECT pg_sleep($1)", float(duration_s))
        finally:
            await connection.close()
        return json_response({"db_slept_s": duration_s})

    async def upstream(self, request):
        return json_response({"upstream": await async_upstream.upstream_answer(setting(UPSTREAM_URL))})

    async def upstream_fanout(self, request):
        ok = await async_upstream.upstream_fanout(setting(UPSTREAM_URL))
        return json_response({"calls": FANOUT_CALLS, "ok": ok})


def build_app():
    # `python -m aiohttp.web` turns on DEBUG logging for everything before calling us,
    # which would print an access line per request; the other servers log none.
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
    workloads = Workloads()
    application = web.Application()
    # Each launcher starts the app through an AppRunner (GunicornWebWorker, run_app,
    # apps/api_hour), whose setup runs this in the worker's own event loop.
    application.cleanup_ctx.append(workloads.database_pool)
    aiohttp_jinja2.setup(application, loader=jinja2.FileSystemLoader(str(TEMPLATES)))
    for path, handler in (("/json", workloads.json_endpoint), ("/plaintext", workloads.plaintext_endpoint),
                          ("/agents", workloads.agents), ("/agents_with_pool", workloads.agents_with_pool),
                          ("/template", workloads.agents_template), ("/sleep", workloads.sleep),
                          ("/db_sleep", workloads.db_sleep), ("/upstream", workloads.upstream),
                          ("/upstream_fanout", workloads.upstream_fanout)):
        application.router.add_get(path, handler)
    return application


async def create_app(argv=None):
    return build_app()


app = build_app()
