"""The Starlette app. Import it only as apps.starlette.app: with apps/ itself on sys.path
this package would shadow the real starlette."""
