"""API-Hour app. Import it only as apps.api_hour.container: with apps/ itself on
sys.path this package would shadow the real api_hour."""
