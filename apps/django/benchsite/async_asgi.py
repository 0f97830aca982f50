"""ASGI entry point of the django-async app (async views, Django's ORM): apps.django.benchsite.async_asgi:application."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "apps.django.benchsite.settings_async")
application = get_asgi_application()
