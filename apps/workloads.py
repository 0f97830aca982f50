"""The real-workload endpoints without the web framework: settings, parameters, the query.

Flask and Django call its synchronous database and upstream functions; the
async apps (aiohttp, FastAPI, Starlette, Litestar) share its settings, query and parameter parsing. So every app does
the same work and returns the same bodies and errors. Settings are
read at first use: cells without database or upstream scenarios set none of them.
psycopg2 and requests are imported at first use too, so /json and /plaintext run
without them installed and hello-world workers load nothing they do not need.
The apps never patch psycopg2 for gevent/eventlet (psycogreen): the server config
does that in post_fork for the *-psycogreen variants, and only there.
"""

import contextlib
import os
import re
import threading
from concurrent.futures import ThreadPoolExecutor

# Verbatim from benchmatrix.stack.postgres (the harness seeds against it, a test
# compares the two); not imported, because the app process does not load the harness.
AGENTS_QUERY = (
    "SELECT af.number, als.extension, als.context, als.state_interface, "
    "'offline' AS status, '-1' AS extension_status, '0' AS paused "
    "FROM agentfeatures af LEFT JOIN agent_login_status als ON (af.id = als.agent_id)"
)
DATABASE_URL = "BENCHMATRIX_DATABASE_URL"
UPSTREAM_URL = "BENCHMATRIX_UPSTREAM_URL"
POOL_SIZE = "BENCHMATRIX_POOL_SIZE"
DEFAULT_POOL_SIZE = 10
FANOUT_CALLS = 10
UPSTREAM_TIMEOUT_S = 30  # well past the stub's delay; a hung upstream must not hold a worker forever
MAX_SLEEP_MS = 600000
MAX_DB_SLEEP_S = 600


class BadParameter(ValueError):
    """A query parameter the endpoint cannot use; the apps answer 400 with its message."""


def setting(name):
    value = os.environ.get(name)
    if not value:
        raise RuntimeError("{} is not set; the harness sets it for cells that run this scenario".format(name))
    return value


def milliseconds(text):
    if text is None or not re.fullmatch(r"[0-9]{1,7}", text) or int(text) > MAX_SLEEP_MS:
        raise BadParameter("ms must be a whole number of milliseconds from 0 to {}".format(MAX_SLEEP_MS))
    return int(text)


def seconds(text):
    """An int for "1", a float for "0.5": the body echoes the number the way it was asked for."""
    if text is None or not re.fullmatch(r"[0-9]{1,4}(\.[0-9]{1,6})?", text) or float(text) > MAX_DB_SLEEP_S:
        raise BadParameter("s must be a number of seconds from 0 to {}".format(MAX_DB_SLEEP_S))
    return float(text) if "." in text else int(text)


# ---------------------------------------------------------------- database

def _rows(connection, sql, parameters=None):
    # Autocommit: the SELECT is the only round trip, with no BEGIN before it and
    # no ROLLBACK when the pool takes the connection back (Django's default too).
    connection.autocommit = True
    with connection.cursor() as cursor:
        cursor.execute(sql, parameters)
        names = [column[0] for column in cursor.description]
        return [dict(zip(names, row)) for row in cursor.fetchall()]


@contextlib.contextmanager
def new_connection():
    import psycopg2

    connection = psycopg2.connect(setting(DATABASE_URL))
    try:
        yield connection
    finally:
        connection.close()


class WaitingPool:
    """psycopg2's ThreadedConnectionPool, made to wait for a free connection instead of raising.

    The semaphore admits at most `size` borrowers, so getconn never finds the pool
    exhausted; once monkey-patched (gevent, eventlet) it parks the greenlet, not the worker.
    """

    def __init__(self, dsn, size):
        import psycopg2.pool

        # minconn is also how many idle connections psycopg2 keeps: with a smaller
        # one it closes every connection returned beyond it, i.e. no pooling at all.
        self._pool = psycopg2.pool.ThreadedConnectionPool(size, size, dsn)
        self._free = threading.BoundedSemaphore(size)

    @contextlib.contextmanager
    def connection(self):
        with self._free:
            connection = self._pool.getconn()
            try:
                yield connection
            finally:
                # Also after a failed query: putconn discards a connection the server dropped.
                self._pool.putconn(connection)


_pool = None
# Created at import, which gunicorn's gevent/eventlet workers do after patching, so
# it is cooperative there. Held while the pool opens its connections: a burst of
# first requests must open one pool per process, not one each.
_pool_lock = threading.Lock()


def shared_pool():
    global _pool
    if _pool is None:
        with _pool_lock:
            if _pool is None:
                _pool = WaitingPool(setting(DATABASE_URL), int(os.environ.get(POOL_SIZE) or DEFAULT_POOL_SIZE))
    return _pool


def agents_on_new_connection():
    with new_connection() as connection:
        return _rows(connection, AGENTS_QUERY)


def agents_from_pool():
    with shared_pool().connection() as connection:
        return _rows(connection, AGENTS_QUERY)


def database_sleep(duration_s):
    with new_connection() as connection:
        _rows(connection, "SELECT pg_sleep(%s)", (duration_s,))


# ---------------------------------------------------------------- upstream

def upstream_answer():
    import requests

    answer = requests.get(setting(UPSTREAM_URL), timeout=UPSTREAM_TIMEOUT_S)
    answer.raise_for_status()
    return answer.json()


def _upstream_status(url):
    import requests

    try:
        return requests.get(url, timeout=UPSTREAM_TIMEOUT_S).status_code
    except requests.RequestException:
        return None  # counted as not ok: the body reports how many calls succeeded


def upstream_fanout():
    """How many of FANOUT_CALLS concurrent upstream calls answered 200."""
    url = setting(UPSTREAM_URL)
    # One executor per request: a shared one would cap the whole process at
    # FANOUT_CALLS calls in flight. Monkey-patched, its threads are greenlets.
    with ThreadPoolExecutor(FANOUT_CALLS) as executor:
        statuses = list(executor.map(_upstream_status, [url] * FANOUT_CALLS))
    return sum(1 for status in statuses if status == 200)
