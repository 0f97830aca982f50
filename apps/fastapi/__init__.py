"""The FastAPI app. Import it only as apps.fastapi.app: with apps/ itself on sys.path
this package would shadow the real fastapi."""
