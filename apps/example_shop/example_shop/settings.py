"""Settings for the benchmark: the database from DATABASE_URL (benchmatrix's throwaway PostgreSQL)."""

import os
from pathlib import Path
from urllib.parse import unquote, urlparse

BASE_DIR = Path(__file__).resolve().parent
SECRET_KEY = "example-shop-benchmark-only"
DEBUG = False
ALLOWED_HOSTS = ["*"]
ROOT_URLCONF = "example_shop.urls"
WSGI_APPLICATION = "example_shop.wsgi.application"
USE_TZ = True
INSTALLED_APPS = ["django.contrib.auth", "django.contrib.contenttypes", "django.contrib.sessions", "example_shop"]
MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
]
TEMPLATES = [{"BACKEND": "django.template.backends.django.DjangoTemplates", "APP_DIRS": True,
              "OPTIONS": {"context_processors": ["django.template.context_processors.request"]}}]
LOGIN_REDIRECT_URL = "/items/"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
# As Django's own test settings do: PBKDF2's default iterations cost about half a second of CPU per
# login on one worker, which would make the login flow measure the password hash, not the stack.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def _database(url):
    parts = urlparse(url)
    return {"ENGINE": "django.db.backends.postgresql", "NAME": parts.path.lstrip("/"),
            "USER": unquote(parts.username or ""), "PASSWORD": unquote(parts.password or ""),
            "HOST": parts.hostname or "", "PORT": str(parts.port or "")}


DATABASES = {"default": _database(os.environ["DATABASE_URL"]) if "DATABASE_URL" in os.environ else
             {"ENGINE": "django.db.backends.sqlite3", "NAME": str(BASE_DIR / "shop.sqlite3")}}
