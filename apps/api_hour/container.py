"""API-Hour container serving the benchmark endpoints with the aiohttp app.

    api_hour -w N -b 127.0.0.1:PORT apps.api_hour.container:Container

api_hour is gunicorn with its own worker: each worker builds a Container and asks
make_servers() for one asyncio server per listening socket (-b may be repeated,
e.g. `-b unix:PATH`). No -ac: auto-config only adds a YAML config dir that this
app does not read.
"""

import api_hour
from aiohttp import web

from apps.aiohttp.app import create_app


class Container(api_hour.Container):
    async def make_servers(self, sockets):
        # AppRunner rather than the Application.make_handler of API-Hour's templates:
        # aiohttp deprecated make_handler, and the runner also freezes the app and runs
        # its startup hooks, which open this worker's database pool before it serves
        # (and runner.cleanup closes it). access_log=None: no access lines, like every other cell.
        self.runner = web.AppRunner(
            await create_app(), access_log=None, keepalive_timeout=self.worker.cfg.keepalive)
        await self.runner.setup()
        servers = {}
        for sock in sockets:
            server = await self.loop.create_server(self.runner.server, sock=sock.sock)
            # api_hour's worker closes these servers and shuts the handler down on exit.
            servers[server] = self.runner.server
        return servers

    async def cleanup(self):
        await self.runner.cleanup()
