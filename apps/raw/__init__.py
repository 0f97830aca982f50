"""Framework-free WSGI and ASGI apps: the floor each server adds its own cost to."""
