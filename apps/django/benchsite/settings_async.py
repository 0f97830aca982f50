"""Settings of the `django-async` app: the sync app's, with async views and a Django database.

Everything else (middleware, templates, DEBUG off, no logging) is imported from
settings.py unchanged, so a sync/async comparison of one server differs in the views
and the database layer only. CommonMiddleware stays for the same Content-Length
header; under ASGI Django runs its hooks through sync_to_async, which every async
Django deployment that keeps it pays as well.

The database endpoints go through Django's ORM here (the sync app uses psycopg2
directly), so DATABASES maps BENCHMATRIX_DATABASE_URL to two aliases on the same
server. They differ in how long a connection lives, to mirror the sync app:
  default  CONN_MAX_AGE 0: opened by the request's thread and closed when the
           request finishes, the sync app's new connection per request (/agents,
           /db_sleep). Django's docs ask for this under ASGI, where each request
           runs its sync code on a thread of its own.
  pooled   CONN_MAX_AGE None: used only by the fixed threads of async_workloads'
           pool, each keeping its connection, the sync app's pool (/agents_with_pool,
           /template).
Read at import, since Django reads DATABASES once: a cell that serves only /json
and /plaintext sets no URL, gets no database, and its workers import no psycopg2.
"""

import copy
import os

from apps.django.benchsite.settings import *  # noqa: F401,F403 -- the sync app's settings, unchanged
from apps.workloads import DATABASE_URL

ROOT_URLCONF = "apps.django.benchsite.async_urls"
INSTALLED_APPS = ["apps.django.benchsite"]  # for the unmanaged models of models.py; nothing is migrated
WSGI_APPLICATION = None  # ASGI only: configs/matrix.json lists no WSGI entry point for this app
POOLED = "pooled"
# libpq's keywords that Django has settings of its own for; every other one goes to OPTIONS.
_DJANGO_KEYS = {"dbname": "NAME", "user": "USER", "password": "PASSWORD", "host": "HOST", "port": "PORT"}


def database_entry(url):
    """A DATABASES entry for a libpq URL or key=value string, parsed by libpq itself (via psycopg2).

    libpq's own parser, not urllib: the harness's unix-socket URLs put host and port in
    the query string, and BENCH_DATABASE_URL may come in either form.
    """
    from psycopg2.extensions import parse_dsn

    entry = {"ENGINE": "django.db.backends.postgresql", "OPTIONS": {}}
    for key, value in parse_dsn(url).items():
        if key in _DJANGO_KEYS:
            entry[_DJANGO_KEYS[key]] = value
        else:
            entry["OPTIONS"][key] = value  # application_name, sslmode, ...
    return entry


def database_aliases(url):
    entry = database_entry(url)
    # Django sends SET TIME ZONE on every new connection whose server zone is not
    # exactly "UTC" (the embedded cluster's is "Etc/UTC"): asked for at connect time
    # instead, a new connection costs the round trips of the sync app's.
    entry["OPTIONS"].setdefault("options", "-c TimeZone=UTC")
    return {"default": dict(copy.deepcopy(entry), CONN_MAX_AGE=0),
            POOLED: dict(copy.deepcopy(entry), CONN_MAX_AGE=None)}


DATABASES = database_aliases(os.environ[DATABASE_URL]) if os.environ.get(DATABASE_URL) else {}
