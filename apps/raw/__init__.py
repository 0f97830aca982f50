"""Framework-free WSGI, ASGI and RSGI apps: the floor each server adds its own cost to."""
