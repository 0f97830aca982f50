"""Minimal Django settings: no sessions or auth, and no Django database.

The database endpoints use psycopg2 directly (benchsite/workloads.py), the same
code as the Flask app, so DATABASES stays empty and both apps pool alike.

DEBUG stays off because debug mode records every query and changes error pages,
which is not how anyone deploys. Middleware is kept to CommonMiddleware, the one that
sets Content-Length: without it a server that closes connections (uWSGI's http-socket)
ends each body by closing, and wrk counts every such close as a read error.
"""

from pathlib import Path

SECRET_KEY = "benchmatrix-not-secret"  # nothing here is signed or stored
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost", "[::1]"]
ROOT_URLCONF = "apps.django.benchsite.urls"
INSTALLED_APPS = []
MIDDLEWARE = ["django.middleware.common.CommonMiddleware"]
DATABASES = {}
TEMPLATES = [{
    "BACKEND": "django.template.backends.django.DjangoTemplates",
    "DIRS": [str(Path(__file__).resolve().parent / "templates")],
}]
USE_TZ = True
WSGI_APPLICATION = "apps.django.benchsite.wsgi.application"
LOGGING_CONFIG = None  # keep request logging off like the servers' access logs
