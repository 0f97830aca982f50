"""The Litestar app. Import it only as apps.litestar.app: with apps/ itself on sys.path
this package would shadow the real litestar."""
