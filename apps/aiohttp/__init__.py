"""aiohttp.web app. Import it only as apps.aiohttp.app: with apps/ itself on sys.path
this package would shadow the real aiohttp."""
